"""Follow-ups (跟单) driven by order status: what to do about one order, now.

Pure decisions over an order snapshot, its parcel and the follow-ups already done; the caller
(a scheduled job) sends the messages, opens the tickets and records them as done, so running the
job twice never sends twice. Messages to customers wait for the end of quiet hours; internal work
(a logistics ticket) does not. When a parcel goes wrong, the customer hears from us before they
have to ask: the notice comes first in the list, beside the ticket that chases the carrier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from liuyu.domain.orders import Order
from liuyu.domain.service.calendar import DEFAULT_TIMEZONE, require_aware

FollowupKind = Literal["payment_reminder", "logistics_notice", "logistics_ticket", "satisfaction_survey"]
FollowupRule = Literal["payment_reminder", "logistics", "satisfaction_survey"]


class QuietHours(BaseModel):
    """No marketing or reminder messages between ``start`` and ``end`` local time (may span midnight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(21, 0)
    end: time = time(9, 0)
    timezone: str = DEFAULT_TIMEZONE

    def contains(self, moment: datetime) -> bool:
        local = require_aware(moment).astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` itself when outside quiet hours, else the moment quiet hours end."""
        moment = require_aware(moment)
        if not self.contains(moment):
            return moment
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, zone).astimezone(moment.tzinfo)


class FollowupRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: tuple[FollowupRule, ...] = ("payment_reminder", "logistics", "satisfaction_survey")
    payment_reminder_after_minutes: int = Field(default=30, gt=0)
    #: Marketplaces close unpaid orders (Tmall after 24 h by default); reminding later is noise.
    payment_reminder_until_hours: int = Field(default=24, gt=0)
    stale_tracking_hours: int = Field(default=48, gt=0)
    survey_after_hours: int = Field(default=24, ge=0)
    quiet_hours: QuietHours | None = QuietHours()


@dataclass(frozen=True, slots=True)
class Parcel:
    """The carrier's latest word on the order's parcel."""

    tracking_no: str
    status: Literal["in_transit", "delivered", "returned", "exception"]
    last_update_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FollowupAction:
    kind: FollowupKind
    order_id: str
    at: datetime  # when to do it: now, or when quiet hours end
    reason: str


def _customer_message(rules: FollowupRules, now: datetime) -> tuple[datetime, str]:
    if rules.quiet_hours is None or not rules.quiet_hours.contains(now):
        return now, ""
    return rules.quiet_hours.next_allowed(now), " (held until quiet hours end)"


def _payment_reminder(order: Order, rules: FollowupRules, now: datetime) -> FollowupAction | None:
    if order.status != "pending_payment" or order.placed_at is None:
        return None
    waited = now - order.placed_at
    if waited < timedelta(minutes=rules.payment_reminder_after_minutes):
        return None
    at, held = _customer_message(rules, now)
    if at - order.placed_at > timedelta(hours=rules.payment_reminder_until_hours):
        return None
    minutes = int(waited.total_seconds() // 60)
    reason = f"unpaid {minutes} min after it was placed (rule: remind after {rules.payment_reminder_after_minutes})"
    return FollowupAction("payment_reminder", order.order_id, at, reason + held)


def _logistics(parcel: Parcel, rules: FollowupRules, now: datetime) -> str | None:
    """Why the parcel needs chasing, or None."""
    if parcel.status == "returned":
        return f"parcel {parcel.tracking_no} returned to sender"
    if parcel.status == "exception":
        return f"carrier reports a problem with parcel {parcel.tracking_no}"
    silent = now - parcel.last_update_at
    if parcel.status == "in_transit" and silent >= timedelta(hours=rules.stale_tracking_hours):
        hours = int(silent.total_seconds() // 3600)
        return f"no tracking update on {parcel.tracking_no} for {hours} h (rule: {rules.stale_tracking_hours} h)"
    return None


def decide(
    order: Order,
    parcel: Parcel | None,
    done: AbstractSet[str],
    rules: FollowupRules,
    now: datetime,
) -> list[FollowupAction]:
    """The follow-ups this order needs at ``now`` that were not done before (``done`` holds their kinds)."""
    now = require_aware(now, "now")
    if order.status in {"cancelled", "refunded"}:
        return []
    actions: list[FollowupAction] = []
    if "payment_reminder" in rules.enabled:
        reminder = _payment_reminder(order, rules, now)
        if reminder is not None:
            actions.append(reminder)
    trouble = None if parcel is None or "logistics" not in rules.enabled else _logistics(parcel, rules, now)
    if trouble is not None:
        at, held = _customer_message(rules, now)
        actions.append(FollowupAction("logistics_notice", order.order_id, at, trouble + held))
        actions.append(FollowupAction("logistics_ticket", order.order_id, now, trouble))
    if "satisfaction_survey" in rules.enabled:
        survey = _survey(order, parcel, rules, now)
        if survey is not None:
            actions.append(survey)
    return [action for action in actions if action.kind not in done]


def _survey(order: Order, parcel: Parcel | None, rules: FollowupRules, now: datetime) -> FollowupAction | None:
    """Ask how it went a while after delivery; a completed order without parcel data counts as delivered."""
    if parcel is not None and parcel.status == "delivered":
        delivered_at = parcel.delivered_at or parcel.last_update_at
    elif order.status == "completed" and order.completed_at is not None:
        delivered_at = order.completed_at
    else:
        return None
    if now - delivered_at < timedelta(hours=rules.survey_after_hours):
        return None
    at, held = _customer_message(rules, now)
    return FollowupAction("satisfaction_survey", order.order_id, at, f"delivered {delivered_at.isoformat()}{held}")


@dataclass(frozen=True, slots=True)
class ReminderReport:
    """How many payment reminders went out and how many of those orders were paid afterwards."""

    sent: int
    paid_after: int

    @property
    def conversion(self) -> float:
        return 0.0 if self.sent == 0 else round(self.paid_after / self.sent, 4)


def reminder_report(sent_at: Mapping[str, datetime], orders: Iterable[Order]) -> ReminderReport:
    """``sent_at`` maps order id to when its reminder went out; ``orders`` are the latest snapshots."""
    paid_after = sum(
        1
        for order in orders
        if order.order_id in sent_at and order.paid_at is not None and order.paid_at >= sent_at[order.order_id]
    )
    return ReminderReport(len(sent_at), paid_after)
