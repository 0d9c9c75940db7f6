"""Members: who joined the program, where, when, and what they agreed to.

A member number is printed on cards and read out on the hotline, so it is short, all digits and
carries a Luhn check digit that catches a mistyped digit or two swapped neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import CHANNELS
from liuyu.domain.loyalty.program import Program


@dataclass(frozen=True, slots=True)
class Consents:
    """What the member agreed to; marketing on each channel needs its own yes (PIPL)."""

    marketing_sms: bool = False
    marketing_wechat: bool = False
    marketing_email: bool = False
    data_sharing: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    """One membership: one per person once customers are merged."""

    customer_id: int
    member_no: str
    program: str
    join_channel: str
    joined_at: datetime
    consents: Consents = Consents()
    birthday: date | None = None
    enrolled_by: str = "explicit"  # or "first_order"


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return str((10 - total % 10) % 10)


def member_number(prefix: str, sequence: int) -> str:
    """The member number for the ``sequence``-th member: numeric prefix, zero-padded sequence, check digit."""
    if not prefix.isdigit() or sequence < 1:
        raise InvalidInput("a member number needs a numeric prefix and a sequence from 1", value=f"{prefix}/{sequence}")
    body = f"{prefix}{sequence:08d}"
    return body + _luhn_digit(body)


def is_member_number(text: str) -> bool:
    """True when the check digit matches: catches typos before a lookup."""
    return len(text) >= 2 and text.isdigit() and _luhn_digit(text[:-1]) == text[-1]


def enroll(
    program: Program,
    customer_id: int,
    *,
    member_no: str,
    channel: str,
    at: datetime,
    consents: Consents = Consents(),
    birthday: date | None = None,
    enrolled_by: str = "explicit",
) -> Member:
    """A new member, checked: a known channel, a valid member number and a time with a zone."""
    if channel not in CHANNELS:
        raise InvalidInput("unknown channel", field="join_channel", value=channel)
    if not is_member_number(member_no):
        raise InvalidInput("not a valid member number (check digit)", field="member_no", value=member_no)
    if at.tzinfo is None:
        raise InvalidInput("the join time must carry a time zone", field="joined_at", value=at)
    return Member(customer_id, member_no, program.code, channel, at, consents, birthday, enrolled_by)


def enroll_on_first_order(
    program: Program, existing: Member | None, customer_id: int, *, member_no: str, channel: str, at: datetime
) -> Member | None:
    """Enroll a buyer on their first order where the program says so; None when not a member and not enrolled."""
    if existing is not None:
        return existing
    if not program.auto_enroll_on_first_order:
        return None
    return enroll(program, customer_id, member_no=member_no, channel=channel, at=at, enrolled_by="first_order")


def update_consents(member: Member, consents: Consents) -> Member:
    """Consent changes replace the flags; the caller records when and through which channel."""
    return replace(member, consents=consents)


def merged_member(winner: Member, loser: Member) -> Member:
    """One person, one membership: the earliest join counts, the winner's number stays, consents stay separate.

    Consents are not combined: a yes given under one identity is not a yes for the other's
    channels, so the winner keeps its own flags (the loser's stay on its record for an unmerge).
    """
    if loser.joined_at < winner.joined_at:
        return replace(winner, joined_at=loser.joined_at, join_channel=loser.join_channel)
    return winner


def parse_birthday(text: str | None) -> date | None:
    """A birthday as channels send it (``1990-05-12``, ``1990/5/12``, ``19900512``); None when unreadable.

    A year-less ``05-12`` is kept with year 2000 (a leap year, so 29 February survives): only the
    month and day matter for birthday bonuses and gifts.
    """
    if not text:
        return None
    raw = text.strip().replace("/", "-").replace(".", "-")
    if raw.isdigit() and len(raw) == 8:
        raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    parts = raw.split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 2:
            return date(2000, numbers[0], numbers[1])
        if len(numbers) == 3 and 1900 <= numbers[0] <= 2100:
            return date(numbers[0], numbers[1], numbers[2])
    except ValueError:
        return None
    return None


def birthday_ref(member: Member, at: datetime, program: Program) -> str | None:
    """The idempotency reference of this year's birthday bonus, when ``at`` falls in the birthday month."""
    if member.birthday is None:
        return None
    local = at.astimezone(program.zone)
    if local.month != member.birthday.month:
        return None
    return f"{member.customer_id}:{local.year}"
