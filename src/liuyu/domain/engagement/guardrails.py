"""Guardrails for outbound messages: whether a send may go now, later, or not at all, and why.

Pure rules over plain facts that the caller gathers (consent log, suppression hits, complaints,
recent sentiment, earlier sends). Marketing goes through every rule; service messages respect the
suppression list and opt-outs; transactional messages (order, delivery, security notices that the
customer needs to receive) respect only the suppression list.

Reason codes (stored with every decision, see docs/messaging.md):

    suppressed           the phone, email or customer is on the workspace's suppression list
    opted_out            the customer's latest consent record for the channel is an opt-out
    no_consent           marketing needs an opt-in on the channel and there is none
    open_complaint       an open complaint conversation, or a complaint tag such as 已投诉
    negative_sentiment   a strongly negative message from the customer within the window
    frequency_cap        the workspace's marketing cap for the period is reached
    recent_purchase_in_category  the send promotes a ``category`` marked durable, which the
                         customer bought within that category's days (no fridge ads after a fridge)
    quiet_hours          not skipped: deferred to the end of the quiet hours (``not_before``)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from liuyu.domain.errors import InvalidInput

CHANNELS = ("email", "sms", "wechat_template", "webhook")
PURPOSES = ("marketing", "service", "transactional")
CONSENT_STATUSES = ("opt_in", "opt_out")
DEFAULT_TIMEZONE = "Asia/Shanghai"

SUPPRESSED = "suppressed"
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"
OPEN_COMPLAINT = "open_complaint"
NEGATIVE_SENTIMENT = "negative_sentiment"
FREQUENCY_CAP = "frequency_cap"
QUIET_HOURS = "quiet_hours"
RECENT_PURCHASE_IN_CATEGORY = "recent_purchase_in_category"
REASONS = (
    SUPPRESSED,
    OPTED_OUT,
    NO_CONSENT,
    OPEN_COMPLAINT,
    NEGATIVE_SENTIMENT,
    FREQUENCY_CAP,
    QUIET_HOURS,
    RECENT_PURCHASE_IN_CATEGORY,
)


def _clock(value: Any, name: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise InvalidInput("must be a local time HH:MM", field=name, value=value) from exc


def zone(name: str | None) -> ZoneInfo:
    """The named time zone, Asia/Shanghai when the name is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours with no marketing; ``start`` after ``end`` means the span crosses midnight."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, local: datetime) -> bool:
        now = local.time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends_after(self, local: datetime) -> datetime:
        """The end of the quiet span that holds ``local`` (an aware local time)."""
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        # Rebuild from the wall clock so a daylight-saving change in between keeps the local hour.
        return datetime.combine(end.date(), self.end, tzinfo=local.tzinfo)


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``limit`` marketing messages per customer in any ``days`` days, across all journeys."""

    limit: int
    days: int

    def reached(self, sent: Iterable[datetime], at: datetime) -> bool:
        since = at - timedelta(days=self.days)
        return sum(1 for when in sent if when > since) >= self.limit


@dataclass(frozen=True, slots=True)
class GuardrailSettings:
    """A workspace's guardrails; ``from_settings`` reads and checks the stored JSON."""

    caps: tuple[FrequencyCap, ...] = (FrequencyCap(2, 7),)
    quiet_hours: QuietHours | None = field(default_factory=QuietHours)
    timezone: str = DEFAULT_TIMEZONE
    marketing_consent: str = "opt_in"  # opt_in: an explicit opt-in is needed; opt_out: allowed unless opted out
    complaint_tags: tuple[str, ...] = ("已投诉",)
    negative_days: int = 7
    negative_score: float = 0.1  # a message whose positive probability is at most this is strongly negative
    durable_categories: Mapping[str, int] = field(default_factory=dict)  # category -> days without its promotion

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> GuardrailSettings:
        s = dict(settings or {})
        default = cls()
        caps = default.caps
        if "caps" in s:
            raw = s["caps"]
            if not isinstance(raw, list):
                raise InvalidInput("must be a list of {limit, days}", field="caps", value=raw)
            caps = tuple(_cap(item, f"caps[{i}]") for i, item in enumerate(raw))
        quiet = default.quiet_hours
        if "quiet_hours" in s:
            raw = s["quiet_hours"]
            if raw is None:
                quiet = None
            elif isinstance(raw, Mapping):
                quiet = QuietHours(
                    _clock(raw.get("start", "21:00"), "quiet_hours.start"),
                    _clock(raw.get("end", "08:00"), "quiet_hours.end"),
                )
            else:
                raise InvalidInput("must be {start, end} or null", field="quiet_hours", value=raw)
        timezone = str(s.get("timezone") or DEFAULT_TIMEZONE)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput("unknown time zone", field="timezone", value=timezone) from exc
        consent = s.get("marketing_consent", default.marketing_consent)
        if consent not in ("opt_in", "opt_out"):
            raise InvalidInput("must be opt_in or opt_out", field="marketing_consent", value=consent)
        tags = s.get("complaint_tags", list(default.complaint_tags))
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise InvalidInput("must be a list of tag names", field="complaint_tags", value=tags)
        days = s.get("negative_days", default.negative_days)
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise InvalidInput("must be a whole number of days, 0 or more", field="negative_days", value=days)
        score = s.get("negative_score", default.negative_score)
        if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
            raise InvalidInput("must be a probability between 0 and 1", field="negative_score", value=score)
        durable = s.get("durable_categories", {})
        if not isinstance(durable, Mapping) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 3650
            for k, v in durable.items()
        ):
            raise InvalidInput("must be {category: days from 1 to 3650}", field="durable_categories", value=durable)
        return cls(
            durable_categories={k.strip(): int(v) for k, v in durable.items()},
            caps=caps,
            quiet_hours=quiet,
            timezone=timezone,
            marketing_consent=str(consent),
            complaint_tags=tuple(t.strip() for t in tags),
            negative_days=days,
            negative_score=float(score),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "caps": [{"limit": c.limit, "days": c.days} for c in self.caps],
            "quiet_hours": None
            if self.quiet_hours is None
            else {"start": self.quiet_hours.start.strftime("%H:%M"), "end": self.quiet_hours.end.strftime("%H:%M")},
            "timezone": self.timezone,
            "marketing_consent": self.marketing_consent,
            "complaint_tags": list(self.complaint_tags),
            "negative_days": self.negative_days,
            "negative_score": self.negative_score,
            "durable_categories": dict(self.durable_categories),
        }

    @property
    def longest_cap_days(self) -> int:
        return max((c.days for c in self.caps), default=0)


def _cap(item: Any, where: str) -> FrequencyCap:
    if not isinstance(item, Mapping):
        raise InvalidInput("must be {limit, days}", field=where, value=item)
    limit, days = item.get("limit"), item.get("days")
    for name, value in (("limit", limit), ("days", days)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInput("must be a whole number, at least 1", field=f"{where}.{name}", value=value)
    return FrequencyCap(int(limit), int(days))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One entry of the consent log: who said what, when, where, and the proof."""

    channel: str
    status: str  # opt_in | opt_out
    at: datetime
    source: str
    evidence: str = ""


def latest_consent(records: Iterable[ConsentRecord], channel: str) -> ConsentRecord | None:
    """The record that counts: the latest by time (the later-recorded one on a tie)."""
    found: ConsentRecord | None = None
    for record in records:
        if record.channel == channel and (found is None or record.at >= found.at):
            found = record
    return found


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules look at for one customer and channel, gathered by the caller."""

    suppressed_by: str | None = None  # e.g. "phone +8613800000000"; None when not on the list
    consent: ConsentRecord | None = None
    complaint: str | None = None  # e.g. "conversation 12" or "tag 已投诉"
    negative_at: datetime | None = None  # the latest strongly negative message
    marketing_sent: Sequence[datetime] = ()  # when earlier marketing sends went (or will go)
    timezone: str | None = None  # the customer's own time zone, when known
    category: str | None = None  # the category the send promotes (its ``category`` variable)
    category_bought_at: datetime | None = None  # the customer's latest paid order with that category


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str | None = None
    detail: str = ""
    not_before: datetime | None = None  # UTC; set when quiet hours defer the send


def decide(purpose: str, channel: str, facts: Facts, settings: GuardrailSettings, now: datetime) -> Verdict:
    """Apply the rules in order; the first that stops the send gives the reason."""
    if facts.suppressed_by:
        return Verdict(False, SUPPRESSED, f"on the suppression list: {facts.suppressed_by}")
    if purpose == "transactional":
        return Verdict(True)
    consent = facts.consent
    if consent is not None and consent.status == "opt_out":
        return Verdict(False, OPTED_OUT, f"opted out of {channel} on {consent.at.isoformat()} via {consent.source}")
    if purpose != "marketing":
        return Verdict(True)
    if settings.marketing_consent == "opt_in" and (consent is None or consent.status != "opt_in"):
        return Verdict(False, NO_CONSENT, f"no opt-in recorded for {channel}")
    if facts.complaint:
        return Verdict(False, OPEN_COMPLAINT, facts.complaint)
    if facts.negative_at is not None and facts.negative_at > now - timedelta(days=settings.negative_days):
        return Verdict(False, NEGATIVE_SENTIMENT, f"strongly negative message at {facts.negative_at.isoformat()}")
    days = settings.durable_categories.get(facts.category or "")
    bought = facts.category_bought_at
    if days and bought is not None and bought > now - timedelta(days=days):
        detail = f"bought {facts.category} (durable, {days} days) on {bought.isoformat()}"
        return Verdict(False, RECENT_PURCHASE_IN_CATEGORY, detail)
    not_before = quiet_until(settings, facts.timezone, now)
    at = not_before or now
    for cap in settings.caps:
        if cap.reached(facts.marketing_sent, at):
            return Verdict(False, FREQUENCY_CAP, f"{cap.limit} marketing messages in {cap.days} days already")
    if not_before is not None:
        return Verdict(True, QUIET_HOURS, "deferred to the end of quiet hours", not_before)
    return Verdict(True)


def quiet_until(settings: GuardrailSettings, timezone: str | None, now: datetime) -> datetime | None:
    """When quiet hours hold at ``now`` in the customer's zone: their end in UTC; otherwise None."""
    if settings.quiet_hours is None:
        return None
    local = now.astimezone(zone(timezone or settings.timezone))
    if not settings.quiet_hours.contains(local):
        return None
    return settings.quiet_hours.ends_after(local).astimezone(UTC)
