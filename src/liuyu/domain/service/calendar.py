"""Business hours: when the service desk's clocks tick.

A calendar is a weekly schedule plus public holidays (days off) and 调休 make-up working days
(weekend days that are working days because a holiday was stretched). The domain takes both
sets as plain dates; ``liuyu.services.holidays`` builds them from the maintained ``holidays``
package. Times are UTC-aware on the way in and out; the schedule is read in the workspace's
own time zone, so "09:00-18:00" means nine in Shanghai whatever the server runs in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from liuyu.domain.errors import InvalidInput

DEFAULT_TIMEZONE = "Asia/Shanghai"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far the calendar looks for the next open hour before it decides it never opens.
MAX_DAYS_SEARCHED = 3 * 366

Hours = tuple[tuple[time, time], ...]


def require_aware(moment: datetime, what: str = "time") -> datetime:
    """Naive datetimes are ambiguous across time zones, so the service hub refuses them."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("must be timezone-aware (UTC)", field=what, value=moment)
    return moment.astimezone(UTC)


def _parse_hours(text: str, where: str) -> Hours:
    """'09:00-12:00,13:30-18:00' -> ((09:00, 12:00), (13:30, 18:00)); '' or 'closed' -> ().

    An end of 24:00 (or 00:00) means midnight at the end of the day.
    """
    text = text.strip()
    if text in {"", "closed"}:
        return ()
    spans = []
    for part in text.split(","):
        try:
            start_text, end_text = (piece.strip() for piece in part.split("-"))
            start = time.fromisoformat(start_text)
            end = time(0) if end_text == "24:00" else time.fromisoformat(end_text)
        except ValueError as exc:
            raise InvalidInput("hours look like 09:00-18:00", field=where, value=text) from exc
        if end <= start and end != time(0):
            raise InvalidInput("a span must end after it starts", field=where, value=part)
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in pairwise(spans):
        if end == time(0) or start < end:
            raise InvalidInput("spans must not overlap", field=where, value=text)
    return tuple(spans)


def _parse_days(key: str) -> list[int]:
    """'mon-fri' -> [0..4]; 'sat' -> [5]; 'mon,wed' -> [0, 2]."""
    days: list[int] = []
    for part in key.lower().split(","):
        part = part.strip()
        try:
            if "-" in part:
                first, last = (DAY_NAMES.index(p.strip()) for p in part.split("-"))
                days.extend(range(first, last + 1))
            else:
                days.append(DAY_NAMES.index(part))
        except ValueError as exc:
            raise InvalidInput(f"days are {', '.join(DAY_NAMES)} or a range like mon-fri", value=key) from exc
    return days


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """A weekly schedule with holidays and make-up working days, in one time zone."""

    weekly: Mapping[int, Hours]
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    timezone: str = DEFAULT_TIMEZONE
    #: Hours on a make-up working day; by default Monday's, as 调休 days follow a normal weekday.
    make_up_hours: Hours | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))

    @classmethod
    def from_config(
        cls,
        hours: Mapping[str, str],
        *,
        holidays: Iterable[date] = (),
        working_days: Iterable[date] = (),
        timezone: str = DEFAULT_TIMEZONE,
        make_up_hours: str | None = None,
    ) -> BusinessCalendar:
        """Build from the YAML shape ``{"mon-fri": "09:00-18:00", "sat": "10:00-16:00"}``."""
        weekly: dict[int, Hours] = {}
        for key, text in hours.items():
            for day in _parse_days(key):
                weekly[day] = _parse_hours(text, f"hours.{key}")
        make_up = None if make_up_hours is None else _parse_hours(make_up_hours, "make_up_hours")
        return cls(weekly, frozenset(holidays), frozenset(working_days), timezone, make_up)

    @classmethod
    def always_open(cls, timezone: str = DEFAULT_TIMEZONE) -> BusinessCalendar:
        """Round-the-clock desks (many marketplace shops answer 24/7) still use the same clock code."""
        return cls({day: ((time(0), time(0)),) for day in range(7)}, timezone=timezone)

    def hours_on(self, day: date) -> Hours:
        """The open spans of one local date: make-up days work, holidays rest, else the week decides."""
        if day in self.working_days:
            return self.make_up_hours if self.make_up_hours is not None else self.weekly.get(0, ())
        if day in self.holidays:
            return ()
        return self.weekly.get(day.weekday(), ())

    def _spans(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The open spans of one local date as UTC datetimes; an end of 00:00 means midnight."""
        for start, end in self.hours_on(day):
            opens = datetime.combine(day, start, self._zone)
            closes_day = day + timedelta(days=1) if end == time(0) else day
            closes = datetime.combine(closes_day, end, self._zone)
            yield opens.astimezone(UTC), closes.astimezone(UTC)

    def _spans_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open spans that end after ``moment``, clipped to start no earlier than it, in time order."""
        day = moment.astimezone(self._zone).date() - timedelta(days=1)
        for _ in range(MAX_DAYS_SEARCHED):
            for opens, closes in self._spans(day):
                if closes > moment:
                    yield max(opens, moment), closes
            day += timedelta(days=1)

    def is_open(self, moment: datetime) -> bool:
        moment = require_aware(moment)
        first = next(self._spans_from(moment), None)
        return first is not None and first[0] == moment

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of open hours has passed after ``start`` (an SLA due time)."""
        start = require_aware(start, "start")
        if duration < timedelta(0):
            raise InvalidInput("duration must not be negative", field="duration", value=duration)
        if duration == timedelta(0):
            return start
        left = duration
        for opens, closes in self._spans_from(start):
            if closes - opens >= left:
                return opens + left
            left -= closes - opens
        raise InvalidInput(f"the calendar has no open hours within {MAX_DAYS_SEARCHED} days", value=start)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open hours between two moments; zero when ``b`` is not after ``a``."""
        a, b = require_aware(a, "a"), require_aware(b, "b")
        total = timedelta(0)
        if b <= a:
            return total
        for opens, closes in self._spans_from(a):
            if opens >= b:
                break
            total += min(closes, b) - opens
        return total

    def next_open(self, moment: datetime) -> datetime:
        """The first open moment at or after ``moment``."""
        moment = require_aware(moment)
        for opens, _ in self._spans_from(moment):
            return opens
        raise InvalidInput(f"the calendar has no open hours within {MAX_DAYS_SEARCHED} days", value=moment)
