"""RFM: recency, frequency and monetary scores 1–5 by quintile within one workspace.

Scores are relative: a 5 means "in the best fifth of this workspace's buyers", so they are
recomputed for the whole workspace on a schedule. Equal values always get equal scores, so a
workspace where most buyers ordered once has most frequency scores at 1.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

#: The usual names for regions of the recency × frequency grid, checked in this order.
GRID_NAMES: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    # name, recency range, frequency range (inclusive)
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("cannot_lose", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need_attention", (3, 3), (3, 3)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("hibernating", (1, 2), (1, 2)),
)


@dataclass(frozen=True, slots=True)
class BuyerRow:
    """What RFM needs about one buyer: last order time, number of orders, money spent."""

    customer_id: int
    last_order_at: datetime
    order_count: int
    total_spent: Decimal


@dataclass(frozen=True, slots=True)
class RfmScore:
    customer_id: int
    recency: int
    frequency: int
    monetary: int

    @property
    def cell(self) -> str:
        """The grid cell, e.g. ``"R5F3M4"``: short enough for a tag or a chart label."""
        return f"R{self.recency}F{self.frequency}M{self.monetary}"

    @property
    def grid_name(self) -> str:
        """The recency × frequency region an operator talks about ("champions", "at_risk"…)."""
        for name, (r_low, r_high), (f_low, f_high) in GRID_NAMES:
            if r_low <= self.recency <= r_high and f_low <= self.frequency <= f_high:
                return name
        return "others"


def quintile_scores(values: Sequence[float | Decimal | int]) -> list[int]:
    """Score each value 1–5 by the share of values strictly below it; ties share a score."""
    ordered = sorted(values)
    n = len(ordered)
    return [1 + (5 * bisect_left(ordered, v)) // n for v in values]


def score(buyers: Iterable[BuyerRow]) -> list[RfmScore]:
    """RFM scores of every buyer of one workspace, in the order given."""
    rows = list(buyers)
    if not rows:
        return []
    recency = quintile_scores([r.last_order_at.timestamp() for r in rows])  # later is better
    frequency = quintile_scores([r.order_count for r in rows])
    monetary = quintile_scores([r.total_spent for r in rows])
    return [RfmScore(row.customer_id, r, f, m) for row, r, f, m in zip(rows, recency, frequency, monetary, strict=True)]


def grid(scores: Iterable[RfmScore]) -> dict[tuple[int, int], int]:
    """How many buyers sit in each (recency, frequency) cell: the dashboard's 5 × 5 grid."""
    cells = {(r, f): 0 for r in range(1, 6) for f in range(1, 6)}
    for s in scores:
        cells[(s.recency, s.frequency)] += 1
    return cells
