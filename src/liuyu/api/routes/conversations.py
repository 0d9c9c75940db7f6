"""The agent API: the inbox, a conversation with its analysis and customer card, notes, status, replies.

Phones and emails are masked for every role but admin and supervisor, in message texts too.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.api.masking import mask_summary
from liuyu.domain.customers.identifiers import mask_value
from liuyu.domain.errors import NotFound
from liuyu.services import inbox, loyalty
from liuyu.services.accounts import Principal
from liuyu.services.tickets import sla_now
from liuyu.storage.customer_queries import customer_summaries, live_id
from liuyu.storage.customer_touches import family, open_tickets, recent_orders, recent_touches
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1", tags=["conversations"])
AGENT_ROLES = ("admin", "operator", "supervisor", "agent")
#: Roles that see a customer's tickets and send decisions (not an ingestion key).
TOUCH_VIEWERS = ("admin", "operator", "supervisor", "analyst", "agent")
RECENT_ORDERS = 5  # orders on the card; the customer 360 lists them all
WINDOW = timedelta(seconds=10)  # how far back each poll of the live stream looks
_PHONE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")  # ASCII only: Chinese around it stays

Status = Literal["open", "pending", "snoozed", "resolved"]


class ConversationUpdate(BaseModel):
    status: Status | None = None
    assignee: str | None = Field(default=None, max_length=200)


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=inbox.MAX_TEXT)


class ReplyCreate(BaseModel):
    text: str = Field(min_length=1, max_length=inbox.MAX_TEXT)
    idempotency_key: str | None = Field(default=None, max_length=100)


def mask_text(text: str | None) -> str | None:
    """Phones and emails inside free text, masked the way identifiers are."""
    if not text:
        return text
    text = _PHONE.sub(lambda m: mask_value("phone", m.group(0)), text)
    return _EMAIL.sub(lambda m: mask_value("email", m.group(0)), text)


def mask_message(message: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.sees_pii:
        return message
    out = {**message, "text": mask_text(message["text"]), "sender": mask_text(message["sender"])}
    analysis = message.get("analysis")
    if analysis:
        entities = [
            {**e, "text": mask_text(e.get("text")), "value": mask_text(str(e["value"])) if e.get("value") else None}
            if e.get("type") in ("phone", "email")
            else e
            for e in analysis.get("entities", [])
        ]
        out["analysis"] = {**analysis, "entities": entities}
    return out


def mask_conversation(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.sees_pii:
        return row
    masked = {name: mask_text(row.get(name)) for name in ("reply_to", "last_text", "conversation_key")}
    return {**row, **masked}  # a hotline's conversation key is often the caller's number


def customer_touches(
    conn: Any,
    workspace_id: int,
    customer_id: int,
    principal: Principal,
    limit: int = 10,
    ids: list[int] | None = None,
) -> dict[str, Any]:
    """Open tickets (with the SLA state as a list shows it) and the newest marketing touches of a live
    customer (``ids``: its family when already read); phones and emails in subjects and details masked
    for roles that may not see them."""
    ids = ids or family(conn, workspace_id, customer_id)
    now = datetime.now(UTC)
    shown = mask_text if not principal.sees_pii else (lambda text: text)
    tickets = [
        {**row, "subject": shown(row["subject"]), "sla": sla_now(row, now), "url": f"/console/tickets/{row['id']}"}
        for row in open_tickets(conn, workspace_id, ids, limit=limit)
    ]
    touches = [{**row, "detail": shown(row["detail"])} for row in recent_touches(conn, workspace_id, ids, limit=limit)]
    return {"open_tickets": tickets, "touches": touches}


def membership(uow: SqlUnitOfWork, workspace_id: int, customer_id: int, at: datetime) -> dict[str, Any] | None:
    """Tier and points from the member center's card; None for a customer who is not a member."""
    try:
        card = loyalty.card(uow, workspace_id, customer_id, at=at)
    except NotFound:
        return None
    return {
        "member_no": card["member_no"],
        "tier": {"code": card["tier"]["code"], "name": card["tier"]["name"]},
        "points": card["points"],
        "next_expiry": card["next_expiry"],
        "url": f"/console/members/{customer_id}",
    }


def customer_card(
    uow: SqlUnitOfWork, workspace_id: int, customer_id: int | None, principal: Principal
) -> dict[str, Any] | None:
    """The card beside a conversation. Roles that see the service side also get the membership
    (``member``: tier and points, None when not a member), the last five orders on any platform,
    open tickets and marketing touches."""
    if customer_id is None:
        return None
    conn = uow.conn
    live = live_id(conn, workspace_id, customer_id)
    found = customer_summaries(conn, workspace_id, [live]) if live else []
    if not found:
        return None
    url = f"/console/customers/{live}"
    card = {**mask_summary(found[0], principal), "url": url}
    if principal.role in TOUCH_VIEWERS:
        cid = found[0]["id"]
        card["member"] = membership(uow, workspace_id, cid, datetime.now(UTC))
        ids = family(conn, workspace_id, cid)
        card["orders"] = [{**o, "url": f"{url}#orders"} for o in recent_orders(conn, workspace_id, ids, RECENT_ORDERS)]
        card.update(customer_touches(conn, workspace_id, cid, principal, ids=ids))
    return card


@router.get("/conversations", summary="The inbox: angry customers first, then the most recent")
def list_conversations(
    container: ContainerDep,
    principal: CurrentReader,
    status: Status | None = None,
    channel: str | None = Query(default=None, max_length=20),
    assignee: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rows = uow.service.inbox(principal.workspace_id, status=status, channel=channel, assignee=assignee, limit=limit)
    return {"conversations": [mask_conversation(r, principal) for r in rows]}


@router.get("/conversations/stream", summary="Server-sent events: ids of conversations that changed")
async def stream(
    request: Request,
    container: ContainerDep,
    principal: CurrentReader,
    interval: float = Query(1.0, ge=0.2, le=30),
    lifetime: float = Query(300.0, ge=1, le=3600),
) -> StreamingResponse:
    """One ``changed`` event per poll that found changes; a comment line keeps proxies from closing it.

    Only for clients that ask for ``text/event-stream`` (EventSource does), so a plain HTTP client
    never hangs on it. The stream ends after ``lifetime`` seconds and EventSource reconnects.
    """
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise HTTPException(
            status_code=406, detail="this is a server-sent event stream: send Accept: text/event-stream"
        )

    def changed(since: datetime) -> dict[int, datetime]:
        with SqlUnitOfWork(container.engine) as uow:
            return dict(uow.service.changed_since(principal.workspace_id, since))

    async def events() -> AsyncIterator[str]:
        told: dict[int, datetime] = {}
        since = datetime.now(UTC) - WINDOW
        yield "retry: 2000\n: connected\n\n"
        ends = asyncio.get_running_loop().time() + lifetime
        while asyncio.get_running_loop().time() < ends and not await request.is_disconnected():
            now = datetime.now(UTC)
            found = await asyncio.to_thread(changed, since)
            ids = sorted(i for i, at in found.items() if told.get(i) != at)
            told = {i: at for i, at in {**told, **found}.items() if at > now - 2 * WINDOW}
            since = now - WINDOW  # look back a little: a change stamped before a slow commit still shows
            yield f"event: changed\ndata: {json.dumps({'ids': ids})}\n\n" if ids else ": idle\n\n"
            await asyncio.sleep(interval)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/conversations/{conversation_id}", summary="A conversation: messages in time order, analysis, customer")
def show_conversation(conversation_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        view = inbox.conversation_view(uow, principal.workspace_id, conversation_id)
        customer = customer_card(uow, principal.workspace_id, view["conversation"]["customer_id"], principal)
    return {
        "conversation": mask_conversation(view["conversation"], principal),
        "messages": [mask_message(m, principal) for m in view["messages"]],
        "customer": customer,
    }


@router.patch("/conversations/{conversation_id}", summary="Change the status or the assignee")
def update_conversation(
    conversation_id: int, body: ConversationUpdate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        row = inbox.change_conversation(
            uow, principal.workspace_id, conversation_id, status=body.status, assignee=body.assignee
        )
        uow.commit()
    return {"conversation": mask_conversation(row, principal)}


@router.post("/conversations/{conversation_id}/notes", status_code=201, summary="An internal note")
def add_note(
    conversation_id: int, body: NoteCreate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        note = inbox.add_note(uow, principal.workspace_id, conversation_id, body.text, principal.actor)
        uow.commit()
    return {"message": mask_message(note, principal)}


@router.post("/conversations/{conversation_id}/replies", status_code=202, summary="Queue a reply for delivery")
def add_reply(
    conversation_id: int,
    body: ReplyCreate,
    container: ContainerDep,
    principal: CurrentReader,
    idempotency_key: str | None = Header(default=None, max_length=100),
) -> dict[str, Any]:
    """``Idempotency-Key`` (header or body) makes a retried request return the first reply."""
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        message = inbox.reply(
            uow,
            principal.workspace_id,
            conversation_id,
            body.text,
            principal.actor,
            idempotency_key=body.idempotency_key or idempotency_key,
        )
        uow.commit()
    return {"message": mask_message(message, principal)}
