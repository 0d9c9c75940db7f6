"""Journeys as data: a trigger, keyed steps, a goal, a re-entry policy and a control group.

The definition is plain data (read and written by ``journey_format``). The state machine is
pure: given a step and the time, it says where the customer goes next and when; who is held out
and whether a customer may enter again. Storage runs it set-wise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from liuyu.domain.engagement.segment import Node

END = "end"
ACTIONS = ("send", "webhook", "coupon", "points", "tag", "ticket")
STEP_KINDS = ("wait", "branch", *ACTIONS)
TRIGGER_KINDS = ("event", "segment", "date", "schedule")
# birthday recurs yearly; first_order and last_order come once; points_expiry (a points lot of the
# member center expires that day) and tier_upgrade (the member moved up a tier that day) recur.
DATE_TRAITS = ("birthday", "first_order", "last_order", "points_expiry", "tier_upgrade")
#: Send variables whose value is filled per customer when the step runs: ``{category: "@suggested_category"}``.
COMPUTED_VARIABLES = ("@suggested_category",)
CHANNELS = ("email", "sms", "wechat_template", "webhook")
PURPOSES = ("marketing", "service", "transactional")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_STEPS = 100
MAX_CONTROL_PERCENT = 50
DEFAULT_TRIGGER_AGE = timedelta(days=1)  # older events (imports of history) start nobody's journey


# -- the definition -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFilter:
    """An event by name (``order_paid`` or a custom event's name) with equality tests on its fields."""

    event: str
    where: Mapping[str, str | int | float | bool] = field(default_factory=dict)

    def matches(self, name: str, fields: Mapping[str, Any]) -> bool:
        return name == self.event and all(_same(fields.get(k), v) for k, v in self.where.items())


def _same(seen: object, wanted: object) -> bool:
    if seen is None:
        return False
    if isinstance(wanted, bool) or isinstance(seen, bool):
        return bool(seen) == bool(wanted) and type(seen) is type(wanted)
    return str(seen) == str(wanted)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What starts the journey: one of an event, a segment entry, a date trait, a schedule."""

    kind: str
    event: EventFilter | None = None
    max_age: timedelta = DEFAULT_TRIGGER_AGE
    segment: str | None = None  # a saved segment's name
    date: str | None = None  # one of DATE_TRAITS
    offset_days: int = 0  # birthday -3: three days before
    at: time = time(10, 0)  # local time a date or schedule trigger fires
    every: str | None = None  # day | week | month
    weekday: int | None = None  # 0 = Monday
    day: int | None = None  # day of the month


@dataclass(frozen=True, slots=True)
class Goal:
    event: EventFilter
    within: timedelta


@dataclass(frozen=True, slots=True)
class Step:
    """One keyed step; ``kind`` says which of the fields matter. ``next`` overrides list order."""

    key: str
    kind: str
    next: str | None = None
    wait: timedelta | None = None
    until: time | None = None
    condition: Node | None = None
    then: str | None = None
    otherwise: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Journey:
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    goal: Goal | None = None
    audience: Node | None = None
    reentry: str = "never"  # never | always | after
    reentry_after: timedelta | None = None
    control_percent: float = 0.0
    timezone: str = "Asia/Shanghai"
    description: str = ""

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    @property
    def first(self) -> str:
        return self.steps[0].key

    def after(self, key: str) -> str | None:
        """The key of the step that follows ``key`` when nothing branches (None: the journey ends)."""
        step = self.step(key)
        if step.next is not None:
            return None if step.next == END else step.next
        index = next(i for i, s in enumerate(self.steps) if s.key == key)
        return self.steps[index + 1].key if index + 1 < len(self.steps) else None

    def branch_to(self, key: str, result: bool) -> str | None:
        step = self.step(key)
        target = step.then if result else step.otherwise
        if target is None:
            return self.after(key)
        return None if target == END else target


# -- the state machine ----------------------------------------------------------------------


def wait_until(step: Step, arrived: datetime, timezone: str) -> datetime:
    """When a customer who reached wait ``step`` at ``arrived`` moves on: after the duration, then at
    the next ``until`` local time (today's if it is still ahead)."""
    moment = arrived + (step.wait or timedelta(0))
    if step.until is None:
        return moment
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    target = datetime.combine(local.date(), step.until, tzinfo=zone)
    if target < local:
        target = datetime.combine(local.date() + timedelta(days=1), step.until, tzinfo=zone)
    return target.astimezone(arrived.tzinfo)


def in_control(journey_id: int, customer_id: int, percent: float) -> bool:
    """Whether a customer is held out: a hash of (journey, customer), so every rebuild and worker agrees."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"journey:{journey_id}:customer:{customer_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64 * 100  # uniform in [0, 100)
    return bucket < percent


def may_enter(journey: Journey, previous: Sequence[tuple[datetime, bool]], now: datetime) -> tuple[bool, str]:
    """Whether the re-entry policy lets a customer in, from their (entered at, still running) history."""
    if not previous:
        return True, "first entry"
    if any(running for _, running in previous):
        return False, "already in this journey"
    if journey.reentry == "never":
        return False, "re-entry: never"
    if journey.reentry == "after":
        assert journey.reentry_after is not None
        last = max(at for at, _ in previous)
        if now - last < journey.reentry_after:
            return False, f"re-entry: not before {journey.reentry_after.days} days after {last:%Y-%m-%d}"
    return True, "re-entry allowed"


def occurrence(trigger: Trigger, now: datetime, timezone: str) -> date | None:
    """The local day of a date or schedule trigger's occurrence that has come by ``now`` today, if any.

    One occurrence a day at most; a worker that was stopped the whole day misses that day's run.
    """
    local = now.astimezone(ZoneInfo(timezone))
    if local.time() < trigger.at:
        return None
    today = local.date()
    if trigger.kind == "schedule":
        if trigger.every == "week" and today.weekday() != trigger.weekday:
            return None
        if trigger.every == "month" and today.day != trigger.day:
            return None
    return today


def target_day(trigger: Trigger, day: date) -> date:
    """The trait date a date trigger looks for on ``day``: offset -3 fires three days before it."""
    return day - timedelta(days=trigger.offset_days)


def birthday_keys(target: date) -> tuple[str, ...]:
    """Month-day texts (``MM-DD``) that count as a birthday on ``target``; 29 February is kept on the
    28th in years without one."""
    keys = [f"{target.month:02d}-{target.day:02d}"]
    if target.month == 2 and target.day == 28 and not _leap(target.year):
        keys.append("02-29")
    return tuple(keys)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
