"""Earning rules: rates, campaigns, tier multipliers and bonuses, each explained."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loyalty_helpers import T0, make_program, paid, program_data

from liuyu.domain.loyalty.facts import Enroll, OrderPaid, order_paid_from
from liuyu.domain.loyalty.program import load_program
from liuyu.domain.loyalty.replay import LoyaltyBook
from liuyu.domain.loyalty.rules import Earning, PaidLine, bonus, earn_for_order
from liuyu.domain.orders import Order, OrderLine

DOUBLE11 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


def earn(
    lines: tuple[PaidLine, ...], *, channel: str = "app", at: datetime = T0, tier: str = "MEMBER", first: bool = False
) -> Earning:
    return earn_for_order(make_program(), channel=channel, paid_at=at, lines=lines, tier_code=tier, first_order=first)


def test_given_the_base_rate_when_an_order_is_paid_then_points_are_yuan_rounded_down_per_line() -> None:
    earning = earn((PaidLine("L1", Decimal("99.90")), PaidLine("L2", Decimal("0.99"))))
    assert earning.points == 99  # 99 + 0, not floor(100.89)
    assert [a["points"] for a in earning.explain()] == [99, 0]


def test_given_a_category_rate_when_a_gamepad_is_bought_on_tmall_then_the_most_specific_rate_wins() -> None:
    earning = earn((PaidLine("L1", Decimal(100), "手柄"), PaidLine("L2", Decimal(100), "主机")), channel="tmall")
    assert earning.points == 200 + 50
    assert [a["rule"] for a in earning.explain()] == ["gamepads", "tmall"]


def test_given_double_points_on_11_11_when_paid_then_the_entry_explains_the_campaign() -> None:
    earning = earn((PaidLine("L1", Decimal(100)),), at=DOUBLE11)
    assert earning.points == 200
    inputs = earning.explain()[0]["inputs"]
    assert inputs["campaign"] == "double11"
    assert inputs["campaign_multiplier"] == "2"


def test_given_a_gold_member_when_paid_then_the_tier_multiplier_applies_after_the_campaign() -> None:
    earning = earn((PaidLine("L1", Decimal(101)),), at=DOUBLE11, tier="GOLD")
    assert earning.points == 303  # floor(101 × 2 × 1.5)
    assert earning.explain()[0]["inputs"]["tier_multiplier"] == "1.5"


def test_given_a_first_order_when_paid_then_the_welcome_bonus_is_added_and_explained() -> None:
    earning = earn((PaidLine("L1", Decimal(10)),), first=True)
    assert earning.points == 110
    assert earning.explain()[-1]["rule"] == "welcome"


def test_given_bonus_rules_when_a_review_is_posted_then_the_review_bonus_is_granted() -> None:
    assert bonus(make_program(), "review", T0).points == 20
    assert bonus(make_program(), "review", datetime(2025, 1, 1, tzinfo=UTC)).points == 0  # before the rule existed


def test_given_a_rate_change_when_the_log_is_replayed_then_earlier_orders_keep_their_points() -> None:
    data = program_data()
    data["rules"].append(
        {"id": "base", "kind": "base_rate", "points_per_yuan": 3, "effective_from": "2026-06-01T00:00:00Z"}
    )
    facts = [Enroll(7, T0), paid(7, "A", "100", at=T0), paid(7, "B", "100", at=datetime(2026, 7, 1, tzinfo=UTC))]
    before, after = LoyaltyBook(make_program()), LoyaltyBook(load_program(data))
    for fact in facts:
        before.apply(fact)
        after.apply(fact)
    earned = {e.order_id: e.points for e in after.accounts[7].entries if e.kind == "earn"}
    assert earned["A"] == next(e.points for e in before.accounts[7].entries if e.order_id == "A")
    assert earned["B"] == 300


def test_given_a_channel_order_with_an_order_discount_when_converted_then_lines_share_what_was_paid() -> None:
    order = Order(
        "tmall",
        "TM-1",
        "paid",
        total=Decimal(300),
        paid=Decimal(250),
        paid_at=T0,
        lines=(OrderLine("黑武士-手柄", amount=Decimal(200), category="手柄"), OrderLine("贴纸", amount=Decimal(100))),
    )
    fact = order_paid_from(order, 7, "tmall")
    assert isinstance(fact, OrderPaid)
    assert [line.amount for line in fact.lines] == [Decimal("166.67"), Decimal("83.33")]
    assert fact.total == Decimal(250)
    assert order_paid_from(Order("tmall", "TM-2", "pending_payment"), 7, "tmall") is None
