"""What the reports count for one conversation: response and resolution times, the SLA verdict, mood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.metrics import conversation_facts
from liuyu.domain.service.sla import SlaPolicy, SlaTargets

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
QUICK = SlaPolicy(name="快", business_hours=False, targets=SlaTargets(first_response_minutes=2))


def chat(*turns: tuple[int, str]) -> Conversation:
    """Turns as (seconds after T0, 'in' or 'out')."""
    conversation = Conversation("c1", "tmall", T0)
    for n, (seconds, direction) in enumerate(turns):
        kind = "customer" if direction == "in" else "agent"
        conversation.add_message(Message(f"m{n}", direction, T0 + timedelta(seconds=seconds), "…", "tmall", "x", kind))  # type: ignore[arg-type]
    return conversation


def test_a_reply_within_the_target_meets_the_sla_and_times_are_counted_from_the_first_customer_message() -> None:
    conversation = chat((0, "in"), (90, "out"), (300, "in"))
    conversation.change_status("resolved", T0 + timedelta(minutes=10), "alice")
    facts = conversation_facts(
        conversation,
        now=T0 + timedelta(hours=1),
        policy=QUICK,
        intents={"m0": "物流查询"},
        sentiment={"m0": -0.5, "m2": 0.5},
    )
    assert (facts.first_response_seconds, facts.resolution_seconds) == (90, 600)
    assert (facts.sla_target_seconds, facts.sla_met) == (120, True)
    assert (facts.intent, facts.sentiment, facts.messages) == ("物流查询", 0.0, 3)


def test_a_customer_still_waiting_is_undecided_until_the_target_passes() -> None:
    waiting = chat((0, "in"))
    assert conversation_facts(waiting, now=T0 + timedelta(minutes=1), policy=QUICK).sla_met is None
    assert conversation_facts(waiting, now=T0 + timedelta(minutes=3), policy=QUICK).sla_met is False


def test_time_pending_on_the_customer_does_not_count_against_the_first_response() -> None:
    conversation = chat((0, "in"))
    conversation.change_status("pending", T0 + timedelta(seconds=30), "alice")
    conversation.change_status("open", T0 + timedelta(minutes=30), "alice")
    conversation.add_message(Message("m9", "out", T0 + timedelta(minutes=31), "您好", "tmall", "alice", "agent"))
    facts = conversation_facts(conversation, now=T0 + timedelta(hours=1), policy=QUICK)
    assert facts.first_response_seconds == 31 * 60 and facts.sla_met is True
