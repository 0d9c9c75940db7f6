"""SQL for exporting and erasing one customer's personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from liuyu.storage import tables as t
from liuyu.storage.service_quality_tables import attachments
from liuyu.storage.service_tables import conversations
from liuyu.storage.service_tables import messages as service_messages


class SqlPrivacy:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def events_of(self, workspace_id: int, customer_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(t.events)
            .where(t.events.c.workspace_id == workspace_id, t.events.c.customer_id == customer_id)
            .order_by(t.events.c.seq)
        ).mappings()
        return [dict(r) for r in rows]

    def identifiers_of(self, workspace_id: int, customer_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(t.identifiers).where(
                t.identifiers.c.workspace_id == workspace_id, t.identifiers.c.customer_id == customer_id
            )
        ).mappings()
        return [dict(r) for r in rows]

    def replace_identifiers(self, workspace_id: int, replacements: dict[tuple[str, str], str]) -> None:
        if replacements:
            self.conn.execute(
                update(t.identifiers)
                .where(
                    t.identifiers.c.workspace_id == workspace_id,
                    t.identifiers.c.kind == bindparam("k"),
                    t.identifiers.c.value == bindparam("old"),
                )
                .values(value=bindparam("new")),
                [{"k": k, "old": v, "new": new} for (k, v), new in replacements.items()],
            )

    def rewrite_payloads(self, payloads: dict[int, dict[str, Any]]) -> None:
        if payloads:
            self.conn.execute(
                update(t.events).where(t.events.c.seq == bindparam("s")).values(payload=bindparam("p")),
                [{"s": seq, "p": payload} for seq, payload in payloads.items()],
            )

    def scrub_conversations(self, workspace_id: int, customer_ids: list[int]) -> int:
        """Service-hub messages of these customers lose their text, sender and reply address."""
        ids = list(
            self.conn.execute(
                select(conversations.c.id).where(
                    conversations.c.workspace_id == workspace_id, conversations.c.customer_id.in_(customer_ids)
                )
            ).scalars()
        )
        if not ids:
            return 0
        self.conn.execute(
            update(conversations)
            .where(conversations.c.id == bindparam("cid"))
            .values(reply_to=None, conversation_key=bindparam("key")),
            [{"cid": c, "key": f"erased:{c}"} for c in ids],
        )
        done = self.conn.execute(
            update(service_messages)
            .where(service_messages.c.workspace_id == workspace_id, service_messages.c.conversation_id.in_(ids))
            .values(text="[erased]", sender="", analysis=None)
        )
        return int(done.rowcount or 0)

    def erase_attachments(self, workspace_id: int, customer_ids: list[int]) -> tuple[int, list[str]]:
        """Delete the attachment rows of these customers' conversations; returns how many, and the
        digests no attachment row (of any customer or workspace) refers to any more, whose files can go."""
        theirs = (
            select(service_messages.c.id)
            .select_from(service_messages.join(conversations, conversations.c.id == service_messages.c.conversation_id))
            .where(conversations.c.workspace_id == workspace_id, conversations.c.customer_id.in_(customer_ids))
        )
        digests = set(
            self.conn.execute(
                select(attachments.c.sha256).where(
                    attachments.c.workspace_id == workspace_id, attachments.c.message_id.in_(theirs)
                )
            ).scalars()
        )
        if not digests:
            return 0, []
        done = self.conn.execute(
            delete(attachments).where(attachments.c.workspace_id == workspace_id, attachments.c.message_id.in_(theirs))
        )
        kept = set(
            self.conn.execute(
                select(attachments.c.sha256).where(attachments.c.sha256.in_(sorted(digests))).distinct()
            ).scalars()
        )
        return int(done.rowcount or 0), sorted(digests - kept)

    def scrub_customer(self, workspace_id: int, customer_ids: list[int], now: datetime) -> None:
        self.conn.execute(
            delete(t.masked_identifiers).where(
                t.masked_identifiers.c.workspace_id == workspace_id,
                t.masked_identifiers.c.customer_id.in_(customer_ids),
            )
        )
        self.conn.execute(
            update(t.customers)
            .where(t.customers.c.workspace_id == workspace_id, t.customers.c.id.in_(customer_ids))
            .values(name=None, gender=None, address=None, birthday=None, erased_at=now)
        )
