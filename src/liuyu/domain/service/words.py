"""A workspace's word library: what agents must never write, must write with care, or must not promise.

The same check runs on a finished conversation (quality inspection) and on a draft as the agent
types, so the agent is warned before the customer ever sees the word. Chinese has no spaces, so
words are matched as substrings; ``allowed`` phrases (无法保证, 不能保证) cover the words inside
them, which keeps a careful refusal from being flagged as a promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

WordKind = Literal["forbidden", "sensitive", "promise"]


class WordLibrary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    forbidden: tuple[str, ...] = ()  # never: insults, blame, 不关我事
    sensitive: tuple[str, ...] = ()  # review: regulators, competitors, compensation amounts
    promises: tuple[str, ...] = ()  # commitments an agent may not make: 保证, 一定, 绝对, 百分之百
    allowed: tuple[str, ...] = ()  # phrases that contain a listed word but are fine

    def entries(self) -> list[tuple[str, WordKind]]:
        """Longest words first, so 绝对保证 is reported once rather than as 绝对 and 保证."""
        pairs: list[tuple[str, WordKind]] = [(w, "forbidden") for w in self.forbidden]
        pairs += [(w, "sensitive") for w in self.sensitive]
        pairs += [(w, "promise") for w in self.promises]
        return sorted((pair for pair in pairs if pair[0]), key=lambda pair: -len(pair[0]))


@dataclass(frozen=True, slots=True)
class WordHit:
    """A listed word at ``start:end`` of the text (positions let the editor underline it)."""

    word: str
    kind: WordKind
    start: int
    end: int


def _covered(text: str, phrases: tuple[str, ...]) -> list[bool]:
    covered = [False] * len(text)
    for phrase in phrases:
        start = text.find(phrase)
        while phrase and start != -1:
            covered[start : start + len(phrase)] = [True] * len(phrase)
            start = text.find(phrase, start + 1)
    return covered


def check_draft(text: str, library: WordLibrary) -> list[WordHit]:
    """Every listed word in ``text``, in reading order; a character belongs to at most one hit."""
    taken = _covered(text, library.allowed)
    hits: list[WordHit] = []
    for word, kind in library.entries():
        start = text.find(word)
        while start != -1:
            end = start + len(word)
            if not any(taken[start:end]):
                hits.append(WordHit(word, kind, start, end))
                taken[start:end] = [True] * len(word)
            start = text.find(word, start + 1)
    return sorted(hits, key=lambda hit: hit.start)
