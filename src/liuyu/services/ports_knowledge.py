"""Ports for reading questions: intent, question matching, knowledge retrieval and an optional LLM.

The offline implementations live in ``liuyu.nlp`` (intent.py, matching.py, retrieval.py) and the
OpenAI-compatible provider in ``liuyu.nlp.llm``. Results are plain frozen dataclasses defined here, so
use cases and tests never import the models that produce them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "ChatMessage",
    "Hit",
    "IntentClassifier",
    "IntentPrediction",
    "KnowledgePassage",
    "LLMProvider",
    "MatchResult",
    "QuestionMatcher",
    "Retriever",
]


@dataclass(frozen=True, slots=True)
class IntentPrediction:
    """The best intent, how sure the model is (0..1), and the runners-up an agent can pick instead."""

    label: str
    confidence: float
    name: str = ""
    alternatives: tuple[tuple[str, float], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Whether two questions ask the same thing, with the model's probability."""

    same: bool
    probability: float


@dataclass(frozen=True, slots=True)
class KnowledgePassage:
    """One searchable unit: a knowledge-base paragraph (``source="passage"``) or a known question
    (``source="question"``, with ``answer`` holding the reply that goes with it)."""

    id: str
    text: str
    source: Literal["passage", "question"] = "passage"
    answer: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage or question; ``score`` is the fused relevance (higher is better).

    ``cosine`` (None without embeddings) and ``coverage`` are the raw evidence the hit passed the
    thresholds on, so callers can turn them into a confidence of their own."""

    id: str
    text: str
    score: float
    source: str
    answer: str = ""
    cosine: float | None = None
    coverage: float = 0.0


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat-completions request."""

    role: Literal["system", "user", "assistant"]
    content: str


class IntentClassifier(Protocol):
    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]: ...
    def classify(self, text: str) -> IntentPrediction: ...


class QuestionMatcher(Protocol):
    def match(self, text_a: str, text_b: str) -> MatchResult: ...


class Retriever(Protocol):
    def add(self, passages: Sequence[KnowledgePassage]) -> None: ...
    def search(self, question: str, k: int = 5) -> list[Hit]: ...


class LLMProvider(Protocol):
    """A chat-completions model; summaries, drafts and extraction are built on this one call."""

    def complete(
        self, messages: Sequence[ChatMessage], *, json_mode: bool = False, max_tokens: int | None = None
    ) -> str: ...
