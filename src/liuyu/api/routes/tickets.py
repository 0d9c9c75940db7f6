"""Tickets (工单): open, list by queue with SLA state, read with the audit trail, change, transfer,
resolve, reopen; supervisor notifications; the parcel feed and the payment-reminder report.

Phones and emails in subjects and audit lines are masked for every role but admin and supervisor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentPrincipal, CurrentReader
from liuyu.api.routes.conversations import AGENT_ROLES, mask_text
from liuyu.services import followups, tickets
from liuyu.services.accounts import Principal
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1", tags=["tickets"])
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "pending", "resolved", "closed"]
FieldValue = str | int | float


class TicketCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=300, examples=["手柄摇杆漂移，要求换货"])
    customer_id: int | None = Field(default=None, ge=1, le=2**62)
    conversation_id: int | None = Field(default=None, ge=1, le=2**62, description="customer, order and intent follow")
    order_id: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100, examples=["质量"])
    fields: dict[str, FieldValue] = Field(default_factory=dict, examples=[{"批次号": "B2026-11"}])
    priority: Priority = "normal"
    queue: str | None = Field(default=None, max_length=100, description="skip the routing rules and pick the queue")
    intent: str | None = Field(default=None, max_length=50, description="for routing, when not from a conversation")
    channel: str | None = Field(default=None, max_length=20, description="for routing, when not from a conversation")


class TicketUpdate(BaseModel):
    status: Status | None = None
    priority: Priority | None = None
    assignee: str | None = Field(default=None, max_length=200, description='"" unassigns')
    category: str | None = Field(default=None, max_length=100)
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    responded: bool = Field(default=False, description="an agent answered the customer: stops the response clocks")
    customer_wrote: bool = Field(default=False, description="the customer wrote again: starts the next-response clock")
    reason: str = Field(default="", max_length=1000)


class TicketTransfer(BaseModel):
    to_queue: str = Field(min_length=1, max_length=100, examples=["财务"])
    reason: str = Field(min_length=1, max_length=1000, examples=["客户要求退款"])


class TicketReason(BaseModel):
    reason: str = Field(default="", max_length=1000)


class NotificationsRead(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=500)


class ParcelFeed(BaseModel):
    parcels: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=1000,
        examples=[
            [
                {
                    "order_id": "3312345678901",
                    "tracking_no": "SF123",
                    "status": "in_transit",
                    "last_update_at": "2026-11-16T09:00:00+08:00",
                }
            ]
        ],
    )


def _now() -> datetime:
    return datetime.now(UTC)


def public(row: dict[str, Any], principal: Principal, now: datetime) -> dict[str, Any]:
    shown = {k: v for k, v in row.items() if k not in ("pauses", "escalations_fired", "sla_check_at")}
    shown["sla"] = tickets.sla_now(row, now)
    if not principal.sees_pii:
        shown["subject"] = mask_text(row["subject"])
    return shown


def public_line(line: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.sees_pii:
        return line
    return {**line, **{k: mask_text(line[k]) for k in ("old", "new", "reason")}}


@router.post("/tickets", status_code=201, summary="Open a ticket; routing rules pick the queue and say why")
def create_ticket(body: TicketCreate, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        row = tickets.open_ticket(
            uow,
            principal.workspace_id,
            customer_id=body.customer_id,
            subject=body.subject,
            category=body.category,
            conversation_id=body.conversation_id,
            order_id=body.order_id,
            source="conversation" if body.conversation_id else "api",
            actor=principal.actor,
            now=now,
            fields=body.fields,
            priority=body.priority,
            queue=body.queue,
            intent=body.intent,
            channel=body.channel,
        )
        uow.commit()
    return {"ticket": public(row, principal, now)}


@router.get("/tickets", summary="Tickets, soonest due first; per-queue counts of open and late ones")
def list_tickets(
    container: ContainerDep,
    principal: CurrentReader,
    queue: str | None = Query(default=None, max_length=100),
    status: Status | None = None,
    assignee: str | None = Query(default=None, max_length=200),
    customer_id: int | None = Query(default=None, ge=1, le=2**62),
    conversation_id: int | None = Query(default=None, ge=1, le=2**62),
    order_id: str | None = Query(default=None, max_length=100),
    breached: bool = Query(default=False, description="only tickets past an SLA due time"),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        rows = uow.tickets.list_tickets(
            principal.workspace_id,
            queue=queue,
            status=status,
            assignee=assignee,
            customer_id=customer_id,
            conversation_id=conversation_id,
            order_id=order_id,
            breached_by=now if breached else None,
            limit=limit,
        )
        queues = uow.tickets.queue_counts(principal.workspace_id, now)
    return {"tickets": [public(r, principal, now) for r in rows], "queues": queues}


@router.get("/tickets/notifications", summary="Supervisor notifications from SLA escalations")
def list_notifications(
    container: ContainerDep, principal: CurrentReader, unread: bool = True, limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rows = uow.tickets.notifications(principal.workspace_id, unread=unread, limit=limit)
    return {"notifications": rows}


@router.post("/tickets/notifications/read", summary="Mark notifications read")
def read_notifications(body: NotificationsRead, container: ContainerDep, principal: CurrentReader) -> dict[str, int]:
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        marked = uow.tickets.mark_read(principal.workspace_id, body.ids, _now())
        uow.commit()
    return {"marked": marked}


@router.get("/tickets/settings", summary="Queues, categories, routing rules, SLA policy, hours, follow-up rules")
def show_settings(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return tickets.load_settings(uow, principal.workspace_id).model_dump(mode="json")


@router.put("/tickets/settings", summary="Replace the ticket settings (admin, operator); errors name the field")
def replace_settings(body: dict[str, Any], container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin", "operator")
    with SqlUnitOfWork(container.engine) as uow:
        saved = tickets.save_settings(uow, principal.workspace_id, body, _now())
        uow.commit()
    return saved.model_dump(mode="json")


@router.get("/tickets/reminders", summary="Payment reminders (催付) sent and orders paid after them")
def reminder_report(container: ContainerDep, principal: CurrentReader, since: datetime | None = None) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return followups.reminders(uow, principal.workspace_id, since)


@router.post("/parcels", summary="The parcel feed (ERP or carrier): latest state per order")
def post_parcels(body: ParcelFeed, container: ContainerDep, principal: CurrentPrincipal) -> dict[str, int]:
    principal.require("admin", "operator", "ingest")
    with SqlUnitOfWork(container.engine) as uow:
        stored = followups.record_parcels(uow, principal.workspace_id, body.parcels, _now())
        uow.commit()
    return stored


@router.get("/tickets/{ticket_id}", summary="A ticket, its SLA clocks explained, and its whole audit trail")
def show_ticket(ticket_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        view = tickets.ticket_view(uow, principal.workspace_id, ticket_id, now)
    return {
        "ticket": public(view["ticket"], principal, now),
        "sla": view["sla"],
        "history": [public_line(h, principal) for h in view["history"]],
    }


@router.patch("/tickets/{ticket_id}", summary="Change status, priority, assignee, category or fields")
def update_ticket(
    ticket_id: int, body: TicketUpdate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    now = _now()
    changes: dict[str, Any] = {}
    if "assignee" in body.model_fields_set:
        changes["assignee"] = (body.assignee or "").strip() or None
    with SqlUnitOfWork(container.engine) as uow:
        row = tickets.change_ticket(
            uow,
            principal.workspace_id,
            ticket_id,
            actor=principal.actor,
            now=now,
            status=body.status,
            priority=body.priority,
            category=body.category,
            fields=body.fields,
            responded=body.responded,
            customer_wrote=body.customer_wrote,
            reason=body.reason,
            **changes,
        )
        uow.commit()
    return {"ticket": public(row, principal, now)}


@router.post("/tickets/{ticket_id}/transfer", summary="Hand the ticket to another department, with a reason")
def transfer(ticket_id: int, body: TicketTransfer, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        row = tickets.transfer_ticket(
            uow, principal.workspace_id, ticket_id, to_queue=body.to_queue, reason=body.reason,
            actor=principal.actor, now=now,
        )  # fmt: skip
        uow.commit()
    return {"ticket": public(row, principal, now)}


@router.post("/tickets/{ticket_id}/resolve", summary="Resolve the ticket")
def resolve(ticket_id: int, body: TicketReason, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        row = tickets.resolve_ticket(
            uow, principal.workspace_id, ticket_id, actor=principal.actor, now=now, reason=body.reason
        )
        uow.commit()
    return {"ticket": public(row, principal, now)}


@router.post("/tickets/{ticket_id}/reopen", summary="Reopen a resolved ticket; its resolution clock runs again")
def reopen(ticket_id: int, body: TicketReason, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        row = tickets.reopen_ticket(
            uow, principal.workspace_id, ticket_id, actor=principal.actor, now=now, reason=body.reason
        )
        uow.commit()
    return {"ticket": public(row, principal, now)}
