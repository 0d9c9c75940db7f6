"""What the customer card shows beside a conversation: recent orders, open tickets and marketing touches.

Read queries over the order, ticket, messaging and journey tables. Each takes the customer's family (the
customer and those merged into it), because send decisions stay on the customer they were made for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from liuyu.storage import tables as t
from liuyu.storage.journey_tables import journey_enrollments as en
from liuyu.storage.journey_tables import journeys
from liuyu.storage.messaging_tables import messaging_sends as sends
from liuyu.storage.ticket_tables import tickets

LIVE_TICKETS = ("open", "pending")


def family(conn: Connection, workspace_id: int, customer_id: int) -> list[int]:
    """The customer and every customer merged into it."""
    losers = conn.execute(
        select(t.customers.c.id).where(
            t.customers.c.workspace_id == workspace_id, t.customers.c.merged_into == customer_id
        )
    ).scalars()
    return [customer_id, *losers]


def recent_orders(
    conn: Connection, workspace_id: int, customer_ids: Sequence[int], limit: int = 5
) -> list[dict[str, Any]]:
    """The newest orders on any platform, newest placed first, each with the time it reached its
    current status (the latest status change to it; the placing time when none was recorded)."""
    o, h = t.orders, t.order_status_history
    since = (
        select(func.max(h.c.at)).where(h.c.order_pk == o.c.id, h.c.status == o.c.status).correlate(o).scalar_subquery()
    )
    query = (
        select(
            o.c.platform,
            o.c.order_id,
            o.c.status,
            o.c.total_fen,
            o.c.refunded_fen,
            o.c.currency,
            o.c.placed_at,
            func.coalesce(since, o.c.placed_at, type_=o.c.placed_at.type).label("status_at"),
        )
        .where(o.c.workspace_id == workspace_id, o.c.customer_id.in_(list(customer_ids)))
        .order_by(o.c.placed_at.desc().nulls_last(), o.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def open_tickets(
    conn: Connection, workspace_id: int, customer_ids: Sequence[int], limit: int = 10
) -> list[dict[str, Any]]:
    """Open and pending tickets, soonest due first (the order of the queues)."""
    query = (
        select(
            tickets.c.id,
            tickets.c.subject,
            tickets.c.queue,
            tickets.c.status,
            tickets.c.priority,
            tickets.c.sla_state,
            tickets.c.sla_due_at,
            tickets.c.opened_at,
        )
        .where(
            tickets.c.workspace_id == workspace_id,
            tickets.c.customer_id.in_(list(customer_ids)),
            # ``status || ''``: a bare status test tempts SQLite (no statistics) into the workspace-wide
            # status index, reading every open ticket; the customer index finds a handful of rows.
            (tickets.c.status + "").in_(LIVE_TICKETS),
        )
        .order_by(tickets.c.sla_due_at.asc().nulls_last(), tickets.c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def recent_touches(
    conn: Connection, workspace_id: int, customer_ids: Sequence[int], limit: int = 10
) -> list[dict[str, Any]]:
    """The newest send decisions (sent, queued or skipped with the reason) and journey entries, merged
    newest first. ``outcome`` is the delivery status of a queued send, ``skipped`` or the enrollment state."""
    ids = list(customer_ids)
    sent = conn.execute(
        select(
            sends.c.id,
            sends.c.decided_at,
            sends.c.channel,
            sends.c.template,
            sends.c.purpose,
            sends.c.source,
            sends.c.decision,
            sends.c.reason,
            sends.c.detail,
            sends.c.delivery_status,
            sends.c.not_before,
            sends.c.sent_at,
        )
        .where(sends.c.workspace_id == workspace_id, sends.c.customer_id.in_(ids))
        .order_by(sends.c.decided_at.desc(), sends.c.id.desc())
        .limit(limit)
    ).mappings()
    out: list[dict[str, Any]] = [
        {
            "kind": "message",
            "at": r["decided_at"],
            "channel": r["channel"],
            "name": r["template"],
            "purpose": r["purpose"],
            "source": r["source"],
            "outcome": "skipped" if r["decision"] == "skipped" else (r["delivery_status"] or "queued"),
            "reason": r["reason"],
            "detail": r["detail"] or "",
            "not_before": r["not_before"],
            "sent_at": r["sent_at"],
            "id": r["id"],
        }
        for r in sent
    ]
    entered = conn.execute(
        select(en.c.id, en.c.journey_id, journeys.c.name, en.c.grp, en.c.state, en.c.step_key, en.c.entered_at)
        .join(journeys, journeys.c.id == en.c.journey_id)
        .where(en.c.workspace_id == workspace_id, en.c.customer_id.in_(ids))
        .order_by(en.c.entered_at.desc(), en.c.id.desc())
        .limit(limit)
    ).mappings()
    out += [
        {
            "kind": "journey",
            "at": r["entered_at"],
            "channel": None,
            "name": r["name"],
            "journey_id": r["journey_id"],
            "group": r["grp"],
            "step": r["step_key"],
            "outcome": r["state"],
            "reason": None,
            "detail": "",
            "id": r["id"],
        }
        for r in entered
    ]
    out.sort(key=lambda row: (row["at"], row["kind"] == "message", row["id"]), reverse=True)
    return out[:limit]
