"""SQL side of tickets: rows, the audit trail, notifications, settings, parcels and follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from liuyu.storage.loyalty_tables import loyalty_members
from liuyu.storage.service_tables import conversations, messages
from liuyu.storage.tables import customers, order_lines, orders, workspaces
from liuyu.storage.ticket_tables import (
    order_followups,
    order_parcels,
    ticket_changes,
    ticket_notifications,
    ticket_settings,
    tickets,
)

#: Statuses whose clocks still run (the escalation job looks only at these).
LIVE = ("open", "pending")


def _dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class SqlTicketStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert)(table)

    # -- settings --------------------------------------------------------------------------------

    def settings(self, workspace_id: int) -> dict[str, Any] | None:
        return self.conn.execute(
            select(ticket_settings.c.config).where(ticket_settings.c.workspace_id == workspace_id)
        ).scalar()

    def save_settings(self, workspace_id: int, config: dict[str, Any], now: datetime) -> None:
        statement = self._insert(ticket_settings).values(workspace_id=workspace_id, config=config, updated_at=now)
        self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=[ticket_settings.c.workspace_id], set_={"config": config, "updated_at": now}
            )
        )

    # -- tickets ---------------------------------------------------------------------------------

    def insert_ticket(self, values: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(tickets).values(**values)).inserted_primary_key[0])

    def ticket(self, workspace_id: int, ticket_id: int, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(tickets).where(tickets.c.workspace_id == workspace_id, tickets.c.id == ticket_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _dict(row) if row else None

    def update_ticket(self, ticket_id: int, version: int, values: dict[str, Any]) -> bool:
        """Write a new state if nobody changed the ticket since it was read (``version``)."""
        result = self.conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.version == version)
            .values(**values, version=version + 1)
        )
        return result.rowcount == 1

    def add_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(ticket_changes), list(rows))

    def changes(self, ticket_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(ticket_changes).where(ticket_changes.c.ticket_id == ticket_id).order_by(ticket_changes.c.id)
        )
        return [_dict(r) for r in rows]

    def list_tickets(
        self,
        workspace_id: int,
        *,
        queue: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
        customer_id: int | None = None,
        conversation_id: int | None = None,
        order_id: str | None = None,
        breached_by: datetime | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Soonest due first (breached at the top), then the newest; ``breached_by`` keeps breached ones."""
        query = select(tickets).where(tickets.c.workspace_id == workspace_id)
        for column, value in (
            (tickets.c.queue, queue),
            (tickets.c.status, status),
            (tickets.c.assignee, assignee),
            (tickets.c.customer_id, customer_id),
            (tickets.c.conversation_id, conversation_id),
            (tickets.c.order_id, order_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if breached_by is not None:
            query = query.where(or_(tickets.c.sla_state == "breached", tickets.c.sla_due_at < breached_by))
        query = query.order_by(tickets.c.sla_due_at.asc().nulls_last(), tickets.c.id)
        return [_dict(r) for r in self.conn.execute(query.limit(limit))]

    def queue_counts(self, workspace_id: int, now: datetime) -> list[dict[str, Any]]:
        """Per department: tickets still open and how many of them are past due."""
        late = func.sum(case((or_(tickets.c.sla_state == "breached", tickets.c.sla_due_at < now), 1), else_=0))
        rows = self.conn.execute(
            select(tickets.c.queue, func.count().label("open"), late.label("late"))
            .where(tickets.c.workspace_id == workspace_id, tickets.c.status.in_(LIVE))
            .group_by(tickets.c.queue)
            .order_by(tickets.c.queue)
        )
        return [{"queue": r.queue, "open": int(r.open), "late": int(r.late or 0)} for r in rows]

    def due_for_check(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Live tickets whose clocks need a look, locked so overlapping job runs skip each other."""
        query = (
            select(tickets)
            .where(tickets.c.sla_check_at <= now, tickets.c.status.in_(LIVE))
            .order_by(tickets.c.sla_check_at, tickets.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_dict(r) for r in self.conn.execute(query)]

    def scrub_customer(self, workspace_id: int, customer_ids: Sequence[int]) -> int:
        """Erasure: the customer's tickets lose subject and field values, and their trail the values
        and reasons people typed (system lines, routing and escalation, stay). Returns tickets scrubbed."""
        ids = list(
            self.conn.execute(
                select(tickets.c.id).where(
                    tickets.c.workspace_id == workspace_id, tickets.c.customer_id.in_(list(customer_ids))
                )
            ).scalars()
        )
        if not ids:
            return 0
        self.conn.execute(update(tickets).where(tickets.c.id.in_(ids)).values(subject="[erased]", fields={}))
        lines = ticket_changes.c
        self.conn.execute(
            update(ticket_changes)
            .where(lines.ticket_id.in_(ids), lines.action == "field")
            .values(old=None, new="[erased]")
        )
        self.conn.execute(
            update(ticket_changes)
            .where(lines.ticket_id.in_(ids), lines.action.notin_(("routed", "escalated")), lines.reason != "")
            .values(reason="[erased]")
        )
        return len(ids)

    # -- notifications ---------------------------------------------------------------------------

    def add_notification(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(ticket_notifications).values(**row)).inserted_primary_key[0])

    def notifications(self, workspace_id: int, *, unread: bool = True, limit: int = 50) -> list[dict[str, Any]]:
        query = select(ticket_notifications).where(ticket_notifications.c.workspace_id == workspace_id)
        if unread:
            query = query.where(ticket_notifications.c.read_at.is_(None))
        rows = self.conn.execute(query.order_by(ticket_notifications.c.id.desc()).limit(limit))
        return [_dict(r) for r in rows]

    def mark_read(self, workspace_id: int, ids: Sequence[int], now: datetime) -> int:
        result = self.conn.execute(
            update(ticket_notifications)
            .where(
                ticket_notifications.c.workspace_id == workspace_id,
                ticket_notifications.c.id.in_(list(ids)),
                ticket_notifications.c.read_at.is_(None),
            )
            .values(read_at=now)
        )
        return int(result.rowcount)

    # -- what routing looks at -------------------------------------------------------------------

    def conversation_facts(self, workspace_id: int, conversation_id: int) -> dict[str, Any] | None:
        """Channel, customer, order and the intent of the latest analysed customer message."""
        row = self.conn.execute(
            select(conversations.c.channel, conversations.c.customer_id, conversations.c.order_id).where(
                conversations.c.workspace_id == workspace_id, conversations.c.id == conversation_id
            )
        ).first()
        if row is None:
            return None
        analyses = self.conn.execute(
            select(messages.c.analysis)
            .where(messages.c.conversation_id == conversation_id, messages.c.direction == "in")
            .order_by(messages.c.sent_at.desc(), messages.c.id.desc())
            .limit(20)
        ).scalars()
        labels = (a["intent"].get("label") for a in analyses if a and isinstance(a.get("intent"), dict))
        intent = next((label for label in labels if label), None)
        return {"channel": row.channel, "customer_id": row.customer_id, "order_id": row.order_id, "intent": intent}

    def agent_reply_after(self, conversation_id: int, since: datetime, skip: tuple[str, ...]) -> dict[str, Any] | None:
        """The first agent reply in a conversation at or after ``since`` (senders in ``skip`` are not agents)."""
        row = self.conn.execute(
            select(messages.c.sent_at, messages.c.sender)
            .where(
                messages.c.conversation_id == conversation_id,
                messages.c.direction == "out",
                messages.c.sent_at >= since,
                messages.c.sender.notin_(skip),
            )
            .order_by(messages.c.sent_at, messages.c.id)
            .limit(1)
        ).first()
        return _dict(row) if row else None

    def member_tier(self, workspace_id: int, customer_id: int) -> str | None:
        return self.conn.execute(
            select(loyalty_members.c.tier).where(
                loyalty_members.c.workspace_id == workspace_id, loyalty_members.c.customer_id == customer_id
            )
        ).scalar()

    def order_products(self, workspace_id: int, order_id: str) -> tuple[str, ...]:
        """Titles, SKUs and product ids of an order's lines: routing rules may name any of them."""
        rows = self.conn.execute(
            select(order_lines.c.title, order_lines.c.sku, order_lines.c.product_id)
            .join(orders, orders.c.id == order_lines.c.order_pk)
            .where(orders.c.workspace_id == workspace_id, orders.c.order_id == order_id)
        )
        found: list[str] = []
        for r in rows:
            found.extend(v for v in (r.title, r.sku, r.product_id) if v and v not in found)
        return tuple(found)

    def customer_exists(self, workspace_id: int, customer_id: int) -> bool:
        found = self.conn.execute(
            select(customers.c.id).where(customers.c.workspace_id == workspace_id, customers.c.id == customer_id)
        ).first()
        return found is not None

    def order_customer(self, workspace_id: int, order_id: str) -> int | None:
        return self.conn.execute(
            select(orders.c.customer_id).where(orders.c.workspace_id == workspace_id, orders.c.order_id == order_id)
        ).scalar()

    # -- parcels and follow-ups ------------------------------------------------------------------

    def save_parcels(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert the latest parcel state of each order (the ERP or carrier feed)."""
        for row in rows:
            statement = self._insert(order_parcels).values(**row)
            changing = {k: v for k, v in row.items() if k not in ("workspace_id", "platform", "order_id")}
            self.conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[order_parcels.c.workspace_id, order_parcels.c.platform, order_parcels.c.order_id],
                    set_=changing,
                )
            )

    def followup_workspaces(self) -> list[int]:
        return [int(i) for i in self.conn.execute(select(workspaces.c.id).order_by(workspaces.c.id)).scalars()]

    def followup_candidates(
        self,
        workspace_id: int,
        *,
        unpaid_between: tuple[datetime, datetime],
        stale_before: datetime,
        delivered_since: datetime,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Orders a follow-up rule may act on and has not acted on yet: recently unpaid, a parcel
        silent, returned or in trouble, delivered or completed recently."""

        def not_done(kind: str) -> Any:
            return ~exists().where(
                order_followups.c.workspace_id == orders.c.workspace_id,
                order_followups.c.platform == orders.c.platform,
                order_followups.c.order_id == orders.c.order_id,
                order_followups.c.kind == kind,
            )

        parcel = order_parcels.c
        joined = orders.outerjoin(
            order_parcels,
            (parcel.workspace_id == orders.c.workspace_id)
            & (parcel.platform == orders.c.platform)
            & (parcel.order_id == orders.c.order_id),
        )
        trouble = parcel.status.in_(("returned", "exception")) | (
            (parcel.status == "in_transit") & (parcel.last_update_at <= stale_before)
        )
        delivered = ((parcel.status == "delivered") & (parcel.last_update_at >= delivered_since)) | (
            (orders.c.status == "completed") & (orders.c.completed_at >= delivered_since)
        )
        wanted = or_(
            (orders.c.status == "pending_payment")
            & orders.c.placed_at.between(*unpaid_between)
            & not_done("payment_reminder"),
            trouble & not_done("logistics_ticket"),
            delivered & not_done("satisfaction_survey"),
        )
        rows = self.conn.execute(
            select(
                orders,
                parcel.tracking_no,
                parcel.status.label("parcel_status"),
                parcel.last_update_at,
                parcel.delivered_at,
            )
            .select_from(joined)
            .where(orders.c.workspace_id == workspace_id, orders.c.status.notin_(("cancelled", "refunded")), wanted)
            .order_by(orders.c.id)
            .limit(limit)
        )
        return [_dict(r) for r in rows]

    def followups_done(self, workspace_id: int, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        if not keys:
            return {}
        rows = self.conn.execute(
            select(order_followups.c.platform, order_followups.c.order_id, order_followups.c.kind).where(
                order_followups.c.workspace_id == workspace_id,
                tuple_(order_followups.c.platform, order_followups.c.order_id).in_(list(keys)),
            )
        )
        done: dict[tuple[str, str], set[str]] = {}
        for r in rows:
            done.setdefault((r.platform, r.order_id), set()).add(r.kind)
        return done

    def claim_followup(self, row: dict[str, Any]) -> int | None:
        """Record a follow-up before doing it; None when another run recorded it first."""
        statement = (
            self._insert(order_followups)
            .values(**row)
            .on_conflict_do_nothing(
                index_elements=[
                    order_followups.c.workspace_id,
                    order_followups.c.platform,
                    order_followups.c.order_id,
                    order_followups.c.kind,
                ]
            )
        )
        result = self.conn.execute(statement.returning(order_followups.c.id))
        found = result.scalar()
        return None if found is None else int(found)

    def finish_followup(self, followup_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(update(order_followups).where(order_followups.c.id == followup_id).values(**values))

    def latest_conversation(self, workspace_id: int, customer_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(conversations)
            .where(conversations.c.workspace_id == workspace_id, conversations.c.customer_id == customer_id)
            .order_by(conversations.c.last_message_at.desc(), conversations.c.id.desc())
            .limit(1)
        ).first()
        return _dict(row) if row else None

    def reminders(self, workspace_id: int, since: datetime | None = None) -> list[dict[str, Any]]:
        """Payment reminders sent, with the order's paid time now."""
        query = (
            select(order_followups.c.order_id, order_followups.c.platform, order_followups.c.at, orders.c.paid_at)
            .select_from(
                order_followups.outerjoin(
                    orders,
                    (orders.c.workspace_id == order_followups.c.workspace_id)
                    & (orders.c.platform == order_followups.c.platform)
                    & (orders.c.order_id == order_followups.c.order_id),
                )
            )
            .where(
                order_followups.c.workspace_id == workspace_id,
                order_followups.c.kind == "payment_reminder",
                order_followups.c.outcome == "sent",
            )
        )
        if since is not None:
            query = query.where(order_followups.c.at >= since)
        return [_dict(r) for r in self.conn.execute(query)]

    def followups(self, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(order_followups)
            .where(order_followups.c.workspace_id == workspace_id)
            .order_by(order_followups.c.id.desc())
            .limit(limit)
        )
        return [_dict(r) for r in rows]


class TicketCustomers:
    """Keeps tickets on the live customer when identities change (a registered projection).

    A merge moves the loser's tickets to the winner; an undone merge puts each ticket back on its
    conversation's customer (``ConversationCustomers`` runs first) or its order's; a rebuild leaves
    tickets alone (operational state; customers keep their ids across replays).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Any, int | None]]) -> None:
        """New events do not move tickets."""

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        """One batched statement, and none at all in a workspace without tickets (bulk imports)."""
        if not merges or not self._any(workspace_id):
            return
        self.conn.execute(
            update(tickets)
            .where(tickets.c.workspace_id == workspace_id, tickets.c.customer_id == bindparam("b_loser"))
            .values(customer_id=bindparam("b_winner")),
            [{"b_winner": winner, "b_loser": loser} for winner, loser in merges],
        )

    def _any(self, workspace_id: int) -> bool:
        return (
            self.conn.execute(select(tickets.c.id).where(tickets.c.workspace_id == workspace_id).limit(1)).first()
            is not None
        )

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        if not customer_ids or not self._any(workspace_id):
            return
        found = self.conn.execute(
            select(tickets.c.id, tickets.c.conversation_id, tickets.c.order_id).where(
                tickets.c.workspace_id == workspace_id, tickets.c.customer_id.in_(sorted(customer_ids))
            )
        ).all()
        for ticket_id, conversation_id, order_id in found:
            customer = None
            if conversation_id is not None:
                customer = self.conn.execute(
                    select(conversations.c.customer_id).where(conversations.c.id == conversation_id)
                ).scalar()
            if customer is None and order_id:
                customer = self.conn.execute(
                    select(orders.c.customer_id).where(
                        orders.c.workspace_id == workspace_id, orders.c.order_id == order_id
                    )
                ).scalar()
            if customer is not None:
                self.conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(customer_id=customer))

    def clear(self, workspace_id: int) -> None:
        """Nothing to forget: tickets are desk state, not derived from the log."""
