"""Routing rules as data: first match by priority, and an explanation a person can read."""

from __future__ import annotations

import pytest
import yaml

from liuyu.domain.errors import InvalidInput
from liuyu.domain.service.routing import RoutingFacts, load_table, route

RULES_YAML = """
default_queue: 售后
rules:
  - name: 物流异常
    priority: 10
    when: {intent: [logistics_delay, parcel_lost]}
    queue: 物流
  - name: 退款
    priority: 10
    when: {intent: [refund]}
    queue: 财务
  - name: 大客户质量投诉
    priority: 50
    when: {intent: [complaint], member_tier: [gold, diamond], product: [黑武士-手柄, 黑武士-键盘]}
    queue: 质量
    set_priority: high
  - name: 抖音渠道
    priority: 5
    when: {channel: [douyin]}
    queue: 抖音专席
"""


@pytest.fixture
def table():
    return load_table(yaml.safe_load(RULES_YAML))


def test_given_overlapping_rules_when_routing_then_the_highest_priority_match_wins(table):
    facts = RoutingFacts(channel="douyin", intent="complaint", member_tier="gold", products=("黑武士-手柄",))
    decision = route(table, facts)
    assert (decision.queue, decision.rule, decision.set_priority) == ("质量", "大客户质量投诉", "high")


def test_given_equal_priorities_when_both_could_match_then_the_rule_written_first_wins(table):
    facts = RoutingFacts(channel="douyin", intent="logistics_delay")
    assert route(table, facts).rule == "物流异常"


def test_given_a_routed_ticket_when_explained_then_matched_conditions_and_skipped_rules_are_named(table):
    decision = route(table, RoutingFacts(channel="tmall", intent="refund", member_tier="silver"))
    text = decision.explain()
    assert text.startswith("rule '退款' sent it to 财务: intent=refund in ['refund']")
    assert "'大客户质量投诉' needs intent in ['complaint'], ticket has 'refund'" in text
    assert "'物流异常' needs intent in ['logistics_delay', 'parcel_lost']" in text
    assert [check.rule for check in decision.checked] == ["大客户质量投诉", "物流异常", "退款"]


def test_given_a_gold_member_with_another_product_when_routing_then_the_product_condition_explains_the_miss(table):
    facts = RoutingFacts(intent="complaint", member_tier="gold", products=("白武士-耳机",))
    decision = route(table, facts)
    assert decision.queue == "售后"
    assert decision.rule is None
    assert "needs product in ['黑武士-手柄', '黑武士-键盘'], ticket has ['白武士-耳机']" in decision.checked[0].detail
    assert decision.explain() == "no rule matched (4 checked); default queue 售后"


def test_given_a_rule_file_with_a_typo_when_loaded_then_the_error_names_the_field():
    bad = [{"name": "退款", "when": {"intnet": ["refund"]}, "queue": "财务"}]
    with pytest.raises(InvalidInput) as error:
        load_table(bad)
    assert error.value.field == "rules.0.when.intnet"


def test_given_a_condition_written_as_one_word_when_loaded_then_it_means_a_list_of_one():
    table = load_table([{"name": "退款", "when": {"intent": "refund"}, "queue": "财务"}])
    assert route(table, RoutingFacts(intent="refund")).queue == "财务"
