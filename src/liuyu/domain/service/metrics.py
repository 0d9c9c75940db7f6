"""What the service reports count for one conversation: response and resolution times, SLA, mood.

One function turns a replayed ``Conversation`` into a flat row of facts, so reports are sums and
averages over rows, and every figure can be traced back to the conversations behind it. The SLA
verdict is the first-response clock of the workspace's SLA policy (``DEFAULT_SLA`` when the
workspace has none stored) on the given calendar, pauses while pending included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from liuyu.domain.service.calendar import BusinessCalendar, require_aware
from liuyu.domain.service.conversation import Conversation
from liuyu.domain.service.sla import SlaPolicy, SlaTargets, evaluate

#: Used when a workspace stores no SLA policy: a first reply within 5 minutes, round the clock.
DEFAULT_SLA = SlaPolicy(
    name="默认",
    business_hours=False,
    targets=SlaTargets(first_response_minutes=5, resolution_minutes=24 * 60),
)


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    opened_at: datetime  # the customer's first message (the conversation's opening without one)
    first_response_seconds: int | None
    resolution_seconds: int | None
    sla_target_seconds: int | None
    sla_met: bool | None  # None: no target, or the customer is still within it
    intent: str | None  # the intent of the first customer message that has one
    sentiment: float | None  # mean over customer messages, -1 (angry) .. 1 (happy)
    messages: int


def conversation_facts(
    conversation: Conversation,
    *,
    now: datetime,
    policy: SlaPolicy = DEFAULT_SLA,
    calendar: BusinessCalendar | None = None,
    intents: Mapping[str, str] | None = None,
    sentiment: Mapping[str, float] | None = None,
) -> ConversationFacts:
    """The report row of one conversation; ``intents`` and ``sentiment`` are per message id."""
    now = require_aware(now, "now")
    first = conversation.first_customer_message()
    opened = first.at if first is not None else conversation.opened_at
    response = conversation.first_response_time
    resolved = conversation.resolved_at
    met: bool | None = None
    target_seconds: int | None = None
    if first is not None:
        clocks = evaluate(policy, conversation.sla_facts(), calendar or BusinessCalendar.always_open(), now)
        clock = clocks.get("first_response")
        if clock is not None:
            target_seconds = int(clock.target.total_seconds())
            met = {"met": True, "breached": False}.get(clock.state)
    inbound = [m.id for m in conversation.messages if m.direction == "in"]
    moods = [sentiment[i] for i in inbound if sentiment and i in sentiment]
    intent = next((intents[i] for i in inbound if intents and intents.get(i)), None)
    return ConversationFacts(
        opened_at=opened,
        first_response_seconds=None if response is None else int(response.total_seconds()),
        resolution_seconds=None if resolved is None else max(int((resolved - opened).total_seconds()), 0),
        sla_target_seconds=target_seconds,
        sla_met=met,
        intent=intent,
        sentiment=round(sum(moods) / len(moods), 4) if moods else None,
        messages=len(conversation.messages),
    )
