"""Lifecycle stage: where a customer stands, from their order dates, membership and now.

prospect → new_member → first_purchase → repeat → loyal, and, as time passes without an
order, at_risk → dormant → churned. The windows differ by trade (a bed is bought once in ten
years, coffee every week), so each workspace sets its own :class:`LifecycleWindows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum

from liuyu.domain.errors import InvalidInput


class Stage(StrEnum):
    PROSPECT = "prospect"
    NEW_MEMBER = "new_member"
    FIRST_PURCHASE = "first_purchase"
    REPEAT = "repeat"
    LOYAL = "loyal"
    AT_RISK = "at_risk"
    DORMANT = "dormant"
    CHURNED = "churned"


@dataclass(frozen=True, slots=True)
class LifecycleWindows:
    """A workspace's thresholds, in days (and orders for loyalty)."""

    new_member_days: int = 30  # a member who joined this recently and has not bought yet
    at_risk_days: int = 90  # no order for longer than this
    dormant_days: int = 180
    churned_days: int = 365
    loyal_orders: int = 4  # this many orders …
    loyal_window_days: int = 365  # … within this many days

    def __post_init__(self) -> None:
        for f in fields(self):
            if not isinstance(getattr(self, f.name), int) or getattr(self, f.name) < 1:
                raise InvalidInput("must be a whole number of at least 1", field=f.name, value=getattr(self, f.name))
        if not self.at_risk_days < self.dormant_days < self.churned_days:
            raise InvalidInput(
                "at_risk_days < dormant_days < churned_days must hold",
                field="at_risk_days",
                value=(self.at_risk_days, self.dormant_days, self.churned_days),
            )

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> LifecycleWindows:
        """Read the ``lifecycle`` part of a workspace's settings; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InvalidInput(f"unknown lifecycle setting; known: {', '.join(sorted(known))}", value=unknown)
        return cls(**settings)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class LifecycleVerdict:
    stage: Stage
    reason: str


def stage_of(
    order_dates: Iterable[datetime],
    member_since: datetime | None,
    now: datetime,
    windows: LifecycleWindows | None = None,
) -> LifecycleVerdict:
    """The customer's stage at ``now`` and why. Orders after ``now`` are ignored (replays stay true)."""
    w = windows or LifecycleWindows()
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware", field="now", value=now)
    orders = sorted(d for d in order_dates if d <= now)
    if not orders:
        if member_since is not None and member_since <= now:
            joined = (now - member_since) // timedelta(days=1)
            if joined <= w.new_member_days:
                return LifecycleVerdict(Stage.NEW_MEMBER, f"joined {joined} days ago, no order yet")
            return LifecycleVerdict(Stage.PROSPECT, f"member for {joined} days, never ordered")
        return LifecycleVerdict(Stage.PROSPECT, "never ordered")
    idle = (now - orders[-1]) // timedelta(days=1)
    if idle > w.churned_days:
        return LifecycleVerdict(Stage.CHURNED, f"no order for {idle} days (> {w.churned_days})")
    if idle > w.dormant_days:
        return LifecycleVerdict(Stage.DORMANT, f"no order for {idle} days (> {w.dormant_days})")
    if idle > w.at_risk_days:
        return LifecycleVerdict(Stage.AT_RISK, f"no order for {idle} days (> {w.at_risk_days})")
    if len(orders) == 1:
        return LifecycleVerdict(Stage.FIRST_PURCHASE, f"one order, {idle} days ago")
    recent = sum(1 for d in orders if now - d <= timedelta(days=w.loyal_window_days))
    if recent >= w.loyal_orders:
        return LifecycleVerdict(Stage.LOYAL, f"{recent} orders in the last {w.loyal_window_days} days")
    return LifecycleVerdict(Stage.REPEAT, f"{len(orders)} orders, {recent} in the last {w.loyal_window_days} days")
