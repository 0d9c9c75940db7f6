"""Value concentration, the 20/80 view: how much of the revenue the best customers bring.

Pure functions over plain rows. A "group" is anything the caller keys rows by (channel,
category, month), so one function serves every breakdown of the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import TypeVar

Row = TypeVar("Row")
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Concentration:
    """Revenue share of the top ``top`` share of customers, with the numbers behind it."""

    customers: int
    revenue: Decimal
    top: float
    top_customers: float  # may be fractional: the curve is interpolated between customers
    top_revenue_share: float


def pareto_curve(values: Iterable[Decimal | float | int]) -> list[tuple[float, float]]:
    """Points (share of customers, share of revenue), best customers first, from (0, 0) to (1, 1).

    Customers with no revenue stay in the count: they are the long tail. Negative totals (net
    refunds) count as zero.
    """
    amounts = sorted((max(Decimal(str(v)), Decimal(0)) for v in values), reverse=True)
    total = sum(amounts, Decimal(0))
    n = len(amounts)
    points = [(0.0, 0.0)]
    if n == 0:
        return points
    running = Decimal(0)
    for i, amount in enumerate(amounts, start=1):
        running += amount
        points.append((i / n, float(running / total) if total else i / n))
    return points


def _interpolate(points: list[tuple[float, float]], x: float) -> float:
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def concentration(values: Iterable[Decimal | float | int], top: float = 0.2) -> Concentration:
    """The share of revenue brought by the best ``top`` fraction of customers (0.2 for 20/80)."""
    if not 0 < top <= 1:
        raise ValueError("top is a fraction in (0, 1]")
    amounts = [Decimal(str(v)) for v in values]
    points = pareto_curve(amounts)
    revenue = sum((max(a, Decimal(0)) for a in amounts), Decimal(0))
    return Concentration(len(amounts), revenue, top, top * len(amounts), _interpolate(points, top))


def revenue_by_customer(
    rows: Iterable[Row], customer: Callable[[Row], Hashable], amount: Callable[[Row], Decimal | float | int]
) -> dict[Hashable, Decimal]:
    """Add up rows (orders, order lines) per customer."""
    totals: dict[Hashable, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[customer(row)] += Decimal(str(amount(row)))
    return dict(totals)


def concentration_by(
    rows: Iterable[Row],
    group: Callable[[Row], Key],
    customer: Callable[[Row], Hashable],
    amount: Callable[[Row], Decimal | float | int],
    top: float = 0.2,
) -> dict[Key, Concentration]:
    """Concentration within each group, e.g. per channel: who the top 20% of Tmall buyers are."""
    per_group: dict[Key, list[Row]] = defaultdict(list)
    for row in rows:
        per_group[group(row)].append(row)
    return {
        key: concentration(revenue_by_customer(members, customer, amount).values(), top)
        for key, members in per_group.items()
    }
