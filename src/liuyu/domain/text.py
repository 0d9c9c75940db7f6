"""What liuyu reads in one customer text: plain, JSON-able result types.

The NLP edge fills them; the service hub, journeys and voice-of-customer reports read them.
Spans are ``(start, end)`` character offsets into ``TextInsight.text``, the cleaned text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SENTIMENT_LABELS = ("positive", "neutral", "negative")
SIGNAL_LEVELS = ("none", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """``score`` is the probability that the text is positive (0..1); ``label`` follows from it."""

    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class Trigger:
    """A phrase that raised a service signal, and which signal it raised."""

    signal: str  # "anger" or "escalation"
    kind: str  # e.g. "regulator_complaint", "insult", "urgency"
    text: str
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Signals:
    """Service signals a review corpus does not teach: anger and the risk of escalation."""

    anger: str = "none"
    escalation: str = "none"
    triggers: tuple[Trigger, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "anger": self.anger,
            "escalation": self.escalation,
            "triggers": [asdict(t) | {"span": list(t.span)} for t in self.triggers],
        }


@dataclass(frozen=True, slots=True)
class Intent:
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class Entity:
    """One thing named in a text.

    ``value`` is the normalized form: E.164 for phones, ``{"low": .., "high": ..}`` in yuan for
    prices (as strings, exact decimals), the catalog SKU for products, the carrier code for
    tracking numbers, the platform for order numbers.
    """

    type: str  # order_number, phone, tracking_number, money, price_range, product, size, color, competitor
    text: str
    span: tuple[int, int]
    value: Any = None
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "text": self.text,
            "span": list(self.span),
            "value": self.value,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Aspect:
    """An aspect of the product or service the text talks about, with the sentiment of that clause."""

    aspect: str
    sentiment: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"aspect": self.aspect, "sentiment": self.sentiment, "text": self.text}


@dataclass(frozen=True, slots=True)
class TextInsight:
    """Everything liuyu read in one text."""

    text: str
    language: str
    script: str
    truncated: bool
    sentiment: Sentiment
    signals: Signals
    intent: Intent | None = None
    tokens: tuple[str, ...] | None = None
    entities: tuple[Entity, ...] = ()
    suggestion: bool = False
    suggestion_text: str | None = None
    aspects: tuple[Aspect, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "script": self.script,
            "truncated": self.truncated,
            "tokens": None if self.tokens is None else list(self.tokens),
            "sentiment": self.sentiment.to_dict(),
            "signals": self.signals.to_dict(),
            "intent": None if self.intent is None else self.intent.to_dict(),
            "entities": [e.to_dict() for e in self.entities],
            "suggestion": self.suggestion,
            "suggestion_text": self.suggestion_text,
            "aspects": [a.to_dict() for a in self.aspects],
        }
