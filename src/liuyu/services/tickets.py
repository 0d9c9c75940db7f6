"""Tickets (工单) as use cases: open, change, transfer, resolve, reopen, and escalate on breach.

The rules are the domain's (``domain/service/ticket.py``, ``routing.py``, ``sla.py``); this module
loads a ticket's row into a ``Ticket``, lets the domain change it, and writes back the new state
with the new audit lines in one transaction. Each write checks the version it read, so two agents
never overwrite each other, and the escalation job takes its tickets with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL (SQLite has one writer), so overlapping runs escalate a breach once.
SLA due times are kept on the row, so queues sort by them and the job looks only at tickets
whose next check has come.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from liuyu.domain.errors import Conflict, InvalidInput, NotFound
from liuyu.domain.service.calendar import DEFAULT_TIMEZONE, BusinessCalendar, require_aware
from liuyu.domain.service.followup import FollowupRules
from liuyu.domain.service.routing import RoutingFacts, RoutingTable, route
from liuyu.domain.service.rules import parse_rules
from liuyu.domain.service.sla import METRICS, SlaClock, SlaPolicy, escalations_due, evaluate
from liuyu.domain.service.ticket import PRIORITIES, TICKET_TRANSITIONS, CustomField, Ticket, TicketCategory
from liuyu.services.holidays import china_days_off

#: Where a ticket came from.
SOURCES = ("conversation", "api", "rule", "followup", "journey", "console")
STATUSES = tuple(TICKET_TRANSITIONS)
LIVE = ("open", "pending")
#: Follow-ups that send the customer a message (their texts can be replaced in the settings).
FOLLOWUP_MESSAGES = ("payment_reminder", "logistics_notice", "satisfaction_survey")
_STATE_RANK = {"breached": 3, "running": 2, "paused": 1, "met": 0}

DEFAULT_CATEGORIES = (
    TicketCategory(name="售后"),
    TicketCategory(name="物流", fields=(CustomField(name="快递单号"),)),
    TicketCategory(
        name="质量",
        fields=(
            CustomField(name="批次号"),
            CustomField(name="故障类型", kind="choice", choices=("做工瑕疵", "功能故障", "与描述不符", "其他")),
        ),
    ),
    TicketCategory(name="财务", fields=(CustomField(name="退款金额", kind="number"),)),
)
DEFAULT_ROUTING: dict[str, Any] = {
    "default_queue": "售后",
    "rules": [
        {"name": "质量类工单", "priority": 30, "when": {"category": "质量"}, "queue": "质量"},
        {"name": "物流类工单", "priority": 30, "when": {"category": "物流"}, "queue": "物流"},
        {"name": "财务类工单", "priority": 30, "when": {"category": "财务"}, "queue": "财务"},
        {
            "name": "质量问题",
            "priority": 20,
            "when": {"intent": ["quality_problem", "repair_warranty"]},
            "queue": "质量",
        },
        {"name": "物流快递", "priority": 10, "when": {"intent": "shipping_logistics"}, "queue": "物流"},
        {"name": "退款发票", "priority": 10, "when": {"intent": ["return_refund", "payment_invoice"]}, "queue": "财务"},
        {"name": "投诉", "priority": 5, "when": {"intent": "complaint"}, "queue": "售后", "set_priority": "high"},
    ],
}
DEFAULT_SLA: dict[str, Any] = {
    "name": "标准",
    "business_hours": True,
    "targets": {"first_response_minutes": 60, "next_response_minutes": 120, "resolution_minutes": 1440},
    "by_priority": {"urgent": {"first_response_minutes": 15, "resolution_minutes": 240}},
    "escalations": [
        {"metric": "first_response", "trigger": "breach", "actions": [{"kind": "notify_supervisor"}]},
        {
            "metric": "resolution",
            "trigger": "breach",
            "actions": [{"kind": "raise_priority"}, {"kind": "notify_supervisor"}, {"kind": "reassign"}],
        },
    ],
}


class TicketSettings(BaseModel):
    """A workspace's ticket desk: departments, categories, routing, SLA, hours and follow-ups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: tuple[str, ...] = ("售后", "物流", "质量", "财务")
    categories: tuple[TicketCategory, ...] = DEFAULT_CATEGORIES
    default_category: str = "售后"
    routing: RoutingTable = Field(default_factory=lambda: RoutingTable.model_validate(DEFAULT_ROUTING))
    sla: SlaPolicy = Field(default_factory=lambda: SlaPolicy.model_validate(DEFAULT_SLA))
    hours: dict[str, str] = Field(default_factory=lambda: {"mon-fri": "09:00-18:00", "sat": "10:00-16:00"})
    make_up_hours: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    #: Who hears about a breach when an escalation action names nobody.
    supervisor: str = "主管"
    followups: FollowupRules = FollowupRules()
    #: Replace the built-in follow-up messages; ``{order_id}`` (and ``{problem}`` for the notice) are filled in.
    followup_texts: dict[str, str] = Field(default_factory=dict)

    @field_validator("followup_texts")
    @classmethod
    def _texts_fill_in(cls, texts: dict[str, str]) -> dict[str, str]:
        for kind, text in texts.items():
            if kind not in FOLLOWUP_MESSAGES:
                raise ValueError(f"{kind!r} is not one of {', '.join(FOLLOWUP_MESSAGES)}")
            try:
                text.format(order_id="1", problem="x")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"{kind}: only {{order_id}} and {{problem}} can be filled in ({exc})") from exc
        return texts

    def category(self, name: str) -> TicketCategory:
        found = next((c for c in self.categories if c.name == name), None)
        if found is None:
            choices = ", ".join(c.name for c in self.categories)
            raise InvalidInput(f"unknown category; use one of {choices}", field="category", value=name)
        return found

    def known_queues(self) -> list[str]:
        named = [*self.queues, self.routing.default_queue, *(r.queue for r in self.routing.rules)]
        named += [a.to for e in self.sla.escalations for a in e.actions if a.kind == "reassign" and a.to]
        return list(dict.fromkeys(named))


class TicketUnitOfWork(Protocol):
    """What tickets need of a unit of work (``liuyu.storage.uow.SqlUnitOfWork`` is one)."""

    tickets: Any
    service: Any

    def commit(self) -> None: ...


# -- settings and the calendar -------------------------------------------------------------------


def load_settings(uow: TicketUnitOfWork, workspace_id: int) -> TicketSettings:
    stored = uow.tickets.settings(workspace_id)
    return TicketSettings() if stored is None else parse_rules(TicketSettings, stored, "ticket settings")


def save_settings(uow: TicketUnitOfWork, workspace_id: int, data: Mapping[str, Any], now: datetime) -> TicketSettings:
    """Check the whole configuration (errors name the field path) and store it."""
    settings = parse_rules(TicketSettings, dict(data), "ticket settings")
    calendar_for(settings, now)  # bad hours fail here, not in the job at night
    uow.tickets.save_settings(workspace_id, settings.model_dump(mode="json", exclude_defaults=False), now)
    return settings


@lru_cache(maxsize=64)
def _calendar(
    hours: tuple[tuple[str, str], ...], make_up: str | None, timezone: str, years: tuple[int, ...]
) -> BusinessCalendar:
    days_off, working_days = china_days_off(years)
    return BusinessCalendar.from_config(
        dict(hours), holidays=days_off, working_days=working_days, timezone=timezone, make_up_hours=make_up
    )


def calendar_for(settings: TicketSettings, now: datetime) -> BusinessCalendar:
    """Business hours with mainland holidays and 调休 for last year, this year and the next."""
    year = now.year
    return _calendar(
        tuple(sorted(settings.hours.items())), settings.make_up_hours, settings.timezone, (year - 1, year, year + 1)
    )


# -- rows and domain tickets ---------------------------------------------------------------------


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _category(settings: TicketSettings, name: str) -> TicketCategory:
    """The configured category; one removed from the settings since keeps its name and no fields."""
    return next((c for c in settings.categories if c.name == name), TicketCategory(name=name))


def _to_domain(row: Mapping[str, Any], settings: TicketSettings) -> Ticket:
    """A stored ticket as the domain's ``Ticket``, with an empty trail: new lines are the ones to write."""
    return Ticket(
        id=str(row["id"]),
        subject=row["subject"],
        category=_category(settings, row["category"]),
        queue=row["queue"],
        opened_at=row["opened_at"],
        priority=row["priority"],
        status=row["status"],
        assignee=row["assignee"],
        customer_id=None if row["customer_id"] is None else str(row["customer_id"]),
        conversation_id=None if row["conversation_id"] is None else str(row["conversation_id"]),
        order_id=row["order_id"],
        fields=dict(row["fields"] or {}),
        escalations_fired=set(row["escalations_fired"] or []),
        first_response_at=row["first_response_at"],
        awaiting_reply_since=row["awaiting_reply_since"],
        resolved_at=row["resolved_at"],
        pauses=[(_time(a), _time(b)) for a, b in row["pauses"] or []],  # type: ignore[misc]
    )


def _state_values(ticket: Ticket) -> dict[str, Any]:
    return {
        "category": ticket.category.name,
        "fields": {name: str(value) for name, value in ticket.fields.items()},
        "priority": ticket.priority,
        "status": ticket.status,
        "queue": ticket.queue,
        "assignee": ticket.assignee,
        "first_response_at": ticket.first_response_at,
        "awaiting_reply_since": ticket.awaiting_reply_since,
        "resolved_at": ticket.resolved_at,
        "pauses": [[a.isoformat(), None if b is None else b.isoformat()] for a, b in ticket.pauses],
        "escalations_fired": sorted(ticket.escalations_fired),
    }


def clocks_of(ticket: Ticket, settings: TicketSettings, now: datetime) -> dict[str, SlaClock]:
    return dict(evaluate(settings.sla, ticket.sla_facts(), calendar_for(settings, now), now))


def _sla_values(ticket: Ticket, settings: TicketSettings, now: datetime) -> dict[str, Any]:
    """Due times per clock, the worst state, the soonest due, and when the job must look again."""
    clocks = clocks_of(ticket, settings, now)
    values: dict[str, Any] = {f"{m}_due_at": clocks[m].due_at if m in clocks else None for m in METRICS}
    values["sla_state"] = max((c.state for c in clocks.values()), key=_STATE_RANK.__getitem__, default="none")
    live = ticket.status in LIVE
    dues = [c.due_at for c in clocks.values() if c.due_at is not None and c.state in ("running", "breached")]
    values["sla_due_at"] = min(dues) if live and dues else None
    values["sla_check_at"] = _next_check(ticket, settings, clocks, now) if live else None
    return values


def _next_check(
    ticket: Ticket, settings: TicketSettings, clocks: Mapping[str, SlaClock], now: datetime
) -> datetime | None:
    """The first moment a clock breaches or a warning comes due; None when nothing is left to watch."""
    calendar = calendar_for(settings, now)
    if not settings.sla.business_hours:
        calendar = BusinessCalendar.always_open(calendar.timezone)
    moments: list[datetime] = []
    fired = ticket.fired_escalations
    for clock in clocks.values():
        if clock.state == "running" and clock.due_at is not None:
            moments.append(clock.due_at + timedelta(seconds=1))  # a clock is breached strictly after its due time
    for rule in settings.sla.escalations:
        clock = clocks.get(rule.metric)
        if clock is None or f"{rule.id}@{clock.started_at.isoformat()}" in fired:
            continue
        if clock.state == "breached" and rule.trigger == "breach":
            moments.append(now)
        elif clock.state == "running" and rule.trigger == "warning":
            ahead = clock.remaining - rule.warning_margin
            moments.append(now if ahead <= timedelta(0) else calendar.add_business_time(now, ahead))
    return min(moments, default=None)


def _change_rows(workspace_id: int, ticket_id: int, ticket: Ticket) -> list[dict[str, Any]]:
    return [
        {
            "workspace_id": workspace_id,
            "ticket_id": ticket_id,
            "at": change.at,
            "actor": change.actor[:200],
            "action": change.action,
            "old": None if change.old is None else str(change.old),
            "new": None if change.new is None else str(change.new),
            "reason": change.reason,
        }
        for change in ticket.history
    ]


def _save(
    uow: TicketUnitOfWork, row: Mapping[str, Any], ticket: Ticket, settings: TicketSettings, now: datetime
) -> None:
    values = _state_values(ticket) | _sla_values(ticket, settings, now) | {"updated_at": now}
    if not uow.tickets.update_ticket(row["id"], row["version"], values):
        raise Conflict(f"ticket {row['id']} was changed by someone else meanwhile; load it again")
    uow.tickets.add_changes(_change_rows(row["workspace_id"], row["id"], ticket))


def _load(uow: TicketUnitOfWork, workspace_id: int, ticket_id: int) -> tuple[dict[str, Any], Ticket, TicketSettings]:
    row = uow.tickets.ticket(workspace_id, ticket_id, lock=True)
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    settings = load_settings(uow, workspace_id)
    return row, _to_domain(row, settings), settings


# -- opening -------------------------------------------------------------------------------------


def _routing_facts(
    uow: TicketUnitOfWork,
    workspace_id: int,
    category: str,
    customer_id: int | None,
    order_id: str | None,
    conversation: Mapping[str, Any] | None,
    intent: str | None,
    channel: str | None,
) -> RoutingFacts:
    tier = uow.tickets.member_tier(workspace_id, customer_id) if customer_id is not None else None
    products = uow.tickets.order_products(workspace_id, order_id) if order_id else ()
    return RoutingFacts(
        channel=channel or (conversation or {}).get("channel"),
        intent=intent or (conversation or {}).get("intent"),
        category=category,
        member_tier=tier,
        products=products,
    )


def open_ticket(
    uow: TicketUnitOfWork,
    workspace_id: int,
    *,
    customer_id: int | None,
    subject: str,
    category: str | None = None,
    conversation_id: int | None = None,
    order_id: str | None = None,
    source: str,
    actor: str,
    now: datetime,
    fields: Mapping[str, object] | None = None,
    priority: str = "normal",
    queue: str | None = None,
    intent: str | None = None,
    channel: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Open a ticket and route it (unless ``queue`` is chosen); returns the stored ticket.

    From a conversation, the customer, the order and the intent of the customer's latest message
    come from it when not given. Routing looks at intent, category, channel, member tier and the
    order's products, and its explanation is the ticket's first ``routed`` audit line. Does not
    commit: the caller commits the unit of work.
    """
    now = require_aware(now, "now")
    subject = (subject or "").strip()
    if not subject or len(subject) > 300:
        raise InvalidInput("a subject of 1-300 characters is needed", field="subject", value=subject or None)
    if source not in SOURCES:
        raise InvalidInput(f"use one of {', '.join(SOURCES)}", field="source", value=source)
    settings = load_settings(uow, workspace_id)
    conversation = None
    if conversation_id is not None:
        conversation = uow.tickets.conversation_facts(workspace_id, conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {conversation_id}")
        customer_id = customer_id if customer_id is not None else conversation["customer_id"]
        order_id = order_id or conversation["order_id"]
    if customer_id is not None and not uow.tickets.customer_exists(workspace_id, customer_id):
        raise NotFound(f"no customer {customer_id}")
    if customer_id is None and order_id:
        customer_id = uow.tickets.order_customer(workspace_id, order_id)
    chosen = settings.category(category or settings.default_category)
    if queue is not None and queue not in settings.known_queues():
        choices = ", ".join(settings.known_queues())
        raise InvalidInput(f"unknown queue; use one of {choices}", field="queue", value=queue)
    ticket = Ticket.open(
        "new",
        subject,
        chosen,
        queue=queue or settings.routing.default_queue,
        at=now,
        actor=actor,
        priority=priority,
        fields=dict(fields or {}),
        customer_id=None if customer_id is None else str(customer_id),
        conversation_id=None if conversation_id is None else str(conversation_id),
        order_id=order_id,
        reason=reason or f"opened from {source}" + (f"; queue {queue} chosen by {actor}" if queue else ""),
    )
    rule, explanation = None, f"queue {queue} chosen by {actor}"
    if queue is None:
        facts = _routing_facts(uow, workspace_id, chosen.name, customer_id, order_id, conversation, intent, channel)
        decision = route(settings.routing, facts)
        ticket.apply_routing(decision, now)
        rule, explanation = decision.rule, decision.explain()
    values = {
        "workspace_id": workspace_id,
        "subject": subject,
        "customer_id": customer_id,
        "conversation_id": conversation_id,
        "order_id": order_id,
        "source": source,
        "routing_rule": rule,
        "routing_explanation": explanation,
        "opened_at": now,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    values |= _state_values(ticket) | _sla_values(ticket, settings, now)
    ticket_id = uow.tickets.insert_ticket(values)
    uow.tickets.add_changes(_change_rows(workspace_id, ticket_id, ticket))
    return dict(uow.tickets.ticket(workspace_id, ticket_id))


# -- changing ------------------------------------------------------------------------------------

UNCHANGED: Any = object()


def change_ticket(
    uow: TicketUnitOfWork,
    workspace_id: int,
    ticket_id: int,
    *,
    actor: str,
    now: datetime,
    status: str | None = None,
    priority: str | None = None,
    assignee: str | None = UNCHANGED,
    category: str | None = None,
    fields: Mapping[str, object] | None = None,
    responded: bool = False,
    customer_wrote: bool = False,
    reason: str = "",
) -> dict[str, Any]:
    """Apply the given changes in one go; each is its own audit line. ``assignee=None`` unassigns."""
    now = require_aware(now, "now")
    row, ticket, settings = _load(uow, workspace_id, ticket_id)
    if category is not None and category != ticket.category.name:
        ticket.recategorize(settings.category(category), now, actor, reason)
    for name, value in (fields or {}).items():
        ticket.set_field(name, value, now, actor, reason)
    if priority is not None and priority != ticket.priority:
        ticket.set_priority(priority, now, actor, reason)
    if assignee is not UNCHANGED and assignee != ticket.assignee:
        ticket.assign(assignee, now, actor, reason)
    if customer_wrote:
        ticket.customer_replied(now)
    if responded:
        ticket.reply(now, actor)
    if status is not None and status != ticket.status:
        ticket.set_status(status, now, actor, reason)
    if ticket.history:
        _save(uow, row, ticket, settings, now)
    return dict(uow.tickets.ticket(workspace_id, ticket_id))


def transfer_ticket(
    uow: TicketUnitOfWork, workspace_id: int, ticket_id: int, *, to_queue: str, reason: str, actor: str, now: datetime
) -> dict[str, Any]:
    """Hand the ticket to another department with a reason; the history stays with it."""
    now = require_aware(now, "now")
    row, ticket, settings = _load(uow, workspace_id, ticket_id)
    if to_queue not in settings.known_queues():
        raise InvalidInput(
            f"unknown queue; use one of {', '.join(settings.known_queues())}", field="to_queue", value=to_queue
        )
    ticket.transfer(to_queue, now, actor, reason)
    _save(uow, row, ticket, settings, now)
    return dict(uow.tickets.ticket(workspace_id, ticket_id))


def resolve_ticket(
    uow: TicketUnitOfWork, workspace_id: int, ticket_id: int, *, actor: str, now: datetime, reason: str = ""
) -> dict[str, Any]:
    return change_ticket(uow, workspace_id, ticket_id, actor=actor, now=now, status="resolved", reason=reason)


def reopen_ticket(
    uow: TicketUnitOfWork, workspace_id: int, ticket_id: int, *, actor: str, now: datetime, reason: str = ""
) -> dict[str, Any]:
    """A resolved ticket opens again and its resolution clock runs again; anything else is a conflict."""
    row = uow.tickets.ticket(workspace_id, ticket_id)
    if row is not None and row["status"] != "resolved":
        raise Conflict(f"ticket {ticket_id} is {row['status']}; only a resolved ticket can be reopened")
    return change_ticket(uow, workspace_id, ticket_id, actor=actor, now=now, status="open", reason=reason)


# -- reading -------------------------------------------------------------------------------------


def sla_view(row: Mapping[str, Any], settings: TicketSettings, now: datetime) -> list[dict[str, Any]]:
    """Each clock with its state, due time and the sentence that explains it."""
    clocks = clocks_of(_to_domain(row, settings), settings, now)
    return [
        {
            "metric": clock.metric,
            "state": clock.state,
            "due_at": clock.due_at,
            "target_minutes": int(clock.target.total_seconds() // 60),
            "elapsed_minutes": int(clock.elapsed.total_seconds() // 60),
            "explanation": clock.explain(),
        }
        for clock in clocks.values()
    ]


def ticket_view(uow: TicketUnitOfWork, workspace_id: int, ticket_id: int, now: datetime) -> dict[str, Any]:
    """The ticket, its live SLA clocks and its whole audit trail, oldest first."""
    row = uow.tickets.ticket(workspace_id, ticket_id)
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    settings = load_settings(uow, workspace_id)
    return {"ticket": row, "sla": sla_view(row, settings, now), "history": uow.tickets.changes(ticket_id)}


def sla_now(row: Mapping[str, Any], now: datetime) -> str:
    """The state a list shows: a running clock past its due time is breached even before the job looks."""
    if row["status"] in LIVE and row["sla_due_at"] is not None and row["sla_due_at"] < now:
        return "breached"
    return str(row["sla_state"])


# -- escalation ----------------------------------------------------------------------------------


#: Senders of outbound messages that are not an agent answering (order follow-ups).
NOT_AGENTS = ("followup",)


def _take_conversation_reply(uow: TicketUnitOfWork, ticket: Ticket) -> None:
    """An agent who answered in the linked conversation has answered the ticket: no false breach."""
    waiting = ticket.awaiting_reply_since
    if ticket.conversation_id is None or waiting is None or ticket.status not in LIVE:
        return
    found = uow.tickets.agent_reply_after(int(ticket.conversation_id), waiting, NOT_AGENTS)
    if found is not None:
        ticket.reply(found["sent_at"], found["sender"] or "agent")


def escalate_due(uow: TicketUnitOfWork, now: datetime, *, limit: int = 200) -> int:
    """Re-check the clocks of tickets whose check time has come and apply due escalations once.

    Returns the number of escalation actions applied. Supervisors get a notification row each.
    """
    now = require_aware(now, "now")
    applied = 0
    settings_of: dict[int, TicketSettings] = {}
    for row in uow.tickets.due_for_check(now, limit):
        workspace_id = row["workspace_id"]
        if workspace_id not in settings_of:
            settings_of[workspace_id] = load_settings(uow, workspace_id)
        settings = settings_of[workspace_id]
        ticket = _to_domain(row, settings)
        _take_conversation_reply(uow, ticket)
        clocks = evaluate(settings.sla, ticket.sla_facts(), calendar_for(settings, now), now)
        notices = []
        for escalation in escalations_due(settings.sla, clocks, ticket.fired_escalations):
            notice = ticket.apply_escalation(escalation, now)
            applied += 1
            if notice is not None:
                notices.append(notice)
        _save(uow, row, ticket, settings, now)
        for notice in notices:
            uow.tickets.add_notification(
                {
                    "workspace_id": workspace_id,
                    "ticket_id": row["id"],
                    "recipient": settings.supervisor if notice.to == "supervisor" else notice.to,
                    "reason": notice.reason,
                    "created_at": now,
                }
            )
    return applied


__all__ = [
    "PRIORITIES",
    "SOURCES",
    "STATUSES",
    "TicketSettings",
    "change_ticket",
    "escalate_due",
    "load_settings",
    "open_ticket",
    "reopen_ticket",
    "resolve_ticket",
    "save_settings",
    "sla_now",
    "ticket_view",
    "transfer_ticket",
]
