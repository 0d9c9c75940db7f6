"""Cohort retention: of the customers who first bought in a month, how many bought again k months later.

Pure functions over (customer, purchase day) pairs, in the workspace's local calendar, so the
dashboard, the API and tests share one definition. A cohort's curve stops at the last month the data
covers: a recent cohort has a short curve rather than zeros for months that have not happened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Cohort:
    """Customers whose first purchase fell in ``month``; ``retained[k-1]`` is the share buying in month k after."""

    month: str  # "YYYY-MM"
    customers: int
    retained: tuple[float, ...]


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def monthly_cohorts(
    purchases: Iterable[tuple[Hashable, date]], *, horizon: int = 12, through: date | None = None
) -> list[Cohort]:
    """Monthly cohorts, oldest first, each with its retention curve for months 1..``horizon``.

    ``through`` is the last day the data covers (default: the latest purchase); months after it are
    not yet observable and are left out of every curve.
    """
    if horizon < 1:
        raise ValueError("horizon is at least 1 month")
    months_of: dict[Hashable, set[int]] = defaultdict(set)
    latest = None
    for customer, day in purchases:
        months_of[customer].add(_index(day))
        latest = day if latest is None or day > latest else latest
    if not months_of:
        return []
    last = _index(through or latest)  # type: ignore[arg-type]
    members: dict[int, list[set[int]]] = defaultdict(list)
    for months in months_of.values():
        members[min(months)].append(months)
    cohorts = []
    for first in sorted(members):
        if first > last:
            continue
        group = members[first]
        observable = min(horizon, last - first)
        retained = tuple(
            sum(1 for months in group if first + k in months) / len(group) for k in range(1, observable + 1)
        )
        cohorts.append(Cohort(_label(first), len(group), retained))
    return cohorts


def average_curve(cohorts: Iterable[Cohort]) -> list[float]:
    """Retention by months since first purchase over all cohorts, weighted by cohort size."""
    totals: dict[int, float] = defaultdict(float)
    sizes: dict[int, int] = defaultdict(int)
    for cohort in cohorts:
        for k, share in enumerate(cohort.retained):
            totals[k] += share * cohort.customers
            sizes[k] += cohort.customers
    return [totals[k] / sizes[k] for k in sorted(totals)]
