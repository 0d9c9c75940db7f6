"""Benefits (权益): what a member may have now, asked the same way by every channel.

Standing benefits (discount rate, free shipping, priority service, points multiplier) hold as
long as the tier does. Consumable ones are taken once per period: the birthday gift once a year
in the birthday month, each exclusive coupon once per tier per year. A consumption is keyed so
that a POS retry or a second channel cannot take the same benefit twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from liuyu.domain.errors import Conflict, NotFound
from liuyu.domain.loyalty.member import Member
from liuyu.domain.loyalty.program import Program


@dataclass(frozen=True, slots=True)
class Benefit:
    """One benefit the member may have now; consumable ones carry the key they are taken under."""

    kind: str  # discount_rate, free_shipping, priority_service, points_multiplier, birthday_gift, exclusive_coupon
    tier: str
    value: str
    once_key: str | None = None  # set for consumable benefits: the key a consumption is recorded under
    used: bool = False

    @property
    def consumable(self) -> bool:
        """Standing benefits apply while the tier holds; consumable ones are taken once."""
        return self.once_key is not None


@dataclass(frozen=True, slots=True)
class BenefitConsumed:
    """The record storage keeps so the same benefit is never taken twice."""

    customer_id: int
    kind: str
    key: str
    value: str
    at: datetime
    channel: str


def benefits_now(
    program: Program, member: Member, tier_code: str, at: datetime, used: Iterable[str] = ()
) -> list[Benefit]:
    """Everything the member's tier gives at ``at``, consumable ones marked ``used`` when already taken."""
    used_keys = set(used)
    try:
        perks = program.tier(tier_code).benefits
    except KeyError:
        perks = program.base_tier.benefits
        tier_code = program.base_tier.code
    year = at.astimezone(program.zone).year
    out: list[Benefit] = []
    if perks.discount_rate < 1:
        out.append(Benefit("discount_rate", tier_code, str(perks.discount_rate)))
    if perks.free_shipping:
        out.append(Benefit("free_shipping", tier_code, "true"))
    if perks.priority_service:
        out.append(Benefit("priority_service", tier_code, "true"))
    if perks.points_multiplier != Decimal(1):
        out.append(Benefit("points_multiplier", tier_code, str(perks.points_multiplier)))
    local = at.astimezone(program.zone)
    if perks.birthday_gift and member.birthday is not None and local.month == member.birthday.month:
        key = f"birthday_gift:{member.customer_id}:{year}"
        out.append(Benefit("birthday_gift", tier_code, perks.birthday_gift, key, key in used_keys))
    for code in perks.exclusive_coupons:
        key = f"exclusive_coupon:{member.customer_id}:{tier_code}:{code}:{year}"
        out.append(Benefit("exclusive_coupon", tier_code, code, key, key in used_keys))
    return out


def consume(
    program: Program,
    member: Member,
    tier_code: str,
    kind: str,
    at: datetime,
    used: Iterable[str],
    *,
    channel: str,
    value: str | None = None,
) -> BenefitConsumed:
    """Take one consumable benefit once; a second request for the same one is a Conflict."""
    for benefit in benefits_now(program, member, tier_code, at, used):
        if benefit.kind != kind or (value is not None and benefit.value != value):
            continue
        if not benefit.consumable:
            raise Conflict(f"{kind} is a standing benefit of {tier_code}: it is applied, not consumed")
        if benefit.used:
            raise Conflict(f"{kind} {benefit.value} was already taken ({benefit.once_key})")
        return BenefitConsumed(member.customer_id, kind, benefit.once_key or "", benefit.value, at, channel)
    raise NotFound(f"tier {tier_code} gives no {kind}{f' {value}' if value else ''} to this member now")
