"""SLA clocks (时效): first response, next response and resolution targets on business hours.

A clock starts when the customer starts waiting, ticks only in open hours, stands still while
the conversation or ticket is pending on the customer (the wait is theirs, not ours), and stops
when the target event happens. Breaches and warnings fire escalation actions once each: the
caller keeps the ids of the escalations it already applied, so re-evaluating is idempotent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from liuyu.domain.service.calendar import DEFAULT_TIMEZONE, BusinessCalendar, require_aware

Metric = Literal["first_response", "next_response", "resolution"]
METRICS: tuple[Metric, ...] = ("first_response", "next_response", "resolution")
ClockState = Literal["running", "paused", "met", "breached"]
Pause = tuple[datetime, datetime | None]


class SlaTargets(BaseModel):
    """Minutes of (business) time allowed per metric; None means the metric is not measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_response_minutes: int | None = Field(default=None, gt=0)
    next_response_minutes: int | None = Field(default=None, gt=0)
    resolution_minutes: int | None = Field(default=None, gt=0)

    def target(self, metric: Metric) -> timedelta | None:
        minutes = getattr(self, f"{metric}_minutes")
        return None if minutes is None else timedelta(minutes=minutes)


class EscalationAction(BaseModel):
    """What to do on a breach: ``to`` names the queue or agent for reassign, the supervisor for notify."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["raise_priority", "notify_supervisor", "reassign"]
    to: str | None = None


class EscalationRule(BaseModel):
    """Fire ``actions`` when ``metric`` breaches, or ``before_minutes`` ahead of the breach (a warning)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Metric
    #: Not called "on": YAML 1.1 reads a bare `on:` key as the boolean true.
    trigger: Literal["breach", "warning"] = "breach"
    before_minutes: int = Field(default=0, ge=0)
    actions: tuple[EscalationAction, ...]

    @property
    def warning_margin(self) -> timedelta:
        return timedelta(minutes=self.before_minutes)

    @property
    def id(self) -> str:
        return f"{self.metric}:{self.trigger}" + (f":{self.before_minutes}" if self.trigger == "warning" else "")


class SlaPolicy(BaseModel):
    """One SLA policy of a workspace; ``by_priority`` overrides targets for urgent work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    business_hours: bool = True
    targets: SlaTargets
    by_priority: dict[str, SlaTargets] = Field(default_factory=dict)
    escalations: tuple[EscalationRule, ...] = ()

    def target(self, metric: Metric, priority: str) -> timedelta | None:
        override = self.by_priority.get(priority)
        if override is not None and override.target(metric) is not None:
            return override.target(metric)
        return self.targets.target(metric)


@dataclass(frozen=True, slots=True)
class SlaFacts:
    """What a conversation or ticket tells the clocks; each builds these from its own history."""

    opened_at: datetime
    first_response_at: datetime | None = None
    awaiting_reply_since: datetime | None = None  # oldest unanswered customer message after the first reply
    resolved_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()  # (pending since, pending until or None while still pending)
    priority: str = "normal"


@dataclass(frozen=True, slots=True)
class SlaClock:
    metric: Metric
    target: timedelta
    started_at: datetime
    stopped_at: datetime | None
    due_at: datetime | None  # None while paused: the due time moves until the customer answers
    elapsed: timedelta  # counted time: open hours, pauses excluded
    paused: timedelta
    state: ClockState
    timezone: str = DEFAULT_TIMEZONE  # the workspace's, for showing the due time to people

    @property
    def remaining(self) -> timedelta:
        return self.target - self.elapsed

    def explain(self) -> str:
        """One line for the ticket view and the audit trail."""
        minutes = int(self.target.total_seconds() // 60)
        used = int(self.elapsed.total_seconds() // 60)
        text = f"{self.metric}: {self.state}, {used} of {minutes} business minutes used"
        if self.paused:
            text += f", {int(self.paused.total_seconds() // 60)} min paused while pending on the customer"
        if self.due_at is not None:
            local = self.due_at.astimezone(ZoneInfo(self.timezone))
            text += f", due {local:%Y-%m-%d %H:%M} {self.timezone}"
        return text


@dataclass(frozen=True, slots=True)
class Escalation:
    """One action to apply because a clock breached (or is about to)."""

    rule_id: str
    metric: Metric
    action: EscalationAction
    reason: str
    key: str  # rule id and clock start: a new customer wait can escalate again, the same one cannot


def _clip_pauses(pauses: Sequence[Pause], start: datetime, stop: datetime | None) -> list[Pause]:
    """Pauses inside [start, stop], sorted and merged; a pause still open when the clock stopped ends there."""
    clipped: list[Pause] = []
    for begin, end in sorted(pauses, key=lambda p: p[0]):
        if end is None and stop is not None:
            end = stop
        if end is not None and end <= start:
            continue
        if stop is not None and begin >= stop:
            continue
        begin = max(begin, start)
        if clipped and (clipped[-1][1] is None or clipped[-1][1] >= begin):
            last_begin, last_end = clipped.pop()
            end = None if last_end is None or end is None else max(last_end, end)
            begin = last_begin
        clipped.append((begin, end))
    return clipped


def _counted(calendar: BusinessCalendar, start: datetime, end: datetime, pauses: Sequence[Pause]) -> timedelta:
    total = calendar.business_time_between(start, end)
    for begin, pause_end in pauses:
        total -= calendar.business_time_between(begin, min(pause_end or end, end))
    return total


def _due(calendar: BusinessCalendar, start: datetime, target: timedelta, pauses: Sequence[Pause]) -> datetime | None:
    """Walk the stretches between pauses until the target is used up; None if a pause is still open."""
    left, cursor = target, start
    for begin, end in pauses:
        available = calendar.business_time_between(cursor, begin)
        if left <= available:
            return calendar.add_business_time(cursor, left)
        left -= available
        if end is None:
            return None
        cursor = max(cursor, end)
    return calendar.add_business_time(cursor, left)


def measure(
    metric: Metric,
    target: timedelta,
    start: datetime,
    stop: datetime | None,
    pauses: Sequence[Pause],
    calendar: BusinessCalendar,
    now: datetime,
) -> SlaClock:
    """One clock: due time, time used, and whether it is running, paused, met or breached."""
    now = require_aware(now, "now")
    pauses = _clip_pauses(pauses, start, stop)
    end = stop if stop is not None else now
    elapsed = _counted(calendar, start, end, pauses)
    paused = sum((calendar.business_time_between(b, min(e or end, end)) for b, e in pauses), timedelta(0))
    due = _due(calendar, start, target, pauses)
    if stop is not None:
        state: ClockState = "met" if elapsed <= target else "breached"
    elif due is None:
        state = "paused"
    else:
        state = "breached" if now > due else "running"
    return SlaClock(metric, target, start, stop, due, elapsed, paused, state, calendar.timezone)


def evaluate(policy: SlaPolicy, facts: SlaFacts, calendar: BusinessCalendar, now: datetime) -> dict[Metric, SlaClock]:
    """Every clock the policy measures for one conversation or ticket at ``now``."""
    if not policy.business_hours:
        calendar = BusinessCalendar.always_open(calendar.timezone)
    clocks: dict[Metric, SlaClock] = {}
    spans: dict[Metric, tuple[datetime | None, datetime | None]] = {
        "first_response": (facts.opened_at, facts.first_response_at),
        "next_response": (facts.awaiting_reply_since, None),
        "resolution": (facts.opened_at, facts.resolved_at),
    }
    for metric in METRICS:
        target = policy.target(metric, facts.priority)
        start, stop = spans[metric]
        if target is None or start is None:
            continue
        if metric == "next_response" and facts.resolved_at is not None:
            continue
        clocks[metric] = measure(metric, target, start, stop, facts.pauses, calendar, now)
    return clocks


def escalations_due(policy: SlaPolicy, clocks: dict[Metric, SlaClock], fired: Collection[str]) -> list[Escalation]:
    """Escalations whose trigger has been reached and whose key is not in ``fired`` (applied before)."""
    due: list[Escalation] = []
    for rule in policy.escalations:
        clock = clocks.get(rule.metric)
        if clock is None:
            continue
        key = f"{rule.id}@{clock.started_at.isoformat()}"
        if key in fired:
            continue
        if rule.trigger == "breach" and clock.state == "breached":
            reason = f"{rule.metric} breached: {clock.explain()}"
        elif rule.trigger == "warning" and clock.state == "running" and clock.remaining <= rule.warning_margin:
            reason = f"{rule.metric} due within {rule.before_minutes} min: {clock.explain()}"
        else:
            continue
        due.extend(Escalation(rule.id, rule.metric, action, reason, key) for action in rule.actions)
    return due
