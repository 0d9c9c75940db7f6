"""Which categories are bought together: confidence P(B | A) and lift over baskets of categories.

A basket is the set of categories of one paid order. For a pair (A, B), *confidence* is the share
of baskets with A that also hold B, and *lift* is that confidence over B's share of all baskets:
above 1 means buyers of A take B more often than shoppers at large. Pure: rows in, numbers out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import permutations


@dataclass(frozen=True, slots=True)
class Adjacent:
    category: str  # the suggested neighbour B of A
    together: int  # baskets holding both
    confidence: float  # P(B | A)
    lift: float  # P(B | A) / P(B)


def adjacent_categories(
    baskets: Iterable[Iterable[str]], *, min_together: int = 2, top: int = 3
) -> dict[str, list[Adjacent]]:
    """Per category, its ``top`` neighbours with lift above 1, best lift first (then confidence,
    then name); a pair seen in fewer than ``min_together`` baskets is noise and left out."""
    total = 0
    single: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for basket in baskets:
        items = sorted({c for c in basket if c})
        if not items:
            continue
        total += 1
        single.update(items)
        pairs.update(permutations(items, 2))
    found: dict[str, list[Adjacent]] = {}
    for (a, b), together in pairs.items():
        if together < min_together:
            continue
        confidence = together / single[a]
        lift = confidence / (single[b] / total)
        if lift > 1:
            found.setdefault(a, []).append(Adjacent(b, together, round(confidence, 4), round(lift, 4)))
    return {
        a: sorted(items, key=lambda x: (-x.lift, -x.confidence, x.category))[:top] for a, items in sorted(found.items())
    }
