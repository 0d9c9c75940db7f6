"""Bot first, human when needed: whether the bot answers a customer's message or hands it to a person.

The order of the checks is the order of what matters to the customer: someone who asks for a
person gets one (转人工), an upset customer gets one, and the bot answers only what the knowledge
base answers with high confidence. Once a person has taken part, the bot stays out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

__all__ = [
    "HANDOFF_REASONS",
    "REOPEN_WINDOW",
    "BotDecision",
    "BotOutcome",
    "asks_for_human",
    "decide",
    "is_upset",
    "outcome",
]

#: A customer writing again within this window after a bot answer means the answer did not settle it.
REOPEN_WINDOW = timedelta(hours=48)
HANDOFF_REASONS = ("asked_for_human", "negative_sentiment", "low_confidence")

_HUMAN = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|接人工|真人|活人|客服在吗|换个人|(?:找|叫|要)你们?的?(?:领导|主管|经理)"
    r"|^\s*人工\s*[!！。.?？]*\s*$"  # "人工" alone; 人工费 and 人工智能 are not a request
    r"|\b(?:human|real person|talk to (?:a|an) (?:person|agent))\b",
    re.IGNORECASE,
)
_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True, slots=True)
class BotDecision:
    action: Literal["answer", "handoff", "silent"]
    reason: str = ""  # one of HANDOFF_REASONS for a hand-off; why it is silent otherwise


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN.search(text.strip()))


def is_upset(analysis: Mapping[str, Any] | None, *, min_negative: float = 0.8) -> bool:
    """Negative sentiment the model is sure of, or anger / escalation risk of medium or more."""
    if not analysis:
        return False
    sentiment = analysis.get("sentiment") or {}
    negative = sentiment.get("label") == "negative" and 1 - float(sentiment.get("score", 0.5)) >= min_negative
    heat = max(_RANK.get(str(analysis.get("anger")), 0), _RANK.get(str(analysis.get("escalation")), 0))
    return negative or heat >= 2


def decide(
    text: str,
    analysis: Mapping[str, Any] | None,
    confidence: float,
    threshold: float,
    *,
    human_involved: bool = False,
) -> BotDecision:
    """What the bot does with one inbound message, given its best suggestion's confidence (0..1)."""
    if human_involved:
        return BotDecision("silent", "a person is handling this conversation")
    if asks_for_human(text):
        return BotDecision("handoff", "asked_for_human")
    if is_upset(analysis):
        return BotDecision("handoff", "negative_sentiment")
    if confidence < threshold:
        return BotDecision("handoff", "low_confidence")
    return BotDecision("answer")


@dataclass(frozen=True, slots=True)
class BotOutcome:
    """How a bot conversation ended, for containment: contained, handed_off, came_back or undecided."""

    state: Literal["contained", "handed_off", "came_back", "undecided"]


def outcome(
    *,
    answered_at: Sequence[datetime],
    handed_off: bool,
    flagged: bool,
    human_replied: bool,
    resolved: bool,
    customer_messages: Sequence[datetime],
    now: datetime,
) -> BotOutcome:
    """Contained = the bot answered, nobody handed off or flagged it, no person replied, the
    conversation is resolved, and the customer did not write again within 48 h of any bot answer
    (a reopen, even one the bot answered again). Younger than 48 h since the last answer: undecided."""
    if handed_off or human_replied:
        return BotOutcome("handed_off")
    if not answered_at:
        return BotOutcome("undecided")
    last = max(answered_at)
    reopened = any(a < at <= a + REOPEN_WINDOW for a in answered_at for at in customer_messages)
    if flagged or reopened:
        return BotOutcome("came_back")
    if now - last < REOPEN_WINDOW:
        return BotOutcome("undecided")
    return BotOutcome("contained" if resolved else "came_back")
