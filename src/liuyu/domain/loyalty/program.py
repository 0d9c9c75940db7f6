"""A loyalty program's settings and earn rules, as data.

Operators write programs in YAML or send them through the API; both arrive here as plain
mappings. ``load_program`` turns one into a validated ``Program`` or raises ``InvalidProgram``
naming every bad field by its path (``rules.2.points_per_yuan``) and why.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from liuyu.domain.errors import InvalidInput

RuleKind = Literal["base_rate", "channel_rate", "category_rate", "campaign", "first_order", "birthday", "review"]
RATE_KINDS = frozenset({"base_rate", "channel_rate", "category_rate"})
BONUS_KINDS = frozenset({"first_order", "birthday", "review"})

#: Channels the brand reaches directly; owned-channel coupons are redeemed only here.
DEFAULT_OWNED_CHANNELS = frozenset({"app", "miniprogram", "wechat", "wecom", "store", "web"})


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EarnRule(_Data):
    """One version of one rule; a later version with the same ``id`` replaces it from its ``effective_from``."""

    id: str = Field(min_length=1)
    kind: RuleKind
    effective_from: AwareDatetime
    effective_until: AwareDatetime | None = None
    points_per_yuan: Decimal | None = None
    multiplier: Decimal | None = None
    points: int | None = None
    channels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    max_per_day: int | None = Field(default=None, ge=1)  # review bonuses a member may earn per local day
    max_per_month: int | None = Field(default=None, ge=1)  # … and per calendar month
    description: str = ""

    def in_force(self, at: datetime) -> bool:
        """True while the rule's window covers ``at`` (the until bound is exclusive)."""
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)

    def matches(self, channel: str, category: str | None) -> bool:
        """An empty channel or category list means every channel or category."""
        return (not self.channels or channel in self.channels) and (
            not self.categories or (category is not None and category in self.categories)
        )


class ExpiryPolicy(_Data):
    """``days_after_earning`` uses ``days``; ``end_of_year`` expires at the end of the year ``years_after`` years on."""

    mode: Literal["never", "days_after_earning", "end_of_year"] = "end_of_year"
    days: int | None = None
    years_after: int = Field(default=1, ge=0, le=10)


class TierBenefits(_Data):
    """What a tier gives; see benefit.py for how they are offered and consumed."""

    discount_rate: Decimal = Decimal(1)  # 0.95 = pay 95 %
    free_shipping: bool = False
    birthday_gift: str | None = None
    priority_service: bool = False
    exclusive_coupons: tuple[str, ...] = ()
    points_multiplier: Decimal = Decimal(1)


class TierDefinition(_Data):
    """A rung of the tier ladder, reached at ``threshold`` of the program's basis."""

    code: str = Field(min_length=1)
    name: str = ""
    threshold: Decimal = Field(ge=0)
    benefits: TierBenefits = TierBenefits()


class TierPolicy(_Data):
    """Tiers qualify on activity in a rolling window, never on the current balance."""

    basis: Literal["points_earned", "spend", "order_count"] = "points_earned"
    window_days: int = Field(default=365, ge=1, le=3660)
    grace_days: int = Field(default=0, ge=0, le=3660)


class CouponTemplate(_Data):
    """What a coupon does and where it may be used; coupons are issued from it."""

    code: str = Field(min_length=1)
    name: str = ""
    kind: Literal["amount_off", "percent_off", "threshold", "free_shipping"]
    amount_off: Decimal | None = None
    percent_off: Decimal | None = None  # 10 = 10 % off
    threshold: Decimal | None = None  # 满200减30: threshold 200, amount_off 30
    categories: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    stackable: bool = False
    valid_days: int = Field(default=30, ge=1, le=3660)
    owned_channel_only: bool = False
    return_on_refund: bool | None = None  # None: the program's setting
    batch_codes: frozenset[str] = frozenset()  # shared codes (DOUBLE11) a member claims once for a coupon of this


class Program(_Data):
    """One loyalty program: its settings, tier ladder, rules and coupon templates."""

    code: str = Field(min_length=1)
    name: str = ""
    timezone: str = "Asia/Shanghai"
    return_window_days: int = Field(default=7, ge=0, le=365)
    allow_negative_balance: bool = False
    auto_enroll_on_first_order: bool = True
    return_coupons_on_refund: bool = False
    owned_channels: frozenset[str] = DEFAULT_OWNED_CHANNELS
    expiry: ExpiryPolicy = ExpiryPolicy()
    tier_policy: TierPolicy = TierPolicy()
    tiers: tuple[TierDefinition, ...] = (TierDefinition(code="MEMBER", threshold=Decimal(0)),)
    rules: tuple[EarnRule, ...] = ()
    coupon_templates: tuple[CouponTemplate, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        """Calendar boundaries (end of year, birthday month) are taken in the program's zone."""
        return ZoneInfo(self.timezone)

    def rules_in_force(self, at: datetime) -> tuple[EarnRule, ...]:
        """The newest version of each rule id that has started by ``at``, if its window still covers ``at``."""
        points, sets = self.rule_timeline
        i = bisect_right(points, at) - 1
        return sets[i] if i >= 0 else ()

    @cached_property
    def rule_timeline(self) -> tuple[tuple[datetime, ...], tuple[tuple[EarnRule, ...], ...]]:
        """The rules in force only change where a version starts or ends: one lookup per order in bulk posting."""
        points = sorted(
            {r.effective_from for r in self.rules} | {r.effective_until for r in self.rules if r.effective_until}
        )
        return tuple(points), tuple(self._scan_in_force(p) for p in points)

    def _scan_in_force(self, at: datetime) -> tuple[EarnRule, ...]:
        newest: dict[str, EarnRule] = {}
        for rule in self.rules:
            if rule.effective_from <= at and (
                rule.id not in newest or rule.effective_from > newest[rule.id].effective_from
            ):
                newest[rule.id] = rule
        return tuple(r for r in newest.values() if r.in_force(at))

    def tier(self, code: str) -> TierDefinition:
        """A tier by code; KeyError for a code the program no longer has."""
        for tier in self.tiers:
            if tier.code == code:
                return tier
        raise KeyError(code)

    def template(self, code: str) -> CouponTemplate:
        """A coupon template by code; KeyError when there is none."""
        for template in self.coupon_templates:
            if template.code == code:
                return template
        raise KeyError(code)

    def template_for_batch_code(self, code: str) -> CouponTemplate:
        """The template whose shared codes include ``code`` (as stored: upper case); KeyError when none."""
        for template in self.coupon_templates:
            if code in template.batch_codes:
                return template
        raise KeyError(code)

    @property
    def base_tier(self) -> TierDefinition:
        """Where every member starts."""
        return self.tiers[0]


class InvalidProgram(InvalidInput):
    """A program definition with one or more bad fields; ``problems`` lists them all."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(str(first["reason"]) + more, where="program", field=str(first["field"]), value=first["value"])


def load_program(data: Mapping[str, Any]) -> Program:
    """Validate a program given as plain data (parsed YAML or JSON); raise ``InvalidProgram`` on any bad field."""
    try:
        program = Program.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidProgram(
            [
                {"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"], "value": err.get("input")}
                for err in exc.errors()
            ]
        ) from None
    problems = _semantic_problems(program)
    if problems:
        raise InvalidProgram(problems)
    return program


def _semantic_problems(program: Program) -> list[dict[str, object]]:
    problems: list[dict[str, object]] = []

    def bad(field: str, reason: str, value: object) -> None:
        """Record one problem with the path of the field."""
        problems.append({"field": field, "reason": reason, "value": value})

    try:
        ZoneInfo(program.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", "not a known time zone", program.timezone)
    if program.expiry.mode == "days_after_earning" and (program.expiry.days is None or program.expiry.days < 1):
        bad("expiry.days", "days_after_earning needs days of at least 1", program.expiry.days)
    _tier_problems(program, bad)
    _rule_problems(program, bad)
    for i, template in enumerate(program.coupon_templates):
        _template_problems(template, f"coupon_templates.{i}", bad)
    codes = [t.code for t in program.coupon_templates]
    for i, code in enumerate(codes):
        if code in codes[:i]:
            bad(f"coupon_templates.{i}.code", "duplicate template code", code)
    shared: set[str] = set()
    for i, template in enumerate(program.coupon_templates):
        for code in sorted(template.batch_codes):
            if code != code.strip().upper() or not code.strip() or len(code) > 64:
                bad(f"coupon_templates.{i}.batch_codes", "batch codes are 1-64 characters in upper case", code)
            elif code in shared:
                bad(f"coupon_templates.{i}.batch_codes", "this batch code belongs to another template", code)
            shared.add(code)
    return problems


def _tier_problems(program: Program, bad: Any) -> None:
    if not program.tiers:
        bad("tiers", "a program needs at least one tier", [])
        return
    if program.tiers[0].threshold != 0:
        bad(
            "tiers.0.threshold", "the first tier must start at 0 so every member has a tier", program.tiers[0].threshold
        )
    templates = {t.code for t in program.coupon_templates}
    for i, tier in enumerate(program.tiers):
        if i and tier.threshold <= program.tiers[i - 1].threshold:
            bad(f"tiers.{i}.threshold", "thresholds must increase from tier to tier", tier.threshold)
        if tier.code in [t.code for t in program.tiers[:i]]:
            bad(f"tiers.{i}.code", "duplicate tier code", tier.code)
        rate = tier.benefits.discount_rate
        if not Decimal(0) < rate <= 1:
            bad(f"tiers.{i}.benefits.discount_rate", "must be above 0 and at most 1 (0.95 = pay 95 %)", rate)
        if tier.benefits.points_multiplier <= 0:
            bad(f"tiers.{i}.benefits.points_multiplier", "must be above 0", tier.benefits.points_multiplier)
        for j, code in enumerate(tier.benefits.exclusive_coupons):
            if code not in templates:
                bad(f"tiers.{i}.benefits.exclusive_coupons.{j}", "no coupon template has this code", code)


def _rule_problems(program: Program, bad: Any) -> None:
    seen: dict[tuple[str, datetime], int] = {}
    kinds: dict[str, str] = {}
    for i, rule in enumerate(program.rules):
        path = f"rules.{i}"
        if (rule.id, rule.effective_from) in seen:
            bad(f"{path}.effective_from", f"rule {rule.id!r} already has a version from this time", rule.effective_from)
        seen[(rule.id, rule.effective_from)] = i
        if kinds.setdefault(rule.id, rule.kind) != rule.kind:
            bad(f"{path}.kind", f"a new version of rule {rule.id!r} must keep kind {kinds[rule.id]!r}", rule.kind)
        if rule.effective_until is not None and rule.effective_until <= rule.effective_from:
            bad(f"{path}.effective_until", "must be after effective_from", rule.effective_until)
        if rule.kind in RATE_KINDS and (rule.points_per_yuan is None or rule.points_per_yuan < 0):
            bad(f"{path}.points_per_yuan", f"{rule.kind} needs points_per_yuan of 0 or more", rule.points_per_yuan)
        if rule.kind == "channel_rate" and not rule.channels:
            bad(f"{path}.channels", "channel_rate needs at least one channel", [])
        if rule.kind == "category_rate" and not rule.categories:
            bad(f"{path}.categories", "category_rate needs at least one category", [])
        if rule.kind == "campaign":
            if rule.multiplier is None or rule.multiplier <= 0:
                bad(f"{path}.multiplier", "a campaign needs a multiplier above 0", rule.multiplier)
            if rule.effective_until is None:
                bad(f"{path}.effective_until", "a campaign needs an end (effective_until)", None)
        if rule.kind in BONUS_KINDS and (rule.points is None or rule.points <= 0):
            bad(f"{path}.points", f"a {rule.kind} bonus needs points above 0", rule.points)
        for cap in ("max_per_day", "max_per_month"):
            if getattr(rule, cap) is not None and rule.kind != "review":
                bad(f"{path}.{cap}", "only review bonuses have a cap (birthdays are once a year)", getattr(rule, cap))


def _template_problems(t: CouponTemplate, path: str, bad: Any) -> None:
    if t.kind in {"amount_off", "threshold"} and (t.amount_off is None or t.amount_off <= 0):
        bad(f"{path}.amount_off", f"{t.kind} needs amount_off above 0", t.amount_off)
    if t.kind == "threshold" and (t.threshold is None or t.amount_off is None or t.threshold <= t.amount_off):
        bad(f"{path}.threshold", "a threshold offer needs a threshold above its amount_off (满200减30)", t.threshold)
    if t.kind == "percent_off" and (t.percent_off is None or not Decimal(0) < t.percent_off < 100):
        bad(f"{path}.percent_off", "percent_off needs a value between 0 and 100", t.percent_off)
