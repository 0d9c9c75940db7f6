"""Chinese word tokenizing with jieba, one dictionary per workspace.

Each workspace gets its own ``jieba.Tokenizer`` so that one brand's catalog terms
(``黑武士手柄``) never change how another brand's texts are cut. The base dictionary is loaded
once per process and copied into each workspace tokenizer, which is much cheaper than
loading it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

from liuyu.nlp.text import clean

__all__ = ["JiebaTokenizer", "tokenizer_for"]

jieba.setLogLevel(logging.WARNING)

_base: jieba.Tokenizer | None = None
_base_lock = threading.Lock()
_workspaces: dict[str, JiebaTokenizer] = {}


def _base_tokenizer() -> jieba.Tokenizer:
    global _base
    with _base_lock:
        if _base is None:
            base = jieba.Tokenizer()
            base.initialize()
            _base = base
        return _base


class JiebaTokenizer:
    """A jieba tokenizer whose user dictionary grows with the workspace's catalog and brand terms."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        base = _base_tokenizer()
        self._jieba = jieba.Tokenizer()
        # Share the loaded prefix dictionary instead of reading the cache file again; a copy,
        # because add_word writes into it.
        self._jieba.FREQ = dict(base.FREQ)
        self._jieba.total = base.total
        self._jieba.initialized = True
        self.terms: set[str] = set()
        self.add_terms(terms)

    def add_terms(self, terms: Iterable[str]) -> None:
        """Keep each term one token from now on (traditional spellings are added as simplified)."""
        for raw in terms:
            term = clean(raw).text
            if not term or term in self.terms:
                continue
            self.terms.add(term)
            # Without a frequency jieba computes one just high enough to keep the term whole.
            self._jieba.add_word(term)

    def cut(self, text: str) -> list[str]:
        """Tokens of an already cleaned text, whitespace dropped."""
        return [token for token in self._jieba.lcut(text) if not token.isspace()]

    def tokenize(self, text: str) -> list[str]:
        """Tokens of a raw text: cleaned (simplified, half-width) first."""
        return self.cut(clean(text).text)

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(text) for text in texts]


def tokenizer_for(workspace: str = "default", terms: Iterable[str] = ()) -> JiebaTokenizer:
    """The tokenizer of a workspace, created on first use; ``terms`` are added to it."""
    tokenizer = _workspaces.get(workspace)
    if tokenizer is None:
        tokenizer = _workspaces.setdefault(workspace, JiebaTokenizer())
    tokenizer.add_terms(terms)
    return tokenizer
