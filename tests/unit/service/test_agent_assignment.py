"""Assignment: urgent customers first, round robin with capacity and skills, every decision explained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liuyu.domain.service.assignment import Agent, AssignmentPolicy, WorkItem, assign, prioritize

T0 = datetime(2025, 11, 17, 2, 0, tzinfo=UTC)
POLICY = AssignmentPolicy()


def item(id: str, waited_minutes: int, queue: str = "售后", **facts: Any) -> WorkItem:
    return WorkItem(id, queue, T0 - timedelta(minutes=waited_minutes), **facts)


def test_given_three_agents_when_work_arrives_then_it_goes_round_robin_and_the_rotation_continues_next_round():
    agents = [Agent("alice", 5), Agent("bob", 5), Agent("carol", 5)]
    first = assign([item("c1", 3), item("c2", 2)], agents, POLICY)
    assert [(a.item_id, a.agent_id) for a in first.assignments] == [("c1", "alice"), ("c2", "bob")]
    second = assign([item("c3", 1), item("c4", 0)], agents, POLICY, cursors=first.cursors)
    assert [a.agent_id for a in second.assignments] == ["carol", "alice"]


def test_given_an_agent_at_capacity_when_assigning_then_she_is_passed_over_with_the_reason():
    agents = [Agent("alice", 2, load=2), Agent("bob", 2, load=1)]
    result = assign([item("c1", 5)], agents, POLICY)
    assert result.assignments[0].agent_id == "bob"
    assert "passed over alice at capacity 2/2" in result.assignments[0].explanation
    assert "load now 2/2" in result.assignments[0].explanation


def test_given_everyone_full_when_assigning_then_the_item_waits_and_says_why():
    agents = [Agent("alice", 1, load=1), Agent("bob", 3, online=False)]
    result = assign([item("c1", 5)], agents, POLICY)
    assert result.assignments == []
    assert result.unassigned[0].reason == "nobody free: alice at capacity 1/1, bob offline"


def test_given_one_free_slot_when_an_angry_gold_member_waited_less_than_an_ordinary_customer_then_she_goes_first():
    ordinary = item("c-ordinary", 20)
    urgent = item("c-gold-angry", 2, member_tier="gold", sentiment=-0.8)
    result = assign([ordinary, urgent], [Agent("alice", 1)], POLICY)
    assert [a.item_id for a in result.assignments] == ["c-gold-angry"]
    assert result.assignments[0].urgency.reasons == ("tier gold +2", "angry (sentiment -0.80) +3")
    assert result.unassigned[0].item_id == "c-ordinary"


def test_given_equal_urgency_when_ordering_then_the_longest_waiting_customer_is_first():
    items = [item("late", 1, order_at_risk=True), item("early", 9, order_at_risk=True), item("calm", 30)]
    assert [i.id for i, _ in prioritize(items, POLICY)] == ["early", "late", "calm"]


def test_given_an_item_that_needs_a_skill_when_assigning_then_only_an_agent_with_it_gets_it():
    agents = [Agent("alice", 5), Agent("bob", 5, skills=frozenset({"english"}))]
    result = assign([item("c1", 1, skills=frozenset({"english"}))], agents, POLICY)
    assert result.assignments[0].agent_id == "bob"
    assert "passed over alice lacks english" in result.assignments[0].explanation


def test_given_queues_when_assigning_then_agents_only_take_their_own_queues_work():
    agents = [Agent("alice", 5, queues=frozenset({"物流"})), Agent("bob", 5, queues=frozenset({"售后"}))]
    result = assign([item("c1", 1, queue="物流"), item("c2", 1, queue="财务")], agents, POLICY)
    assert [(a.item_id, a.agent_id) for a in result.assignments] == [("c1", "alice")]
    assert result.unassigned[0].reason == "no agent works queue 财务"


def test_given_workspace_weights_when_at_risk_orders_matter_most_then_they_go_before_angry_customers():
    policy = AssignmentPolicy(at_risk_weight=10)
    items = [item("angry", 10, sentiment=-0.9), item("at-risk", 1, order_at_risk=True)]
    assert [i.id for i, _ in prioritize(items, policy)] == ["at-risk", "angry"]
