"""Tickets: categories and custom fields, transfers that keep history, an audit trail of every change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.service.routing import RoutingFacts, RoutingTable, route
from liuyu.domain.service.ticket import Ticket, TicketCategory

T0 = datetime(2025, 11, 17, 2, 0, tzinfo=UTC)
QUALITY = TicketCategory.model_validate(
    {
        "name": "质量",
        "fields": [
            {"name": "批次号", "required": True},
            {"name": "故障类型", "kind": "choice", "choices": ["摇杆漂移", "按键失灵", "无法充电"]},
            {"name": "退款金额", "kind": "number"},
            {"name": "购买日期", "kind": "date"},
        ],
    }
)
LOGISTICS = TicketCategory.model_validate({"name": "物流", "fields": [{"name": "快递单号", "required": True}]})


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def ticket() -> Ticket:
    return Ticket.open(
        "T-1",
        "黑武士-手柄 摇杆漂移",
        QUALITY,
        queue="售后",
        at=T0,
        actor="alice",
        fields={"批次号": "B2025-11", "故障类型": "摇杆漂移", "退款金额": "59.90", "购买日期": "2025-11-01"},
        customer_id="GOLD-ALICE",
        order_id="JD-88001",
    )


def test_given_a_quality_ticket_when_opened_then_its_custom_fields_are_typed(ticket):
    assert ticket.fields == {
        "批次号": "B2025-11",
        "故障类型": "摇杆漂移",
        "退款金额": Decimal("59.90"),
        "购买日期": date(2025, 11, 1),
    }
    assert ticket.history[0].action == "created"
    assert ticket.history[0].actor == "alice"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, "批次号"),
        ({"批次号": "B1", "故障类型": "外观划伤"}, "故障类型"),
        ({"批次号": "B1", "退款金额": "五十"}, "退款金额"),
        ({"批次号": "B1", "颜色": "黑"}, "颜色"),
    ],
)
def test_given_bad_custom_fields_when_a_ticket_opens_then_the_error_names_the_field(fields, named):
    with pytest.raises(InvalidInput) as error:
        Ticket.open("T-2", "手柄", QUALITY, queue="质量", at=T0, actor="alice", fields=fields)
    assert error.value.field == named


def test_given_a_ticket_moved_between_departments_when_transferred_then_the_whole_history_stays(ticket):
    ticket.assign("alice", at(1), "router", "round robin")
    ticket.transfer("质量", at(30), "alice", "需要质检部判断是否批次问题")
    ticket.assign("bob", at(31), "router")
    ticket.transfer("财务", at(90), "bob", "确认质量问题，安排退款")
    assert [(t.old, t.new, t.actor) for t in ticket.transfers] == [("售后", "质量", "alice"), ("质量", "财务", "bob")]
    assert ticket.queue == "财务"
    assert ticket.assignee is None
    assert [c.action for c in ticket.history] == [
        "created",
        "assigned",
        "transferred",
        "assigned",
        "assigned",
        "transferred",
        "assigned",
    ]


def test_given_a_transfer_without_a_reason_when_requested_then_it_is_refused(ticket):
    with pytest.raises(InvalidInput, match="reason"):
        ticket.transfer("质量", at(5), "alice", "  ")


def test_given_every_kind_of_change_when_made_then_the_audit_trail_records_actor_and_reason(ticket):
    ticket.set_priority("high", at(1), "supervisor:wang", "老客户投诉")
    ticket.set_field("故障类型", "按键失灵", at(2), "alice", "客户补充视频")
    ticket.recategorize(LOGISTICS.model_copy(update={"fields": ()}), at(3), "alice", "其实是运输损坏")
    ticket.set_status("pending", at(4), "alice", "等客户寄回")
    trail = [(c.action, c.actor, c.old, c.new, c.reason) for c in ticket.history[1:]]
    assert trail == [
        ("priority", "supervisor:wang", "normal", "high", "老客户投诉"),
        ("field", "alice", "故障类型=摇杆漂移", "故障类型=按键失灵", "客户补充视频"),
        ("category", "alice", "质量", "物流", "其实是运输损坏"),
        ("status", "alice", "open", "pending", "等客户寄回"),
    ]


def test_given_a_routed_ticket_when_inspected_then_the_rule_and_its_reasons_are_on_it(ticket):
    table = RoutingTable.model_validate(
        {
            "rules": [
                {
                    "name": "质量投诉",
                    "when": {"intent": ["complaint"], "category": ["质量"]},
                    "queue": "质量",
                    "set_priority": "high",
                }
            ]
        }
    )
    ticket.apply_routing(route(table, RoutingFacts(intent="complaint", category="质量")), at(1))
    assert ticket.queue == "质量"
    assert ticket.priority == "high"
    assert ticket.routing is not None and ticket.routing.rule == "质量投诉"
    assert "intent=complaint" in ticket.history[1].reason


def test_given_a_customer_reply_on_a_pending_ticket_when_recorded_then_it_opens_and_the_next_response_clock_starts(
    ticket,
):
    ticket.reply(at(5), "alice")
    ticket.set_status("pending", at(6), "alice", "等照片")
    ticket.customer_replied(at(60))
    facts = ticket.sla_facts()
    assert ticket.status == "open"
    assert facts.first_response_at == at(5)
    assert facts.awaiting_reply_since == at(60)
    assert facts.pauses == ((at(6), at(60)),)


def test_given_a_closed_ticket_when_changed_then_the_change_is_refused(ticket):
    ticket.set_status("resolved", at(10), "alice")
    ticket.set_status("closed", at(20), "alice")
    with pytest.raises(Conflict, match="closed"):
        ticket.transfer("财务", at(30), "alice", "补退款")
    with pytest.raises(Conflict):
        ticket.set_status("open", at(30), "alice")


def test_given_an_urgent_ticket_when_priority_is_raised_then_it_stays_urgent(ticket):
    ticket.set_priority("urgent", at(1), "wang", "媒体曝光风险")
    assert ticket.raise_priority(at(2), "sla", "breach") is False
    assert ticket.priority == "urgent"


def test_given_a_resolved_ticket_when_closed_later_then_the_resolution_time_stays_when_it_was_resolved(ticket):
    ticket.set_status("resolved", at(10), "alice")
    ticket.set_status("closed", at(2000), "system", "7 天无回复自动关闭")
    assert ticket.sla_facts().resolved_at == at(10)


def test_given_a_closed_ticket_when_the_customer_writes_then_the_caller_is_told_to_open_a_new_one(ticket):
    ticket.set_status("resolved", at(10), "alice")
    ticket.set_status("closed", at(20), "alice")
    with pytest.raises(Conflict, match="closed"):
        ticket.customer_replied(at(30))
