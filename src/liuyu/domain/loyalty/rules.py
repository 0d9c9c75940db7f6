"""Earning points by rules, with an explanation a member or an agent can read.

Per order line the most specific rate in force applies (category and channel > category >
channel > base), then the best campaign multiplier in force for that line, then the member's
tier multiplier; the product is rounded down per line. Bonuses (first order, birthday, review)
are flat points. Rules are chosen by the time the order was paid, so a rule change only affects
orders paid after its ``effective_from``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from liuyu.domain.loyalty.program import RATE_KINDS, EarnRule, Program


@dataclass(frozen=True, slots=True)
class PaidLine:
    """One order line as the rules see it."""

    line_id: str
    amount: Decimal  # what the customer paid for this line, after discounts
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """One rule's part in an earning: which rule version, on which inputs, for how many points."""

    rule_id: str
    kind: str
    version: datetime
    points: int
    inputs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain data for the ledger entry and the console."""
        return {
            "rule": self.rule_id,
            "kind": self.kind,
            "version": self.version.isoformat(),
            "points": self.points,
            "inputs": dict(self.inputs),
        }


@dataclass(frozen=True, slots=True)
class Earning:
    """The points an order or bonus earns, and why."""

    points: int
    applied: tuple[Applied, ...] = ()

    def explain(self) -> list[dict[str, object]]:
        """The explanation stored on the ledger entry and shown in the console."""
        return [a.as_dict() for a in self.applied]


def _specificity(rule: EarnRule) -> tuple[int, int]:
    return (1 if rule.categories else 0, 1 if rule.channels else 0)


def rate_rule(rules: tuple[EarnRule, ...], channel: str, category: str | None) -> EarnRule | None:
    """The most specific rate rule for a line; ties go to the newest version, then the rule id, for determinism."""
    candidates = [r for r in rules if r.kind in RATE_KINDS and r.matches(channel, category)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (_specificity(r), r.effective_from, r.id))


def campaign_rule(rules: tuple[EarnRule, ...], channel: str, category: str | None) -> EarnRule | None:
    """Campaigns do not compound: the highest multiplier in force for the line wins."""
    candidates = [r for r in rules if r.kind == "campaign" and r.matches(channel, category)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.multiplier or Decimal(0), r.id))


def earn_for_order(
    program: Program,
    *,
    channel: str,
    paid_at: datetime,
    lines: tuple[PaidLine, ...],
    tier_code: str,
    first_order: bool,
) -> Earning:
    """Points for one paid order under the rules in force when it was paid."""
    rules = program.rules_in_force(paid_at)
    try:
        tier_multiplier = program.tier(tier_code).benefits.points_multiplier
    except KeyError:
        tier_multiplier = Decimal(1)
    applied: list[Applied] = []
    total = 0
    for line in lines:
        if line.amount <= 0:
            continue
        rate = rate_rule(rules, channel, line.category)
        if rate is None or rate.points_per_yuan is None:
            continue
        campaign = campaign_rule(rules, channel, line.category)
        multiplier = campaign.multiplier if campaign and campaign.multiplier else Decimal(1)
        points = math.floor(line.amount * rate.points_per_yuan * multiplier * tier_multiplier)
        total += points
        inputs = {
            "line": line.line_id,
            "amount": str(line.amount),
            "channel": channel,
            "category": line.category or "",
            "points_per_yuan": str(rate.points_per_yuan),
            "campaign": campaign.id if campaign else "",
            "campaign_multiplier": str(multiplier),
            "tier": tier_code,
            "tier_multiplier": str(tier_multiplier),
        }
        applied.append(Applied(rate.id, rate.kind, rate.effective_from, points, inputs))
    if first_order:
        for rule in rules:
            if rule.kind == "first_order" and rule.points and rule.matches(channel, None):
                total += rule.points
                applied.append(Applied(rule.id, rule.kind, rule.effective_from, rule.points, {"channel": channel}))
    return Earning(total, tuple(applied))


def bonus_rule(program: Program, kind: str, at: datetime, *, channel: str = "other") -> EarnRule | None:
    """The bonus rule of this kind in force at ``at`` for the channel (lowest id first, for determinism)."""
    for rule in sorted(program.rules_in_force(at), key=lambda r: r.id):
        if rule.kind == kind and rule.points and (not rule.channels or channel in rule.channels):
            return rule
    return None


def bonus(
    program: Program, kind: str, at: datetime, *, channel: str = "other", detail: dict[str, str] | None = None
) -> Earning:
    """Flat bonus points (birthday, review) under the rules in force at ``at``; zero when none applies."""
    rule = bonus_rule(program, kind, at, channel=channel)
    if rule is None or not rule.points:
        return Earning(0)
    inputs = {"channel": channel, **(detail or {})}
    return Earning(rule.points, (Applied(rule.id, rule.kind, rule.effective_from, rule.points, inputs),))
