"""Points lots: each earning is a lot with its own earn date and expiry.

Points are spent and expired lot by lot, first to expire first (then oldest first), so a member
never loses points to expiry while holding older unspent ones. A lot belongs to the customer
whose order (or bonus, or adjustment) earned it; that is what lets an unmerge split accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from liuyu.domain.loyalty.program import ExpiryPolicy, Program

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(slots=True)
class Lot:
    """Running totals of one lot; the ledger entries that carry its ``lot_id`` sum to the same numbers."""

    lot_id: str
    customer_id: int
    earned_at: datetime
    expires_at: datetime | None
    order_id: str | None = None
    earned: int = 0  # granted into the lot (earn, or a positive adjustment)
    withdrawn: int = 0  # taken back to the program by a negative adjustment
    pending: int = 0
    available: int = 0
    redeemed: int = 0
    expired: int = 0
    reversed: int = 0  # by refunds, including points the member owes
    owed: int = 0  # the part of ``reversed`` the member could not cover: recorded as debt
    settled: int = 0  # points of this lot that paid off an older debt

    def ledger_view(self) -> dict[str, int]:
        """The bucket balances the ledger entries of this lot must sum to."""
        return {
            "issued": self.withdrawn - self.earned,
            "pending": self.pending,
            "available": self.available,
            "redeemed": self.redeemed,
            "expired": self.expired,
            "reversed": self.reversed,
            "debt": self.settled - self.owed,
        }

    @property
    def spendable(self) -> int:
        """Points that can be spent or expired from this lot (a negative lot has none)."""
        return max(0, self.available)


def expires_at(policy: ExpiryPolicy, earned_at: datetime, program: Program) -> datetime | None:
    """When points earned at ``earned_at`` expire (exclusive instant, UTC); None when they never do.

    ``end_of_year`` counts years in the program's time zone: earned on 2026-03-01 with
    ``years_after: 1`` expires at 2028-01-01 00:00 Beijing time, i.e. the end of next year.
    """
    if policy.mode == "never":
        return None
    if policy.mode == "days_after_earning":
        return earned_at + timedelta(days=policy.days or 0)
    local = earned_at.astimezone(program.zone)
    boundary = datetime(local.year + policy.years_after + 1, 1, 1, tzinfo=program.zone)
    return boundary.astimezone(UTC)


def spending_order(lots: list[Lot]) -> list[Lot]:
    """Lots in the order points are taken from them: soonest expiry, then oldest, then id."""
    return sorted(lots, key=lambda lot: (lot.expires_at or FAR_FUTURE, lot.earned_at, lot.lot_id))


def due(lots: list[Lot], at: datetime) -> list[Lot]:
    """Lots with spendable points whose expiry has come by ``at``."""
    return [
        lot for lot in spending_order(lots) if lot.expires_at is not None and lot.expires_at <= at and lot.spendable
    ]


def expiry_schedule(lots: list[Lot], *, after: datetime | None = None) -> list[tuple[datetime, int]]:
    """What expires when: spendable points grouped by expiry instant, soonest first (pending points excluded)."""
    totals: dict[datetime, int] = {}
    for lot in lots:
        if lot.expires_at is None or not lot.spendable or (after is not None and lot.expires_at <= after):
            continue
        totals[lot.expires_at] = totals.get(lot.expires_at, 0) + lot.spendable
    return sorted(totals.items())
