"""Tiers: qualified by activity in a rolling window, never by the current balance.

A member who spends points must not lose their tier for it, so the qualifying value is points
*earned* (net of refunds), spend, or order count in the last ``window_days``. An upgrade applies
at once; a downgrade only at a periodic review, and with a grace period only at the first review
that finds the member still below after the grace has run out. Every change keeps its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from liuyu.domain.loyalty.program import Program, TierDefinition


@dataclass(frozen=True, slots=True)
class Activity:
    """What one order or bonus contributes to tier qualification."""

    at: datetime
    points_earned: int = 0
    spend: Decimal = Decimal(0)
    orders: int = 0


@dataclass(frozen=True, slots=True)
class TierChange:
    """One entry of the tier history: from, to, when and why."""

    at: datetime
    from_tier: str | None
    to_tier: str
    reason: str
    basis: str
    value: Decimal


@dataclass(slots=True)
class TierState:
    """The member's tier now and how they got there."""

    code: str
    history: list[TierChange] = field(default_factory=list)
    below_since: datetime | None = None  # first review that found the member below their tier


def qualifying_value(activities: Iterable[Activity], program: Program, at: datetime) -> Decimal:
    """The member's qualifying value over the window ending at ``at`` (inclusive), on the program's basis."""
    policy = program.tier_policy
    start = at - timedelta(days=policy.window_days)
    value = Decimal(0)
    for activity in activities:
        if not start < activity.at <= at:
            continue
        if policy.basis == "points_earned":
            value += activity.points_earned
        elif policy.basis == "spend":
            value += activity.spend
        else:
            value += activity.orders
    return value


def tier_for(program: Program, value: Decimal) -> TierDefinition:
    """The highest tier whose threshold the value reaches."""
    reached = program.base_tier
    for tier in program.tiers:
        if value >= tier.threshold:
            reached = tier
    return reached


def rank(program: Program, code: str) -> int:
    """Position of a tier in the ladder; a tier no longer in the program ranks lowest."""
    for i, tier in enumerate(program.tiers):
        if tier.code == code:
            return i
    return -1


def start(program: Program, at: datetime, reason: str = "enrolled") -> TierState:
    """Every member starts in the base tier."""
    code = program.base_tier.code
    return TierState(code, [TierChange(at, None, code, reason, program.tier_policy.basis, Decimal(0))])


def evaluate(state: TierState, program: Program, value: Decimal, at: datetime, *, review: bool) -> TierChange | None:
    """Apply the tier rules for a qualifying value at ``at``; return the change made, if any."""
    target = tier_for(program, value)
    basis = program.tier_policy.basis
    window = program.tier_policy.window_days
    current, wanted = rank(program, state.code), rank(program, target.code)
    if wanted > current:
        state.below_since = None
        reason = f"upgrade: {basis} {value} in {window} days reached {target.threshold}"
        return _change(state, at, target.code, reason, basis, value)
    if wanted == current:
        if review:
            state.below_since = None
        return None
    if not review:
        return None
    grace = timedelta(days=program.tier_policy.grace_days)
    if grace and state.below_since is None:
        state.below_since = at
        return None
    if grace and state.below_since is not None and at < state.below_since + grace:
        return None
    state.below_since = None
    reason = f"review: {basis} {value} in {window} days is below the threshold of {state.code}"
    if grace:
        reason += f" after a grace of {program.tier_policy.grace_days} days"
    return _change(state, at, target.code, reason, basis, value)


def force(
    state: TierState, program: Program, code: str, at: datetime, reason: str, value: Decimal
) -> TierChange | None:
    """Set a tier outside the normal rules (a merge or an unmerge), keeping the reason."""
    if code == state.code:
        return None
    state.below_since = None
    return _change(state, at, code, reason, program.tier_policy.basis, value)


def _change(state: TierState, at: datetime, code: str, reason: str, basis: str, value: Decimal) -> TierChange:
    change = TierChange(at, state.code, code, reason, basis, value)
    state.code = code
    state.history.append(change)
    return change


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the member is from the next tier, for the member card."""

    tier: str
    value: Decimal
    next_tier: str | None
    next_threshold: Decimal | None
    remaining: Decimal


def progress(program: Program, code: str, value: Decimal) -> Progress:
    """The tier right above ``code`` and what is still missing to reach it; no next tier at the top."""
    above = rank(program, code) + 1
    if above >= len(program.tiers):
        return Progress(code, value, None, None, Decimal(0))
    nxt = program.tiers[above]
    return Progress(code, value, nxt.code, nxt.threshold, max(Decimal(0), nxt.threshold - value))
