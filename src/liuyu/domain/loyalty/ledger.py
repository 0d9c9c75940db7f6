"""The points ledger: append-only, double-entry-like.

Every entry moves a positive number of points from one bucket to another, so the buckets always
sum to zero and every balance is a sum of entries:

    issued ──earn──▶ pending ──release──▶ available ──redeem──▶ redeemed
                                          available ──expire──▶ expired
    pending / available / debt ──reverse──▶ reversed      (refunds)
    issued ──adjust──▶ available, available ──adjust──▶ issued   (operator, with a reason)
    available ──settle──▶ debt                              (later points pay an old debt)

``issued`` is the program's side: minus everything ever granted. ``debt`` goes below zero when a
refund had to reverse points the member had already spent and the program does not allow a
negative balance. Each entry carries the idempotency key of the fact that posted it, the lot it
touches and the customer whose order earned that lot, so an unmerge can split entries exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from liuyu.domain.loyalty.rules import Applied

BUCKETS = ("issued", "pending", "available", "redeemed", "expired", "reversed", "debt")

#: Which moves each entry kind may make: (from bucket, to bucket).
MOVES: dict[str, frozenset[tuple[str, str]]] = {
    "earn": frozenset({("issued", "pending"), ("issued", "available")}),
    "release": frozenset({("pending", "available")}),
    "redeem": frozenset({("available", "redeemed")}),
    "expire": frozenset({("available", "expired")}),
    "reverse": frozenset({("pending", "reversed"), ("available", "reversed"), ("debt", "reversed")}),
    "adjust": frozenset({("issued", "available"), ("available", "issued")}),
    "settle": frozenset({("available", "debt")}),
}
KINDS = tuple(MOVES)


@dataclass(frozen=True, slots=True)
class Entry:
    """One posting. ``key`` is the idempotency key of the fact; ``part`` numbers the entries it posted."""

    key: str
    part: int
    kind: str
    points: int
    source: str  # bucket the points leave
    target: str  # bucket the points enter
    at: datetime
    customer_id: int  # whose order, bonus or adjustment the lot belongs to
    lot_id: str
    order_id: str | None = None
    actor: str | None = None  # operator of an adjustment, or the customer who redeemed
    reason: str = ""
    explanation: tuple[Applied, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in MOVES:
            raise ValueError(f"unknown entry kind {self.kind!r}")
        if (self.source, self.target) not in MOVES[self.kind]:
            raise ValueError(f"{self.kind} cannot move points from {self.source} to {self.target}")
        if self.points <= 0:
            raise ValueError("an entry moves a positive number of points")
        if self.at.tzinfo is None:
            raise ValueError("entry time must carry a time zone")

    def sort_key(self) -> tuple[datetime, str, int]:
        """Entries are ordered by time, then fact, then part, the same way on every rebuild."""
        return (self.at, self.key, self.part)

    def as_dict(self) -> dict[str, object]:
        """The entry as plain data, for storage, the API and the digest."""
        return {
            "key": self.key,
            "part": self.part,
            "kind": self.kind,
            "points": self.points,
            "from": self.source,
            "to": self.target,
            "at": self.at.astimezone(UTC).isoformat(),
            "customer_id": self.customer_id,
            "lot_id": self.lot_id,
            "order_id": self.order_id,
            "actor": self.actor,
            "reason": self.reason,
            "explanation": [a.as_dict() for a in self.explanation],
        }


def balances(entries: Iterable[Entry]) -> dict[str, int]:
    """Every bucket's balance: points in minus points out."""
    totals = dict.fromkeys(BUCKETS, 0)
    for entry in entries:
        totals[entry.source] -= entry.points
        totals[entry.target] += entry.points
    return totals


def lot_balances(entries: Iterable[Entry]) -> dict[str, dict[str, int]]:
    """Bucket balances per lot, for checking a lot's running totals against the ledger."""
    per_lot: dict[str, dict[str, int]] = {}
    for entry in entries:
        totals = per_lot.setdefault(entry.lot_id, dict.fromkeys(BUCKETS, 0))
        totals[entry.source] -= entry.points
        totals[entry.target] += entry.points
    return per_lot


def digest(entries: Iterable[Entry]) -> str:
    """A fingerprint of a ledger that does not depend on posting order, for comparing rebuilds."""
    rows = [e.as_dict() for e in sorted(entries, key=Entry.sort_key)]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
