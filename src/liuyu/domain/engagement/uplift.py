"""Conversion and uplift of a journey against its control group, with a confidence interval.

The interval of the difference of two proportions is Newcombe's hybrid score interval (his
method 10, 1998): each group's Wilson score interval, combined. Unlike the textbook normal
approximation it stays inside [-1, 1] and behaves at 0 % or 100 % conversion and small groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True, slots=True)
class Uplift:
    treatment: int
    treatment_converted: int
    control: int
    control_converted: int
    treatment_rate: float | None
    control_rate: float | None
    uplift: float | None  # treatment rate minus control rate, in absolute points (0.05 = 5 points)
    low: float | None
    high: float | None
    confidence: float

    @property
    def significant(self) -> bool:
        """The interval leaves out zero: the difference is unlikely to be chance at this confidence."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def wilson(converted: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of one proportion."""
    if total <= 0:
        raise ValueError("a proportion needs at least one case")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = converted / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    scale = 1 + z * z / total
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def uplift(
    treatment: int, treatment_converted: int, control: int, control_converted: int, confidence: float = 0.95
) -> Uplift:
    """Treatment minus control conversion with Newcombe's hybrid score interval."""
    if not (0 <= treatment_converted <= treatment and 0 <= control_converted <= control):
        raise ValueError("converted counts must be between 0 and the group size")
    t_rate = treatment_converted / treatment if treatment else None
    c_rate = control_converted / control if control else None
    if t_rate is None or c_rate is None:
        return Uplift(
            treatment, treatment_converted, control, control_converted, t_rate, c_rate, None, None, None, confidence
        )
    l1, u1 = wilson(treatment_converted, treatment, confidence)
    l2, u2 = wilson(control_converted, control, confidence)
    diff = t_rate - c_rate
    low = diff - math.sqrt((t_rate - l1) ** 2 + (u2 - c_rate) ** 2)
    high = diff + math.sqrt((u1 - t_rate) ** 2 + (c_rate - l2) ** 2)
    return Uplift(
        treatment, treatment_converted, control, control_converted, t_rate, c_rate, diff, low, high, confidence
    )
