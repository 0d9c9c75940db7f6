"""SLA clocks: due times on business hours, pauses while pending, breaches and escalation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liuyu.domain.service.calendar import BusinessCalendar
from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.sla import SlaFacts, SlaPolicy, escalations_due, evaluate, measure
from liuyu.domain.service.ticket import Ticket, TicketCategory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar.from_config(
        {"mon-fri": "09:00-18:00"},
        holidays={date(2025, 10, day) for day in range(1, 9)},
        working_days={date(2025, 9, 28), date(2025, 10, 11)},
    )


@pytest.fixture
def policy() -> SlaPolicy:
    return SlaPolicy.model_validate(
        {
            "name": "标准",
            "targets": {"first_response_minutes": 60, "next_response_minutes": 120, "resolution_minutes": 480},
            "by_priority": {"urgent": {"first_response_minutes": 15}},
            "escalations": [
                {
                    "metric": "first_response",
                    "trigger": "warning",
                    "before_minutes": 10,
                    "actions": [{"kind": "notify_supervisor", "to": "王主管"}],
                },
                {
                    "metric": "resolution",
                    "actions": [
                        {"kind": "raise_priority"},
                        {"kind": "notify_supervisor"},
                        {"kind": "reassign", "to": "售后二线"},
                    ],
                },
            ],
        }
    )


def test_given_a_ticket_opened_friday_evening_when_monday_comes_then_first_response_is_due_monday_morning(
    office, policy
):
    facts = SlaFacts(opened_at=sh(2025, 11, 14, 17, 30))
    clock = evaluate(policy, facts, office, now=sh(2025, 11, 17, 9, 0))["first_response"]
    assert clock.due_at == sh(2025, 11, 17, 9, 30)
    assert clock.state == "running"
    assert clock.elapsed == timedelta(minutes=30)
    later = evaluate(policy, facts, office, now=sh(2025, 11, 17, 9, 45))["first_response"]
    assert later.state == "breached"


def test_given_national_day_when_a_ticket_opens_on_the_eve_then_resolution_is_due_after_the_holiday(office, policy):
    facts = SlaFacts(opened_at=sh(2025, 9, 30, 14, 0))
    clock = evaluate(policy, facts, office, now=sh(2025, 10, 5, 12, 0))["resolution"]
    assert clock.due_at == sh(2025, 10, 9, 13, 0)
    assert clock.state == "running"


def test_given_a_make_up_saturday_when_a_ticket_opens_friday_then_the_saturday_hours_count(office, policy):
    facts = SlaFacts(opened_at=sh(2025, 10, 10, 17, 30))
    clock = evaluate(policy, facts, office, now=sh(2025, 10, 11, 10, 0))["first_response"]
    assert clock.due_at == sh(2025, 10, 11, 9, 30)
    assert clock.state == "breached"


def test_given_a_ticket_pending_on_the_customer_when_time_passes_then_the_resolution_clock_stands_still(office, policy):
    opened = sh(2025, 11, 17, 9, 0)
    while_pending = SlaFacts(opened_at=opened, pauses=((sh(2025, 11, 17, 10, 0), None),))
    clock = evaluate(policy, while_pending, office, now=sh(2025, 11, 18, 17, 0))["resolution"]
    assert clock.state == "paused"
    assert clock.due_at is None
    assert clock.elapsed == timedelta(hours=1)

    answered = SlaFacts(opened_at=opened, pauses=((sh(2025, 11, 17, 10, 0), sh(2025, 11, 18, 10, 0)),))
    clock = evaluate(policy, answered, office, now=sh(2025, 11, 18, 11, 0))["resolution"]
    assert clock.elapsed == timedelta(hours=2)
    assert clock.paused == timedelta(hours=9)
    assert clock.due_at == sh(2025, 11, 18, 17, 0)
    assert clock.explain() == (
        "resolution: running, 120 of 480 business minutes used, 540 min paused while pending on the customer, "
        "due 2025-11-18 17:00 Asia/Shanghai"
    )


def test_given_a_resolved_ticket_when_evaluated_then_met_or_breached_is_final(office, policy):
    opened = sh(2025, 11, 17, 9, 0)
    met = evaluate(policy, SlaFacts(opened, resolved_at=sh(2025, 11, 17, 16, 0)), office, sh(2025, 12, 1, 9, 0))
    late = evaluate(policy, SlaFacts(opened, resolved_at=sh(2025, 11, 18, 10, 0)), office, sh(2025, 12, 1, 9, 0))
    assert met["resolution"].state == "met"
    assert late["resolution"].state == "breached"


def test_given_an_urgent_ticket_when_evaluated_then_its_priority_target_applies(office, policy):
    facts = SlaFacts(opened_at=sh(2025, 11, 17, 9, 0), priority="urgent")
    clocks = evaluate(policy, facts, office, now=sh(2025, 11, 17, 9, 5))
    assert clocks["first_response"].due_at == sh(2025, 11, 17, 9, 15)
    assert clocks["resolution"].target == timedelta(minutes=480)


def test_given_a_policy_without_business_hours_when_evaluated_then_nights_count(office, policy):
    round_the_clock = policy.model_copy(update={"business_hours": False})
    clock = evaluate(round_the_clock, SlaFacts(opened_at=sh(2025, 11, 14, 23, 0)), office, sh(2025, 11, 15, 0, 0))
    assert clock["first_response"].due_at == sh(2025, 11, 15, 0, 0)


def test_given_a_customer_waiting_after_the_first_reply_when_evaluated_then_next_response_runs(office, policy):
    facts = SlaFacts(
        opened_at=sh(2025, 11, 17, 9, 0),
        first_response_at=sh(2025, 11, 17, 9, 10),
        awaiting_reply_since=sh(2025, 11, 17, 17, 0),
    )
    clocks = evaluate(policy, facts, office, now=sh(2025, 11, 18, 9, 30))
    assert clocks["first_response"].state == "met"
    assert clocks["next_response"].due_at == sh(2025, 11, 18, 10, 0)


def test_given_first_response_close_to_due_when_checked_then_the_warning_notifies_once(office, policy):
    facts = SlaFacts(opened_at=sh(2025, 11, 17, 9, 0))
    early = evaluate(policy, facts, office, now=sh(2025, 11, 17, 9, 40))
    assert escalations_due(policy, early, fired=set()) == []
    close = evaluate(policy, facts, office, now=sh(2025, 11, 17, 9, 52))
    warnings = escalations_due(policy, close, fired=set())
    assert [(e.action.kind, e.action.to) for e in warnings] == [("notify_supervisor", "王主管")]
    assert escalations_due(policy, close, fired={warnings[0].key}) == []


def test_given_a_breached_ticket_when_escalations_apply_then_priority_rises_supervisor_hears_and_queue_changes(
    office, policy
):
    ticket = Ticket.open(
        "T-1",
        "黑武士-手柄 摇杆漂移",
        TicketCategory(name="质量"),
        queue="售后",
        at=sh(2025, 11, 17, 9, 0),
        actor="agent:alice",
    )
    ticket.assign("alice", sh(2025, 11, 17, 9, 1), "router")
    ticket.reply(sh(2025, 11, 17, 9, 5), "alice")
    now = sh(2025, 11, 18, 9, 30)
    clocks = evaluate(policy, ticket.sla_facts(), office, now)
    escalations = escalations_due(policy, clocks, ticket.fired_escalations)
    notices = [ticket.apply_escalation(e, now) for e in escalations]

    assert ticket.priority == "high"
    assert ticket.queue == "售后二线"
    assert ticket.assignee is None
    assert [n.to for n in notices if n is not None] == ["supervisor"]
    escalated = [change for change in ticket.history if change.action == "escalated"]
    assert [change.new for change in escalated] == ["raise_priority", "notify_supervisor", "reassign"]
    assert all(change.reason.startswith("resolution breached") for change in escalated)
    again = escalations_due(policy, evaluate(policy, ticket.sla_facts(), office, now), ticket.fired_escalations)
    assert again == []


def test_given_a_conversation_pending_on_the_customer_when_evaluated_then_its_pause_is_honoured(office, policy):
    conversation = Conversation("C-1", "tmall", sh(2025, 11, 17, 9, 0))
    conversation.add_message(Message("m1", "in", sh(2025, 11, 17, 9, 0), "手柄坏了", "tmall", "buyer"))
    conversation.add_message(Message("m2", "out", sh(2025, 11, 17, 9, 20), "请发视频", "tmall", "alice", "agent"))
    conversation.change_status("pending", sh(2025, 11, 17, 9, 20), "alice", "waiting for the video")
    clocks = evaluate(policy, conversation.sla_facts(), office, now=sh(2025, 11, 19, 9, 0))
    assert clocks["first_response"].state == "met"
    assert clocks["resolution"].state == "paused"
    assert clocks["resolution"].elapsed == timedelta(minutes=20)


def test_given_a_next_response_breach_when_the_customer_waits_again_later_then_it_escalates_again(office):
    policy = SlaPolicy.model_validate(
        {
            "name": "聊天",
            "targets": {"next_response_minutes": 30},
            "escalations": [{"metric": "next_response", "actions": [{"kind": "notify_supervisor"}]}],
        }
    )
    ticket = Ticket.open(
        "T-9", "发票", TicketCategory(name="财务"), queue="财务", at=sh(2025, 11, 17, 9, 0), actor="bob"
    )
    ticket.reply(sh(2025, 11, 17, 9, 5), "bob")
    ticket.customer_replied(sh(2025, 11, 17, 10, 0))
    first_wait = escalations_due(policy, evaluate(policy, ticket.sla_facts(), office, sh(2025, 11, 17, 11, 0)), set())
    assert len(first_wait) == 1
    notice = ticket.apply_escalation(first_wait[0], sh(2025, 11, 17, 11, 0))
    assert notice is not None and "next_response breached" in notice.reason
    still_waiting = evaluate(policy, ticket.sla_facts(), office, sh(2025, 11, 17, 12, 0))
    assert escalations_due(policy, still_waiting, ticket.fired_escalations) == []

    ticket.reply(sh(2025, 11, 17, 12, 0), "bob")
    ticket.customer_replied(sh(2025, 11, 17, 14, 0))
    second_wait = evaluate(policy, ticket.sla_facts(), office, sh(2025, 11, 17, 15, 0))
    assert len(escalations_due(policy, second_wait, ticket.fired_escalations)) == 1


@settings(max_examples=60, deadline=None)
@given(
    pause_start=st.integers(min_value=0, max_value=5 * 24 * 60),
    pause_minutes=st.integers(min_value=0, max_value=3 * 24 * 60),
    target_minutes=st.integers(min_value=1, max_value=3 * 9 * 60),
)
def test_given_any_pause_when_a_clock_is_measured_then_counted_and_paused_time_add_up_and_the_due_time_uses_the_target(
    pause_start, pause_minutes, target_minutes
):
    office = BusinessCalendar.from_config({"mon-fri": "09:00-12:00,13:00-18:00"})
    start = sh(2025, 11, 14, 10, 0)
    begin = start + timedelta(minutes=pause_start)
    pause = (begin, begin + timedelta(minutes=pause_minutes))
    now = start + timedelta(days=10)
    target = timedelta(minutes=target_minutes)
    clock = measure("resolution", target, start, None, [pause], office, now)
    assert clock.elapsed + clock.paused == office.business_time_between(start, now)
    assert clock.due_at is not None
    at_due = measure("resolution", target, start, None, [pause], office, clock.due_at)
    assert at_due.elapsed == target
    assert at_due.state == "running"
