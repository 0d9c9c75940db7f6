"""Property: over any sequence of orders, refunds, redemptions, expiries and merges, the ledger holds."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty_helpers import T0, days, make_program, paid, program_data

from liuyu.domain.errors import Conflict
from liuyu.domain.loyalty.facts import (
    AccountsMerged,
    AccountsUnmerged,
    Adjust,
    BonusEarned,
    Enroll,
    ExpireDue,
    Fact,
    OrderRefunded,
    Redeem,
    ReturnWindowClosed,
    ReviewTiers,
)
from liuyu.domain.loyalty.ledger import balances
from liuyu.domain.loyalty.replay import LoyaltyBook, check, replay

CUSTOMERS = st.integers(min_value=1, max_value=3)
PAY = st.tuples(st.just("pay"), CUSTOMERS, st.integers(1, 100_000), st.sampled_from([None, "手柄", "主机"]))
REFUND = st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from([Decimal("0.3"), Decimal("0.5"), Decimal(1)]))
RELEASE = st.tuples(st.just("release"), st.integers(0, 20))
REDEEM = st.tuples(st.just("redeem"), CUSTOMERS, st.integers(1, 800))
STEP = st.one_of(
    PAY,
    PAY,
    RELEASE,
    RELEASE,
    RELEASE,
    REFUND,
    REFUND,
    REDEEM,
    st.tuples(st.just("drain"), CUSTOMERS),
    st.tuples(st.just("spend_then_refund"), st.integers(0, 20)),
    st.tuples(st.just("adjust"), CUSTOMERS, st.integers(-500, 500).filter(bool)),
    st.tuples(st.just("bonus"), CUSTOMERS),
    st.tuples(st.just("expire")),
    st.tuples(st.just("review")),
    st.tuples(st.just("merge"), CUSTOMERS, CUSTOMERS),
    st.tuples(st.just("unmerge"), CUSTOMERS),
)
SCENARIO = st.tuples(
    st.lists(st.tuples(STEP, st.integers(0, 120)), min_size=5, max_size=60), st.booleans(), st.sampled_from([0, 7])
)


def build_facts(steps: list[tuple[tuple, int]], book: LoyaltyBook) -> Iterator[Fact]:
    """Turn random steps into facts, moving the clock forward by the drawn number of days.

    ``drain`` and ``spend_then_refund`` redeem everything the member has at that moment (read from
    ``book``), so that refunds must reverse points already spent.
    """
    yield from [Enroll(c, T0) for c in (1, 2, 3)]
    orders: list[tuple[int, str, Decimal]] = []
    at = T0
    for n, (step, advance) in enumerate(steps):
        at += days(advance)
        kind = step[0]
        if kind == "pay":
            fact = paid(step[1], f"TM{n}", str(Decimal(step[2]) / 100), at=at, category=step[3])
            orders.append((step[1], f"TM{n}", fact.total))
            yield fact
        elif kind in {"refund", "release"} and orders:
            customer, order_id, total = orders[-1 - step[1] % len(orders)]
            if kind == "release":
                yield ReturnWindowClosed(customer, order_id, at)
            else:
                yield OrderRefunded(customer, order_id, f"R{n}", (total * step[2]).quantize(Decimal("0.01")), at)
        elif kind == "redeem":
            yield Redeem(step[1], f"RD{n}", step[2], at)
        elif kind == "adjust":
            yield Adjust(step[1], f"ADJ{n}", step[2], "ops-alice", "goodwill", at)
        elif kind == "bonus":
            yield BonusEarned(step[1], "review", f"RV{n}", at)
        elif kind == "expire":
            yield ExpireDue(at)
        elif kind == "review":
            yield ReviewTiers(at)
        elif kind == "merge":
            yield AccountsMerged(step[1], step[2], at)
        elif kind == "unmerge":
            yield AccountsUnmerged(step[1], at)
        elif kind == "drain":
            account = book.account_of(step[1])
            if account is not None and account.available > 0:
                yield Redeem(step[1], f"RD{n}", account.available, at)
        elif kind == "spend_then_refund" and orders:
            customer, order_id, total = orders[-1 - step[1] % len(orders)]
            yield ReturnWindowClosed(customer, order_id, at)
            account = book.account_of(customer)
            if account is not None and account.available > 0:
                yield Redeem(customer, f"RD{n}", account.available, at)
            yield OrderRefunded(customer, order_id, f"R{n}", total, at)


def all_entries(book: LoyaltyBook) -> dict[tuple[str, int], object]:
    entries = {}
    for account in book.accounts.values():
        for entry in account.entries:
            assert (entry.key, entry.part) not in entries, f"{entry.key} posted twice"
            entries[(entry.key, entry.part)] = entry
    return entries


def assert_ledger_holds(book: LoyaltyBook, allow_negative: bool) -> None:
    for primary, account in book.accounts.items():
        assert check(account) == []
        assert all(book.owner[c] == primary for c in account.customer_ids)
        assert {e.customer_id for e in account.entries} <= account.customer_ids
        assert {lot.customer_id for lot in account.lots.values()} <= account.customer_ids
        totals = balances(account.entries)
        earned, reversed_ = -totals["issued"], totals["reversed"]
        held = totals["expired"] + totals["redeemed"] + totals["available"] + totals["pending"] + totals["debt"]
        assert held == earned - reversed_
        assert totals["pending"] >= 0
        assert totals["debt"] <= 0
        if not allow_negative:
            assert totals["available"] >= 0
            assert all(lot.available >= 0 for lot in account.lots.values())


@settings(max_examples=150, deadline=None)
@given(SCENARIO)
def test_any_sequence_of_facts_keeps_balances_equal_to_the_ledger_and_replays_to_the_same_digest(
    scenario: tuple[list[tuple[tuple, int]], bool, int],
) -> None:
    steps, allow_negative, window = scenario
    rules = program_data()["rules"] + [
        {"id": "base", "kind": "base_rate", "points_per_yuan": 2, "effective_from": "2027-01-01T00:00:00+08:00"}
    ]
    program = make_program(allow_negative_balance=allow_negative, return_window_days=window, rules=rules)
    book = LoyaltyBook(program)
    seen = all_entries(book)
    log: list[Fact] = []  # a rejected command never reaches the log
    for fact in build_facts(steps, book):
        try:
            book.apply(fact)
            log.append(fact)
        except Conflict:
            pass
        now = all_entries(book)
        assert all(now.get(key) == entry for key, entry in seen.items()), "an entry was changed or dropped"
        seen = now
        assert_ledger_holds(book, allow_negative)

    before = book.digest()
    for fact in log:  # the same facts again: every key has posted already
        assert book.apply(fact) == []
    assert book.digest() == before
    assert replay(program, log).digest() == before
