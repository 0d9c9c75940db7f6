"""The member card: what a member, an agent or a POS sees at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from liuyu.domain.loyalty import tier as tiers
from liuyu.domain.loyalty.account import MemberAccount
from liuyu.domain.loyalty.lots import expiry_schedule


@dataclass(frozen=True, slots=True)
class MemberCard:
    """Everything the member card in the customer 360 shows about points and tier."""

    customer_id: int
    available: int
    pending: int
    debt: int
    tier: str
    progress: tiers.Progress
    next_expiry: tuple[datetime, int] | None
    expiring: tuple[tuple[datetime, int], ...]


def member_card(account: MemberAccount, at: datetime) -> MemberCard:
    """Balances, tier with progress to the next (qualifying value as of ``at``), and what expires when."""
    value = tiers.qualifying_value(account.activities(), account.program, at)
    schedule = tuple(expiry_schedule(list(account.lots.values())))  # lots due but not yet expired included
    return MemberCard(
        customer_id=account.primary,
        available=account.available,
        pending=account.pending,
        debt=account.debt,
        tier=account.tier.code,
        progress=tiers.progress(account.program, account.tier.code, value),
        next_expiry=schedule[0] if schedule else None,
        expiring=schedule,
    )
