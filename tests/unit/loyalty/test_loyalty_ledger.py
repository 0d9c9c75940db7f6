"""The points ledger of one member: pending, available, refunds, debt, redemptions, adjustments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from loyalty_helpers import T0, days, make_program, paid

from liuyu.domain.errors import InvalidInput
from liuyu.domain.loyalty.account import InsufficientPoints, MemberAccount
from liuyu.domain.loyalty.facts import Adjust, OrderRefunded, Redeem, ReturnWindowClosed
from liuyu.domain.loyalty.replay import check

ALICE = 7


def account(**changes: object) -> MemberAccount:
    return MemberAccount(make_program(**changes), ALICE, T0)


def with_released_order(acc: MemberAccount, order_id: str = "TM-1", amount: str = "1000") -> None:
    acc.earn_order(paid(ALICE, order_id, amount, at=T0))
    acc.release(ReturnWindowClosed(ALICE, order_id, T0 + days(7)))


def refund(order_id: str, refund_id: str, amount: str, after: float = 8) -> OrderRefunded:
    return OrderRefunded(ALICE, order_id, refund_id, Decimal(amount), T0 + days(after))


def test_given_a_paid_order_when_posted_then_points_are_pending_until_the_return_window_closes() -> None:
    acc = account()
    acc.earn_order(paid(ALICE, "TM-1", "500"))
    assert (acc.pending, acc.available) == (600, 0)  # 500 + 100 welcome bonus
    acc.release(ReturnWindowClosed(ALICE, "TM-1", T0 + days(7)))
    assert (acc.pending, acc.available) == (0, 600)
    assert [e.kind for e in acc.entries] == ["earn", "release"]
    assert check(acc) == []


def test_given_a_zero_day_return_window_when_an_order_is_paid_then_points_are_available_at_once() -> None:
    acc = account(return_window_days=0)
    acc.earn_order(paid(ALICE, "TM-1", "500"))
    assert (acc.pending, acc.available) == (0, 600)


def test_given_the_same_order_twice_when_posted_then_it_earns_once() -> None:
    acc = account()
    fact = paid(ALICE, "TM-1", "500")
    assert acc.earn_order(fact)
    assert acc.earn_order(fact) == []
    assert acc.pending == 600


def test_given_partial_refunds_when_they_add_up_to_the_whole_order_then_exactly_everything_is_reversed() -> None:
    acc = account()
    acc.earn_order(paid(ALICE, "TM-1", "333"))  # 433 points with the bonus
    acc.refund(refund("TM-1", "R1", "100", after=1))
    assert acc.pending == 433 - 130  # floor(433 × 100 / 333) = 130
    acc.refund(refund("TM-1", "R2", "100", after=2))
    assert acc.pending == 433 - 260
    acc.refund(refund("TM-1", "R3", "133", after=3))
    assert acc.pending == 0
    assert sum(e.points for e in acc.entries if e.kind == "reverse") == 433
    assert check(acc) == []


def test_given_a_refund_replayed_when_posted_again_then_nothing_more_is_reversed() -> None:
    acc = account()
    with_released_order(acc)
    acc.refund(refund("TM-1", "R1", "500"))
    assert acc.refund(refund("TM-1", "R1", "500")) == []
    assert acc.available == 1100 - 550


def test_given_points_already_spent_when_the_order_is_refunded_then_what_is_there_is_taken_and_the_rest_is_debt() -> (
    None
):
    acc = account()
    with_released_order(acc)
    acc.redeem(Redeem(ALICE, "RD-1", 1000, T0 + days(8)))
    acc.refund(refund("TM-1", "R1", "1000", after=9))
    assert acc.available == 0
    assert acc.debt == 1000
    acc.earn_order(paid(ALICE, "TM-2", "300", at=T0 + days(10)))
    acc.release(ReturnWindowClosed(ALICE, "TM-2", T0 + days(17)))
    assert acc.debt == 1000 - 450  # 300 × 1.5 as GOLD (kept until the review) paid part of the debt first
    assert acc.available == 0
    assert [e.kind for e in acc.entries][-2:] == ["release", "settle"]
    assert check(acc) == []


def test_given_negative_balances_are_allowed_when_spent_points_are_refunded_then_the_balance_goes_below_zero() -> None:
    acc = account(allow_negative_balance=True)
    with_released_order(acc)
    acc.redeem(Redeem(ALICE, "RD-1", 1000, T0 + days(8)))
    acc.refund(refund("TM-1", "R1", "1000", after=9))
    assert (acc.available, acc.debt) == (-1000, 0)
    with pytest.raises(InsufficientPoints):
        acc.redeem(Redeem(ALICE, "RD-2", 1, T0 + days(10)))
    assert check(acc) == []


def test_given_a_redemption_above_the_balance_when_asked_then_it_is_refused_and_nothing_is_posted() -> None:
    acc = account()
    with_released_order(acc)
    with pytest.raises(InsufficientPoints):
        acc.redeem(Redeem(ALICE, "RD-1", 1101, T0 + days(8)))
    assert [e.kind for e in acc.entries] == ["earn", "release"]


def test_given_pending_points_when_redeeming_then_only_available_points_can_be_spent() -> None:
    acc = account()
    acc.earn_order(paid(ALICE, "TM-1", "500"))
    with pytest.raises(InsufficientPoints):
        acc.redeem(Redeem(ALICE, "RD-1", 1, T0 + days(1)))


def test_given_two_lots_when_redeeming_then_the_one_expiring_first_is_spent_first() -> None:
    acc = account()
    acc.earn_order(paid(ALICE, "OLD", "100", at=T0))  # expires end of 2027
    acc.release(ReturnWindowClosed(ALICE, "OLD", T0 + days(7)))
    acc.earn_order(paid(ALICE, "NEW", "100", at=T0 + days(365)))  # expires end of 2028
    acc.release(ReturnWindowClosed(ALICE, "NEW", T0 + days(372)))
    posted = acc.redeem(Redeem(ALICE, "RD-1", 250, T0 + days(400)))
    assert [(e.lot_id, e.points) for e in posted] == [("order:OLD", 200), ("order:NEW", 50)]
    assert [e.part for e in posted] == [0, 1]


def test_given_an_operator_adjustment_when_posted_then_the_operator_and_reason_are_on_the_entry() -> None:
    acc = account()
    acc.adjust(Adjust(ALICE, "ADJ-1", 50, "ops-alice", "compensation for a late parcel", T0))
    acc.adjust(Adjust(ALICE, "ADJ-2", -20, "ops-bob", "duplicate compensation", T0 + days(1)))
    assert acc.available == 30
    assert [(e.actor, e.reason) for e in acc.entries] == [
        ("ops-alice", "compensation for a late parcel"),
        ("ops-bob", "duplicate compensation"),
    ]


def test_given_an_adjustment_without_a_reason_when_posted_then_it_is_refused() -> None:
    with pytest.raises(InvalidInput):
        account().adjust(Adjust(ALICE, "ADJ-1", 50, "ops-alice", "  ", T0))


def test_given_a_deduction_above_the_balance_when_negative_is_not_allowed_then_it_is_refused() -> None:
    acc = account()
    acc.adjust(Adjust(ALICE, "ADJ-1", 50, "ops-alice", "goodwill", T0))
    with pytest.raises(InsufficientPoints):
        acc.adjust(Adjust(ALICE, "ADJ-2", -51, "ops-alice", "clawback", T0))
    assert acc.available == 50


def test_given_every_entry_when_summed_by_bucket_then_the_buckets_balance_to_zero() -> None:
    acc = account()
    with_released_order(acc)
    acc.redeem(Redeem(ALICE, "RD-1", 300, T0 + days(8)))
    acc.refund(refund("TM-1", "R1", "500"))
    totals = acc.balances()
    assert sum(totals.values()) == 0
    assert -totals["issued"] - totals["reversed"] == totals["available"] + totals["redeemed"] + totals["pending"]
