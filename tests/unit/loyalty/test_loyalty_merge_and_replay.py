"""Merging and unmerging accounts, and rebuilding every account from the log."""

from __future__ import annotations

import pytest
from loyalty_helpers import T0, days, make_program, paid

from liuyu.domain.errors import NotFound
from liuyu.domain.loyalty.facts import (
    AccountsMerged,
    AccountsUnmerged,
    Adjust,
    BonusEarned,
    Enroll,
    ExpireDue,
    Fact,
    OrderPaid,
    Redeem,
    ReturnWindowClosed,
)
from liuyu.domain.loyalty.ledger import digest
from liuyu.domain.loyalty.replay import LoyaltyBook, check, replay

TMALL_BUYER, APP_MEMBER = 11, 22


def book_with(*facts: Fact) -> LoyaltyBook:
    book = LoyaltyBook(make_program())
    for fact in facts:
        book.apply(fact)
    return book


def two_shoppers() -> list[Fact]:
    return [
        paid(TMALL_BUYER, "TM-1", "200", at=T0, channel="tmall"),
        ReturnWindowClosed(TMALL_BUYER, "TM-1", T0 + days(7)),
        paid(APP_MEMBER, "APP-1", "300", at=T0 + days(2), channel="app"),
        ReturnWindowClosed(APP_MEMBER, "APP-1", T0 + days(9)),
    ]


def test_given_two_customers_when_merged_then_one_account_holds_both_lots_with_their_own_earn_dates() -> None:
    book = book_with(*two_shoppers(), AccountsMerged(APP_MEMBER, TMALL_BUYER, T0 + days(10)))
    account = book.account_of(TMALL_BUYER)
    assert account is book.account_of(APP_MEMBER)
    assert account.available == (100 + 100) + (300 + 100)  # each had its own welcome bonus
    assert {lot.lot_id: lot.earned_at for lot in account.lots.values()} == {
        "order:TM-1": T0,
        "order:APP-1": T0 + days(2),
    }
    assert check(account) == []


def test_given_a_merged_account_when_unmerged_then_each_side_gets_back_exactly_its_own_entries() -> None:
    before = book_with(*two_shoppers())
    own = {c: digest(before.accounts[c].entries) for c in (TMALL_BUYER, APP_MEMBER)}
    book = book_with(
        *two_shoppers(),
        AccountsMerged(APP_MEMBER, TMALL_BUYER, T0 + days(10)),
        AccountsUnmerged(TMALL_BUYER, T0 + days(11)),
    )
    assert book.account_of(TMALL_BUYER) is not book.account_of(APP_MEMBER)
    assert {c: digest(book.accounts[c].entries) for c in (TMALL_BUYER, APP_MEMBER)} == own


def test_given_points_spent_while_merged_when_unmerged_then_they_stay_spent_on_the_side_that_earned_them() -> None:
    book = book_with(
        *two_shoppers(),
        AccountsMerged(APP_MEMBER, TMALL_BUYER, T0 + days(10)),
        Redeem(APP_MEMBER, "RD-1", 500, T0 + days(12)),  # 200 from the Tmall lot (older), 300 from the app lot
        AccountsUnmerged(TMALL_BUYER, T0 + days(13)),
    )
    tmall, app = book.accounts[TMALL_BUYER], book.accounts[APP_MEMBER]
    assert (tmall.available, app.available) == (0, 100)
    spent_on_tmall = [e for e in tmall.entries if e.kind == "redeem"]
    assert [(e.points, e.actor) for e in spent_on_tmall] == [(200, str(APP_MEMBER))]
    assert check(tmall) == [] and check(app) == []


def test_given_an_unmerged_customer_when_its_orders_arrive_again_then_they_post_to_its_own_account_once() -> None:
    facts = [*two_shoppers(), AccountsMerged(APP_MEMBER, TMALL_BUYER, T0 + days(10))]
    facts += [AccountsUnmerged(TMALL_BUYER, T0 + days(11)), paid(TMALL_BUYER, "TM-1", "200", at=T0)]
    book = book_with(*facts)
    assert book.accounts[TMALL_BUYER].available == 200


def test_given_a_member_who_reached_gold_when_merged_with_a_new_member_then_the_merged_member_keeps_gold() -> None:
    book = book_with(
        paid(TMALL_BUYER, "TM-1", "1500", at=T0),
        paid(APP_MEMBER, "APP-1", "10", at=T0),
        AccountsMerged(APP_MEMBER, TMALL_BUYER, T0 + days(1)),
    )
    account = book.accounts[APP_MEMBER]
    assert account.tier.code == "GOLD"
    assert "merged with customer 11" in account.tier.history[-1].reason


def test_given_no_auto_enrollment_when_a_non_member_orders_then_no_points_are_posted() -> None:
    book = LoyaltyBook(make_program(auto_enroll_on_first_order=False))
    assert book.apply(paid(TMALL_BUYER, "TM-1", "200")) == []
    assert book.account_of(TMALL_BUYER) is None
    with pytest.raises(NotFound):
        book.apply(Redeem(TMALL_BUYER, "RD-1", 1, T0))
    book.apply(Enroll(TMALL_BUYER, T0))
    assert book.apply(paid(TMALL_BUYER, "TM-2", "200"))


def test_given_the_whole_log_when_rebuilt_twice_then_the_digests_match_and_replaying_adds_nothing() -> None:
    log: list[Fact] = [
        *two_shoppers(),
        BonusEarned(APP_MEMBER, "review", "RV-1", T0 + days(3)),
        AccountsMerged(APP_MEMBER, TMALL_BUYER, T0 + days(10)),
        Redeem(APP_MEMBER, "RD-1", 450, T0 + days(12)),
        Adjust(TMALL_BUYER, "ADJ-1", 30, "ops-alice", "late parcel", T0 + days(13)),
        ExpireDue(T0 + days(800)),
        AccountsUnmerged(TMALL_BUYER, T0 + days(801)),
    ]
    first = replay(make_program(), log)
    assert replay(make_program(), log).digest() == first.digest()
    for fact in log:
        assert first.apply(fact) == []
    assert first.digest() == replay(make_program(), log).digest()


def test_given_a_different_log_when_rebuilt_then_the_digest_differs() -> None:
    log: list[Fact] = list(two_shoppers())
    other = [*log[:-1], ReturnWindowClosed(APP_MEMBER, "APP-1", T0 + days(10))]
    assert replay(make_program(), log).digest() != replay(make_program(), other).digest()


def test_given_an_order_fact_when_posted_then_every_entry_knows_its_origin_customer_and_order() -> None:
    book = book_with(OrderPaid(TMALL_BUYER, "TM-1", "tmall", T0, paid(TMALL_BUYER, "TM-1", "88").lines))
    entry = book.accounts[TMALL_BUYER].entries[0]
    assert (entry.customer_id, entry.order_id, entry.key) == (TMALL_BUYER, "TM-1", "order:TM-1:earn")
    assert [a["rule"] for a in (x.as_dict() for x in entry.explanation)] == ["tmall", "welcome"]
