"""Lot expiry (what expires when) and tier evaluation (earned in a window, not the balance)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loyalty_helpers import T0, days, make_program, paid, program_data

from liuyu.domain.loyalty.account import MemberAccount
from liuyu.domain.loyalty.card import member_card
from liuyu.domain.loyalty.facts import OrderRefunded, Redeem, ReturnWindowClosed
from liuyu.domain.loyalty.lots import expires_at, expiry_schedule
from liuyu.domain.loyalty.program import ExpiryPolicy, load_program
from liuyu.domain.loyalty.replay import check

ALICE = 7
BEIJING_NEW_YEAR_2028 = datetime(2027, 12, 31, 16, 0, tzinfo=UTC)


def released(acc: MemberAccount, order_id: str, amount: str, at: datetime) -> None:
    acc.earn_order(paid(ALICE, order_id, amount, at=at))
    acc.release(ReturnWindowClosed(ALICE, order_id, at + days(7)))


def test_given_end_of_next_year_expiry_when_earned_on_new_years_eve_in_beijing_then_the_local_year_counts() -> None:
    program = make_program()
    policy = ExpiryPolicy(mode="end_of_year", years_after=1)
    # 2026-12-31 17:00 UTC is already 2027-01-01 in Beijing: those points live until the end of 2028.
    assert expires_at(policy, datetime(2026, 12, 31, 15, 0, tzinfo=UTC), program) == BEIJING_NEW_YEAR_2028
    assert expires_at(policy, datetime(2026, 12, 31, 17, 0, tzinfo=UTC), program) == datetime(
        2028, 12, 31, 16, 0, tzinfo=UTC
    )


def test_given_a_fixed_period_when_earned_then_the_lot_expires_that_many_days_later() -> None:
    program = load_program(program_data(expiry={"mode": "days_after_earning", "days": 90}))
    assert expires_at(program.expiry, T0, program) == T0 + days(90)
    assert expires_at(ExpiryPolicy(mode="never"), T0, program) is None


def test_given_two_lots_when_asked_what_expires_when_then_each_date_shows_its_unspent_points() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "100", T0)  # 200 with the welcome bonus, expires end of 2027
    released(acc, "TM-2", "300", T0 + days(365))  # expires end of 2028
    acc.redeem(Redeem(ALICE, "RD-1", 50, T0 + days(400)))
    assert expiry_schedule(list(acc.lots.values())) == [
        (BEIJING_NEW_YEAR_2028, 150),
        (datetime(2028, 12, 31, 16, 0, tzinfo=UTC), 300),
    ]


def test_given_a_due_lot_when_the_expiry_job_runs_twice_then_it_expires_once_and_keeps_newer_lots() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "100", T0)
    released(acc, "TM-2", "300", T0 + days(365))
    posted = acc.expire_due(BEIJING_NEW_YEAR_2028)
    assert [(e.lot_id, e.points) for e in posted] == [("order:TM-1", 200)]
    assert acc.expire_due(BEIJING_NEW_YEAR_2028) == []
    assert acc.available == 300
    assert check(acc) == []


def test_given_a_lot_one_second_before_its_expiry_when_the_job_runs_then_nothing_expires() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "100", T0)
    assert acc.expire_due(BEIJING_NEW_YEAR_2028 - days(1 / 86400)) == []


def test_given_points_earned_past_a_threshold_when_the_order_is_paid_then_the_upgrade_is_immediate_with_a_reason() -> (
    None
):
    acc = MemberAccount(make_program(), ALICE, T0)
    acc.earn_order(paid(ALICE, "TM-1", "950", at=T0))  # 1050 points with the welcome bonus
    assert acc.tier.code == "GOLD"
    change = acc.tier.history[-1]
    assert (change.from_tier, change.to_tier) == ("MEMBER", "GOLD")
    assert "points_earned 1050" in change.reason


def test_given_a_gold_member_who_spends_all_points_when_reviewed_then_the_tier_stays_because_earned_counts() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "950", T0)
    acc.redeem(Redeem(ALICE, "RD-1", 1050, T0 + days(30)))
    assert acc.review_tier(T0 + days(60)) is None
    assert acc.tier.code == "GOLD"


def test_given_activity_leaves_the_window_when_reviewed_then_the_member_is_downgraded_with_the_reason() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "950", T0)
    assert acc.review_tier(T0 + days(300)) is None
    change = acc.review_tier(T0 + days(366))
    assert change is not None and (change.from_tier, change.to_tier) == ("GOLD", "MEMBER")
    assert change.reason.startswith("review:")


def test_given_a_refund_below_the_threshold_when_not_at_a_review_then_the_tier_is_kept_until_the_review() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "950", T0)
    acc.refund(OrderRefunded(ALICE, "TM-1", "R1", Decimal(950), T0 + days(10)))
    assert acc.tier.code == "GOLD"
    acc.review_tier(T0 + days(30))
    assert acc.tier.code == "MEMBER"


def test_given_a_grace_period_when_reviews_find_the_member_below_then_the_downgrade_waits_for_the_grace() -> None:
    acc = MemberAccount(load_program(program_data(tier_policy={"window_days": 365, "grace_days": 90})), ALICE, T0)
    released(acc, "TM-1", "950", T0)
    assert acc.review_tier(T0 + days(400)) is None  # first review below: the grace starts
    assert acc.review_tier(T0 + days(450)) is None  # still within 90 days
    change = acc.review_tier(T0 + days(490))
    assert change is not None and change.to_tier == "MEMBER"
    assert "grace of 90 days" in change.reason


def test_given_order_count_as_the_basis_when_enough_orders_are_paid_then_the_tier_follows_the_count() -> None:
    data = program_data(tier_policy={"basis": "order_count", "window_days": 180})
    data["tiers"][1]["threshold"] = 3
    data["tiers"][2]["threshold"] = 10
    acc = MemberAccount(load_program(data), ALICE, T0)
    for n in range(3):
        acc.earn_order(paid(ALICE, f"TM-{n}", "1", at=T0 + days(n)))
    assert acc.tier.code == "GOLD"


def test_given_a_member_with_points_when_the_card_is_shown_then_it_has_balances_progress_and_next_expiry() -> None:
    acc = MemberAccount(make_program(), ALICE, T0)
    released(acc, "TM-1", "300", T0)  # 400 points, GOLD needs 1000
    acc.earn_order(paid(ALICE, "TM-2", "100", at=T0 + days(20)))
    card = member_card(acc, T0 + days(21))
    assert (card.available, card.pending, card.tier) == (400, 100, "MEMBER")
    assert (card.progress.next_tier, card.progress.remaining) == ("GOLD", Decimal(500))
    assert card.next_expiry == (BEIJING_NEW_YEAR_2028, 400)
