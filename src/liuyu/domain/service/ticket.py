"""Tickets (工单): work that moves between departments until it is done, with a full audit trail.

Every change (creation, routing, transfer, assignment, priority, status, field, escalation) is a
``TicketChange`` with the actor and the reason, appended and never rewritten: that trail is the
ticket's history in the console and the evidence when a customer asks why it took a week.
A transfer needs a reason and keeps everything that happened before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict

from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.service.calendar import require_aware
from liuyu.domain.service.routing import RoutingDecision
from liuyu.domain.service.sla import Escalation, SlaFacts

PRIORITIES = ("low", "normal", "high", "urgent")
TicketStatus = Literal["open", "pending", "resolved", "closed"]
TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"pending", "resolved"}),
    "pending": frozenset({"open", "resolved"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


class CustomField(BaseModel):
    """A field a category asks for, e.g. 快递单号 for 物流 or 批次号 for 质量."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["text", "number", "choice", "date"] = "text"
    required: bool = False
    choices: tuple[str, ...] = ()

    def clean(self, value: object) -> object:
        """The value in its proper type; InvalidInput names the field when it does not fit."""
        try:
            if self.kind == "number":
                return Decimal(str(value))
            if self.kind == "date":
                return value if isinstance(value, date) else date.fromisoformat(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise InvalidInput(f"not a {self.kind}", field=self.name, value=value) from exc
        text = str(value).strip()
        if self.kind == "choice" and text not in self.choices:
            raise InvalidInput(f"choose one of {', '.join(self.choices)}", field=self.name, value=value)
        return text


class TicketCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    fields: tuple[CustomField, ...] = ()

    def clean(self, values: dict[str, object]) -> dict[str, object]:
        """Check a full set of custom field values against this category."""
        known = {f.name: f for f in self.fields}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidInput(f"category {self.name} has no such field", field=unknown[0])
        missing = [f.name for f in self.fields if f.required and values.get(f.name) in (None, "")]
        if missing:
            raise InvalidInput(f"required by category {self.name}", field=missing[0])
        return {name: known[name].clean(value) for name, value in values.items() if value not in (None, "")}


@dataclass(frozen=True, slots=True)
class TicketChange:
    """One line of the audit trail."""

    at: datetime
    actor: str
    action: str  # created, routed, transferred, assigned, priority, status, field, category, replied, escalated
    old: object = None
    new: object = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Notification:
    """Someone to tell (a supervisor on breach); the caller sends it through its notifier."""

    to: str
    ticket_id: str
    reason: str


@dataclass(slots=True)
class Ticket:
    """A ticket's current state and its trail; ``Ticket.open`` creates one, storage loads one back."""

    id: str
    subject: str
    category: TicketCategory
    queue: str
    opened_at: datetime
    priority: str = "normal"
    status: str = "open"
    assignee: str | None = None
    customer_id: str | None = None
    conversation_id: str | None = None
    order_id: str | None = None
    fields: dict[str, object] = field(default_factory=dict)
    routing: RoutingDecision | None = None
    history: list[TicketChange] = field(default_factory=list)
    escalations_fired: set[str] = field(default_factory=set)
    first_response_at: datetime | None = None
    awaiting_reply_since: datetime | None = None
    resolved_at: datetime | None = None
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        id: str,
        subject: str,
        category: TicketCategory,
        *,
        queue: str,
        at: datetime,
        actor: str,
        priority: str = "normal",
        fields: dict[str, object] | None = None,
        customer_id: str | None = None,
        conversation_id: str | None = None,
        order_id: str | None = None,
        reason: str = "",
    ) -> Ticket:
        """A new ticket; the customer is waiting from ``at`` on."""
        at = require_aware(at, "at")
        _check_priority(priority)
        ticket = cls(
            id,
            subject,
            category,
            queue,
            at,
            priority,
            customer_id=customer_id,
            conversation_id=conversation_id,
            order_id=order_id,
            fields=category.clean(fields or {}),
        )
        ticket.awaiting_reply_since = at
        ticket._log(at, actor, "created", None, queue, reason)
        return ticket

    def _log(self, at: datetime, actor: str, action: str, old: object, new: object, reason: str = "") -> None:
        self.history.append(TicketChange(require_aware(at), actor, action, old, new, reason))

    def _require_open(self) -> None:
        if self.status == "closed":
            raise Conflict(f"ticket {self.id} is closed")

    # -- moving the ticket ----------------------------------------------------------------------

    def apply_routing(self, decision: RoutingDecision, at: datetime, actor: str = "router") -> None:
        """Put the ticket where the routing rules say, keeping their explanation on the ticket."""
        self._require_open()
        self.routing = decision
        old_queue, self.queue = self.queue, decision.queue
        self._log(at, actor, "routed", old_queue, decision.queue, decision.explain())
        if decision.set_priority and PRIORITIES.index(decision.set_priority) > PRIORITIES.index(self.priority):
            self.set_priority(decision.set_priority, at, actor, f"rule {decision.rule!r}")

    def transfer(self, to_queue: str, at: datetime, actor: str, reason: str) -> None:
        """Hand the ticket to another department; the new queue picks an agent, the history stays."""
        self._require_open()
        if not reason.strip():
            raise InvalidInput("a transfer needs a reason the next department can read", field="reason")
        if to_queue == self.queue:
            raise Conflict(f"ticket {self.id} is already in {to_queue}")
        old_queue, self.queue = self.queue, to_queue
        self._log(at, actor, "transferred", old_queue, to_queue, reason)
        if self.assignee is not None:
            self.assign(None, at, actor, f"transferred to {to_queue}")

    def assign(self, agent: str | None, at: datetime, actor: str, reason: str = "") -> None:
        self._require_open()
        old, self.assignee = self.assignee, agent
        self._log(at, actor, "assigned", old, agent, reason)

    def set_priority(self, priority: str, at: datetime, actor: str, reason: str) -> None:
        self._require_open()
        _check_priority(priority)
        old, self.priority = self.priority, priority
        self._log(at, actor, "priority", old, priority, reason)

    def raise_priority(self, at: datetime, actor: str, reason: str) -> bool:
        """One step up (normal -> high); False when already urgent."""
        level = PRIORITIES.index(self.priority)
        if level == len(PRIORITIES) - 1:
            return False
        self.set_priority(PRIORITIES[level + 1], at, actor, reason)
        return True

    def set_status(self, status: str, at: datetime, actor: str, reason: str = "") -> None:
        at = require_aware(at, "at")
        if status not in TICKET_TRANSITIONS:
            raise InvalidInput(f"status is one of {', '.join(TICKET_TRANSITIONS)}", field="status", value=status)
        if status not in TICKET_TRANSITIONS[self.status]:
            raise Conflict(f"ticket {self.id} cannot go from {self.status} to {status}")
        if self.status == "pending":
            self.pauses[-1] = (self.pauses[-1][0], at)
        if status == "pending":
            self.pauses.append((at, None))
        if status == "resolved":
            self.resolved_at, self.awaiting_reply_since = at, None
        elif status != "closed":
            self.resolved_at = None  # reopened: the resolution clock runs again
        old, self.status = self.status, status
        self._log(at, actor, "status", old, status, reason)

    # -- content --------------------------------------------------------------------------------

    def set_field(self, name: str, value: object, at: datetime, actor: str, reason: str = "") -> None:
        self._require_open()
        old = self.fields.get(name)
        self.fields = self.category.clean({**self.fields, name: value})
        self._log(at, actor, "field", None if old is None else f"{name}={old}", f"{name}={value}", reason)

    def recategorize(self, category: TicketCategory, at: datetime, actor: str, reason: str) -> None:
        """Move to another category; its own fields are checked, the old values stay in the history."""
        self._require_open()
        kept = {f.name: self.fields[f.name] for f in category.fields if f.name in self.fields}
        self.fields = category.clean(kept)
        old, self.category = self.category.name, category
        self._log(at, actor, "category", old, category.name, reason)

    def reply(self, at: datetime, actor: str) -> None:
        """An agent answered the customer: stops the first and next response clocks."""
        at = require_aware(at, "at")
        if self.first_response_at is None:
            self.first_response_at = at
        self.awaiting_reply_since = None
        self._log(at, actor, "replied", None, None)

    def customer_replied(self, at: datetime) -> None:
        """The customer wrote again: starts the next response clock (and ends a pending pause)."""
        at = require_aware(at, "at")
        self._require_open()
        if self.awaiting_reply_since is None and self.first_response_at is not None:
            self.awaiting_reply_since = at
        if self.status in {"pending", "resolved"}:
            self.set_status("open", at, "customer", "customer wrote")

    # -- SLA ------------------------------------------------------------------------------------

    def sla_facts(self) -> SlaFacts:
        return SlaFacts(
            opened_at=self.opened_at,
            first_response_at=self.first_response_at,
            awaiting_reply_since=self.awaiting_reply_since if self.first_response_at else None,
            resolved_at=self.resolved_at,
            pauses=tuple(self.pauses),
            priority=self.priority,
        )

    def apply_escalation(self, escalation: Escalation, at: datetime) -> Notification | None:
        """Carry out one escalation action once; a notification comes back for the caller to send."""
        key = f"{escalation.key}:{escalation.action.kind}"
        if key in self.escalations_fired:
            return None
        self.escalations_fired.add(key)
        action, actor = escalation.action, "sla"
        self._log(at, actor, "escalated", escalation.rule_id, action.kind, escalation.reason)
        if action.kind == "raise_priority":
            self.raise_priority(at, actor, escalation.reason)
        elif action.kind == "reassign":
            if action.to and action.to != self.queue:
                self.transfer(action.to, at, actor, escalation.reason)
            elif self.assignee is not None:
                self.assign(None, at, actor, escalation.reason)
        else:
            return Notification(action.to or "supervisor", self.id, escalation.reason)
        return None

    @property
    def fired_escalations(self) -> set[str]:
        """Escalation keys already applied, for ``sla.escalations_due``."""
        return {key.rsplit(":", 1)[0] for key in self.escalations_fired}

    @property
    def transfers(self) -> list[TicketChange]:
        return [change for change in self.history if change.action == "transferred"]


def _check_priority(priority: str) -> None:
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority is one of {', '.join(PRIORITIES)}", field="priority", value=priority)
