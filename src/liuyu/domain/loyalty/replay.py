"""Applying facts to member accounts, merging and splitting them, and rebuilding from the log.

``LoyaltyBook`` holds every account of a workspace and routes each fact to the account of the
customer it names. A merge moves the other account's entries, lots and orders in unchanged (lots
keep their own earn dates); an unmerge moves back exactly the entries whose lot belongs to the
customers split out. Points of one side that the merged member spent stay spent on that side:
the redemption entry on that side's lot records who redeemed them (``actor``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from liuyu.domain.errors import Conflict, NotFound
from liuyu.domain.loyalty import tier as tiers
from liuyu.domain.loyalty.account import MemberAccount
from liuyu.domain.loyalty.facts import (
    AccountsMerged,
    AccountsUnmerged,
    Adjust,
    BonusEarned,
    Enroll,
    ExpireDue,
    Fact,
    OrderPaid,
    OrderRefunded,
    Redeem,
    ReturnWindowClosed,
    ReviewTiers,
)
from liuyu.domain.loyalty.ledger import Entry, digest, lot_balances
from liuyu.domain.loyalty.program import Program

K = TypeVar("K")
V = TypeVar("V")


def merge_accounts(into: MemberAccount, other: MemberAccount, at: datetime) -> None:
    """Move ``other`` into ``into``; the member keeps the higher of the two tiers."""
    into.absorbed[other.primary] = (set(other.customer_ids), list(other.tier.history))
    into.absorbed.update(other.absorbed)
    into.customer_ids |= other.customer_ids
    into.entries = sorted(into.entries + other.entries, key=Entry.sort_key)
    into.seen.update(other.seen)
    into.lots.update(other.lots)
    into.orders.update(other.orders)
    for customer, owed in other.debts.items():
        into.debts[customer] = into.debts.get(customer, 0) + owed
    if tiers.rank(into.program, other.tier.code) > tiers.rank(into.program, into.tier.code):
        value = tiers.qualifying_value(into.activities(), into.program, at)
        reason = f"merged with customer {other.primary}: kept the higher tier"
        tiers.force(into.tier, into.program, other.tier.code, at, reason, value)
    into.upgrade_tier(at)


def split_account(account: MemberAccount, customer_id: int, at: datetime) -> MemberAccount:
    """Undo the merge that brought ``customer_id`` in; return its own account again."""
    if customer_id not in account.absorbed:
        raise Conflict(f"customer {customer_id} was not merged into the account of {account.primary}")
    ids, history = account.absorbed.pop(customer_id)
    side = MemberAccount(account.program, customer_id, at)
    side.customer_ids = set(ids)
    side.tier = tiers.TierState(history[-1].to_tier, list(history))
    account.customer_ids -= ids
    side.absorbed = {c: account.absorbed.pop(c) for c in list(account.absorbed) if c in ids}
    side.entries = [e for e in account.entries if e.customer_id in ids]
    account.entries = [e for e in account.entries if e.customer_id not in ids]
    side.seen = _take_out(account.seen, lambda key, customer: customer in ids)
    side.lots = _take_out(account.lots, lambda key, lot: lot.customer_id in ids)
    side.orders = _take_out(account.orders, lambda key, order: order.customer_id in ids)
    side.debts = _take_out(account.debts, lambda customer, owed: customer in ids)
    for one, other in ((account, side), (side, account)):
        value = tiers.qualifying_value(one.activities(), one.program, at)
        code = tiers.tier_for(one.program, value).code
        reason = f"unmerged from customer {other.primary}: tier recomputed on own activity"
        tiers.force(one.tier, one.program, code, at, reason, value)
    return side


def _take_out(mapping: dict[K, V], belongs: Callable[[K, V], bool]) -> dict[K, V]:
    """Remove and return the items that belong to the side being split out."""
    moved = {k: v for k, v in mapping.items() if belongs(k, v)}
    for k in moved:
        del mapping[k]
    return moved


def check(account: MemberAccount) -> list[str]:
    """Every way the running totals could disagree with the ledger; empty when they agree."""
    problems = []
    per_lot = lot_balances(account.entries)
    for lot in account.lots.values():
        expected = lot.ledger_view()
        actual = per_lot.get(lot.lot_id, dict.fromkeys(expected, 0))
        if expected != actual:
            problems.append(f"lot {lot.lot_id}: running {expected} != ledger {actual}")
    totals = account.balances()
    if totals["available"] != account.available or totals["pending"] != account.pending:
        problems.append(f"balances {totals} != available {account.available} pending {account.pending}")
    if -totals["debt"] != account.debt:
        problems.append(f"debt {account.debt} != ledger {-totals['debt']}")
    if sum(totals.values()) != 0:
        problems.append(f"buckets do not sum to zero: {totals}")
    return problems


class LoyaltyBook:
    """All member accounts of one program, as pure state."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.accounts: dict[int, MemberAccount] = {}  # by primary customer
        self.owner: dict[int, int] = {}  # customer -> primary customer of its account
        self.done: set[str] = set()  # keys of facts applied at the book level

    def account_of(self, customer_id: int) -> MemberAccount | None:
        """The account that holds the customer now (merged or not); None for non-members."""
        primary = self.owner.get(customer_id)
        return None if primary is None else self.accounts[primary]

    def enroll(self, customer_id: int, at: datetime) -> MemberAccount:
        """Open an account; enrolling a member twice returns the account they have."""
        account = self.account_of(customer_id)
        if account is None:
            account = MemberAccount(self.program, customer_id, at)
            self.accounts[customer_id] = account
            self.owner[customer_id] = customer_id
        return account

    def apply(self, fact: Fact) -> list[Entry]:
        """Apply one fact and return the entries it posted (none when it was applied before)."""
        if isinstance(fact, Enroll):
            self.enroll(fact.customer_id, fact.at)
            return []
        if isinstance(fact, ExpireDue | ReviewTiers | AccountsMerged | AccountsUnmerged):
            return self._apply_once(fact)
        account = self.account_of(fact.customer_id)
        if account is None and isinstance(fact, OrderPaid) and self.program.auto_enroll_on_first_order:
            account = self.enroll(fact.customer_id, fact.at)
        if account is None:
            if isinstance(fact, Redeem | Adjust):
                raise NotFound(f"customer {fact.customer_id} is not a member")
            return []
        if isinstance(fact, OrderPaid):
            return account.earn_order(fact)
        if isinstance(fact, OrderRefunded):
            return account.refund(fact)
        if isinstance(fact, ReturnWindowClosed):
            return account.release(fact)
        if isinstance(fact, Redeem):
            return account.redeem(fact)
        if isinstance(fact, Adjust):
            return account.adjust(fact)
        if isinstance(fact, BonusEarned):
            return account.earn_bonus(fact)
        raise TypeError(f"not a loyalty fact: {fact!r}")

    def _apply_once(self, fact: ExpireDue | ReviewTiers | AccountsMerged | AccountsUnmerged) -> list[Entry]:
        key = f"{type(fact).__name__}:{json.dumps(_fields(fact), sort_keys=True)}"
        if key in self.done:
            return []
        self.done.add(key)
        posted: list[Entry] = []
        if isinstance(fact, ExpireDue):
            for primary in sorted(self.accounts):
                posted += self.accounts[primary].expire_due(fact.at)
        elif isinstance(fact, ReviewTiers):
            for primary in sorted(self.accounts):
                self.accounts[primary].review_tier(fact.at)
        elif isinstance(fact, AccountsMerged):
            self._merge(fact)
        else:
            self._unmerge(fact)
        return posted

    def _merge(self, fact: AccountsMerged) -> None:
        into = self.enroll(fact.winner, fact.at)
        other = self.enroll(fact.loser, fact.at)
        if into is other:
            return
        merge_accounts(into, other, fact.at)
        del self.accounts[other.primary]
        for customer in other.customer_ids:
            self.owner[customer] = into.primary

    def _unmerge(self, fact: AccountsUnmerged) -> None:
        account = self.account_of(fact.customer_id)
        if account is None or fact.customer_id not in account.absorbed:
            return
        side = split_account(account, fact.customer_id, fact.at)
        self.accounts[side.primary] = side
        for customer in side.customer_ids:
            self.owner[customer] = side.primary

    def digest(self) -> str:
        """A fingerprint of balances, lots, tiers and ledgers, for checking that a rebuild matches."""
        state = []
        for primary in sorted(self.accounts):
            account = self.accounts[primary]
            state.append(
                {
                    "primary": primary,
                    "customers": sorted(account.customer_ids),
                    "ledger": digest(account.entries),
                    "lots": {k: lot.ledger_view() for k, lot in sorted(account.lots.items())},
                    "debts": {str(k): v for k, v in sorted(account.debts.items()) if v},
                    "tier": account.tier.code,
                    "tier_history": [[c.at.isoformat(), c.to_tier, c.reason] for c in account.tier.history],
                }
            )
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _fields(fact: object) -> dict[str, str]:
    return {name: str(getattr(fact, name)) for name in fact.__dataclass_fields__}  # type: ignore[attr-defined]


def replay(program: Program, facts: Iterable[Fact]) -> LoyaltyBook:
    """Rebuild every account from the facts in log order; rejected commands are skipped as they were live."""
    book = LoyaltyBook(program)
    for fact in facts:
        try:
            book.apply(fact)
        except Conflict:
            continue
    return book
