"""SQL side of the service hub: channels, conversations, messages, the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, or_, select, tuple_, update

from liuyu.storage.service_tables import conversations, messages, outbox, service_channels
from liuyu.storage.tables import events, orders


def _dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class SqlServiceStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- channels --------------------------------------------------------------------------------

    def channel(self, workspace_id: int, channel: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(service_channels).where(
                service_channels.c.workspace_id == workspace_id, service_channels.c.channel == channel
            )
        ).first()
        return _dict(row) if row else None

    def save_channel(self, workspace_id: int, channel: str, values: dict[str, Any], now: datetime) -> None:
        if self.channel(workspace_id, channel) is None:
            self.conn.execute(
                insert(service_channels).values(workspace_id=workspace_id, channel=channel, created_at=now, **values)
            )
        else:
            self.conn.execute(
                update(service_channels)
                .where(service_channels.c.workspace_id == workspace_id, service_channels.c.channel == channel)
                .values(**values)
            )

    # -- inbound ---------------------------------------------------------------------------------

    def event_customers(self, workspace_id: int, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """The customer each logged event belongs to now."""
        if not keys:
            return {}
        rows = self.conn.execute(
            select(events.c.source, events.c.external_id, events.c.customer_id).where(
                events.c.workspace_id == workspace_id, tuple_(events.c.source, events.c.external_id).in_(list(keys))
            )
        )
        return {(r.source, r.external_id): r.customer_id for r in rows}

    def known_orders(self, workspace_id: int, order_ids: set[str]) -> dict[str, tuple[str, str, int | None]]:
        """order id -> (platform, order id, customer) for the ids that exist."""
        if not order_ids:
            return {}
        rows = self.conn.execute(
            select(orders.c.platform, orders.c.order_id, orders.c.customer_id).where(
                orders.c.workspace_id == workspace_id, orders.c.order_id.in_(sorted(order_ids))
            )
        )
        return {r.order_id: (r.platform, r.order_id, r.customer_id) for r in rows}

    def existing_messages(self, workspace_id: int, channel: str, direction: str, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = self.conn.execute(
            select(messages.c.external_id).where(
                messages.c.workspace_id == workspace_id,
                messages.c.channel == channel,
                messages.c.direction == direction,
                messages.c.external_id.in_(list(ids)),
            )
        )
        return {r.external_id for r in rows}

    def conversation_ids(self, workspace_id: int, channel: str, keys: set[str]) -> dict[str, int]:
        if not keys:
            return {}
        rows = self.conn.execute(
            select(conversations.c.id, conversations.c.conversation_key).where(
                conversations.c.workspace_id == workspace_id,
                conversations.c.channel == channel,
                conversations.c.conversation_key.in_(sorted(keys)),
            )
        )
        return {r.conversation_key: r.id for r in rows}

    def open_conversation(self, workspace_id: int, channel: str, key: str, at: datetime, now: datetime) -> int:
        result = self.conn.execute(
            insert(conversations).values(
                workspace_id=workspace_id,
                channel=channel,
                conversation_key=key,
                status="open",
                anger=0,
                last_message_at=at,
                created_at=now,
                updated_at=now,
            )
        )
        return int(result.inserted_primary_key[0])

    def add_messages(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(messages), list(rows))

    def touch_conversation(
        self,
        conversation_id: int,
        *,
        last_message_at: datetime,
        anger: int,
        now: datetime,
        customer_id: int | None = None,
        order: tuple[str, str] | None = None,
        reply_to: str | None = None,
        reopen: bool = False,
    ) -> None:
        """Fold a batch of new messages into the conversation row (latest time, highest anger)."""
        values: dict[str, Any] = {
            "last_message_at": func.coalesce(
                case(
                    (conversations.c.last_message_at > last_message_at, conversations.c.last_message_at),
                    else_=last_message_at,
                ),
                last_message_at,
            ),
            "anger": case((conversations.c.anger > anger, conversations.c.anger), else_=anger),
            "updated_at": now,
        }
        if customer_id is not None:
            values["customer_id"] = customer_id
        if order is not None:
            values["order_platform"], values["order_id"] = order
        if reply_to:
            values["reply_to"] = reply_to
        if reopen:
            values["status"] = case((conversations.c.status == "pending", conversations.c.status), else_="open")
        self.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))

    # -- agent side ------------------------------------------------------------------------------

    def inbox(
        self,
        workspace_id: int,
        *,
        status: str | None = None,
        channel: str | None = None,
        assignee: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Angry customers first, then the most recent."""
        query = select(conversations).where(conversations.c.workspace_id == workspace_id)
        if status:
            query = query.where(conversations.c.status == status)
        if channel:
            query = query.where(conversations.c.channel == channel)
        if assignee:
            query = query.where(conversations.c.assignee == assignee)
        query = query.order_by(
            conversations.c.anger.desc(), conversations.c.last_message_at.desc(), conversations.c.id.desc()
        )
        rows = [_dict(r) for r in self.conn.execute(query.limit(limit))]
        last = self._last_texts([r["id"] for r in rows])
        for row in rows:
            row["last_text"] = last.get(row["id"])
        return rows

    def _last_texts(self, conversation_ids: list[int]) -> dict[int, str]:
        if not conversation_ids:
            return {}
        latest = (
            select(messages.c.conversation_id, func.max(messages.c.sent_at).label("at"))
            .where(messages.c.conversation_id.in_(conversation_ids), messages.c.direction != "note")
            .group_by(messages.c.conversation_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(messages.c.conversation_id, messages.c.text)
            .join(
                latest, and_(messages.c.conversation_id == latest.c.conversation_id, messages.c.sent_at == latest.c.at)
            )
            .where(messages.c.direction != "note")
        )
        return {r.conversation_id: r.text for r in rows}

    def conversation(self, workspace_id: int, conversation_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(conversations).where(
                conversations.c.workspace_id == workspace_id, conversations.c.id == conversation_id
            )
        ).first()
        return _dict(row) if row else None

    def conversation_messages(self, conversation_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.sent_at, messages.c.id)
        )
        return [_dict(r) for r in rows]

    def update_conversation(self, conversation_id: int, values: dict[str, Any], now: datetime) -> None:
        self.conn.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(**values, updated_at=now)
        )

    def changed_since(self, workspace_id: int, since: datetime) -> dict[int, datetime]:
        """Conversation id -> last change, for those changed after ``since``."""
        rows = self.conn.execute(
            select(conversations.c.id, conversations.c.updated_at).where(
                conversations.c.workspace_id == workspace_id, conversations.c.updated_at > since
            )
        )
        return {r.id: r.updated_at for r in rows}

    def add_message(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(messages).values(**row)).inserted_primary_key[0])

    def message_by_external(
        self, workspace_id: int, channel: str, direction: str, external_id: str
    ) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(messages).where(
                messages.c.workspace_id == workspace_id,
                messages.c.channel == channel,
                messages.c.direction == direction,
                messages.c.external_id == external_id,
            )
        ).first()
        return _dict(row) if row else None

    # -- outbox ----------------------------------------------------------------------------------

    def enqueue(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(outbox).values(**row)).inserted_primary_key[0])

    def claim_due(
        self, now: datetime, limit: int, lease: timedelta, routes: Sequence[str] = ("service",)
    ) -> list[dict[str, Any]]:
        """Rows of the given routes due for a (re)try, marked ``sending`` with a lease; a crashed
        worker's rows come back when their lease runs out. PostgreSQL workers skip each other's
        locked rows."""
        due = or_(
            and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
            and_(outbox.c.status == "sending", outbox.c.claimed_until <= now),
        )
        query = (
            select(outbox)
            .where(due, outbox.c.route.in_(list(routes)))
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [_dict(r) for r in self.conn.execute(query)]
        if rows:
            self.conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r["id"] for r in rows]))
                .values(status="sending", claimed_until=now + lease, attempts=outbox.c.attempts + 1)
            )
        for row in rows:
            row["attempts"] += 1
        return rows

    def finish(self, outbox_id: int, message_id: int, status: str, now: datetime, **values: Any) -> None:
        self.conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(status=status, **values))
        delivery = {"sent": "sent", "failed": "failed"}.get(status, "retrying")
        self.conn.execute(update(messages).where(messages.c.id == message_id).values(delivery_status=delivery))
        conversation = select(messages.c.conversation_id).where(messages.c.id == message_id).scalar_subquery()
        self.conn.execute(update(conversations).where(conversations.c.id == conversation).values(updated_at=now))

    def outbox_rows(self, workspace_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(outbox).where(outbox.c.workspace_id == workspace_id).order_by(outbox.c.id))
        return [_dict(r) for r in rows]


class ConversationCustomers:
    """Keeps each conversation on the customer its messages belong to when identities change.

    Merges move conversations to the winner; an unmerge recomputes them from their latest inbound
    message's event; a rebuild leaves conversations in place (they are inbox state, not derived)
    and the replayed ``message_received`` events put their customers back.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Any, int | None]]) -> None:
        latest: dict[tuple[str, str], int] = {}
        for _seq, event, customer in rows:
            if event.name == "message_received" and event.source.startswith("service.") and customer is not None:
                key = str(event.properties.get("conversation_key") or "")
                latest[(event.source.removeprefix("service."), key)] = customer
        for (channel, key), customer in latest.items():
            self.conn.execute(
                update(conversations)
                .where(
                    conversations.c.workspace_id == workspace_id,
                    conversations.c.channel == channel,
                    conversations.c.conversation_key == key,
                )
                .values(customer_id=customer)
            )

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        for winner, loser in merges:
            self.conn.execute(
                update(conversations)
                .where(conversations.c.workspace_id == workspace_id, conversations.c.customer_id == loser)
                .values(customer_id=winner)
            )

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        if not customer_ids:
            return
        found = self.conn.execute(
            select(conversations.c.id, conversations.c.channel).where(
                conversations.c.workspace_id == workspace_id, conversations.c.customer_id.in_(sorted(customer_ids))
            )
        ).all()
        for conversation_id, channel in found:
            latest = (
                select(messages.c.external_id)
                .where(messages.c.conversation_id == conversation_id, messages.c.direction == "in")
                .order_by(messages.c.sent_at.desc(), messages.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            customer = self.conn.execute(
                select(events.c.customer_id).where(
                    events.c.workspace_id == workspace_id,
                    events.c.source == f"service.{channel}",
                    events.c.external_id == latest,
                )
            ).scalar()
            self.conn.execute(
                update(conversations).where(conversations.c.id == conversation_id).values(customer_id=customer)
            )

    def clear(self, workspace_id: int) -> None:
        """Nothing to forget: conversations are inbox state, and the replay re-applies their customers."""
