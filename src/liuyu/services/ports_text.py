"""Ports for text understanding: what use cases need from the NLP edge.

The offline implementations live in ``liuyu.nlp`` (jieba tokenizer, the shipped sentiment
model, rule-based entities, ``analyze``); a large language model provider can stand behind
the same ``TextAnalyzer`` port.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from liuyu.domain.text import Entity, Sentiment, TextInsight


@runtime_checkable
class Tokenizer(Protocol):
    def add_terms(self, terms: Iterable[str]) -> None:
        """Keep catalog and brand terms whole from now on."""

    def tokenize(self, text: str) -> list[str]: ...


@runtime_checkable
class SentimentModel(Protocol):
    def predict_raw(self, texts: Sequence[str]) -> list[Sentiment]:
        """One sentiment per raw text, in order."""
        ...


@runtime_checkable
class EntityExtractor(Protocol):
    def extract(self, text: str) -> list[Entity]:
        """Entities of one cleaned text, spans into that text."""
        ...


@runtime_checkable
class TextAnalyzer(Protocol):
    def __call__(
        self, texts: list[str], *, catalog: Sequence[Any] | None = None, options: Any = None
    ) -> list[TextInsight]:
        """Everything liuyu reads in each text of a batch, in order."""
        ...
