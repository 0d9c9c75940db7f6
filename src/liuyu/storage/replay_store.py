"""SQL for replaying the event log: a whole workspace (rebuild) or one customer's component (unmerge)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from liuyu.domain.eventlog import Event
from liuyu.storage import tables as t
from liuyu.storage.codec import event_from_row
from liuyu.storage.ingest_store import chunks

PROFILE_RESET = {"name": None, "gender": None, "province": None, "city": None, "address": None, "birthday": None}


class SqlReplayStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def anchors(self, workspace_id: int, root: int | None = None) -> dict[int, int]:
        """anchor seq -> customer id, for one component (root and its losers) or the whole workspace."""
        query = select(t.customers.c.anchor_seq, t.customers.c.id).where(t.customers.c.workspace_id == workspace_id)
        if root is not None:
            query = query.where(or_(t.customers.c.id == root, t.customers.c.merged_into == root))
        return {anchor: cid for anchor, cid in self.conn.execute(query)}

    def events(
        self, workspace_id: int, customer_id: int | None = None, batch: int = 5000
    ) -> Iterator[list[tuple[int, Event]]]:
        """The log in seq order, in batches; only one customer's events when ``customer_id`` is given."""
        last = 0
        while True:
            query = (
                select(t.events)
                .where(t.events.c.workspace_id == workspace_id, t.events.c.seq > last)
                .order_by(t.events.c.seq)
                .limit(batch)
            )
            if customer_id is not None:
                query = query.where(t.events.c.customer_id == customer_id)
            rows = self.conn.execute(query).all()
            if not rows:
                return
            last = rows[-1].seq
            yield [(row.seq, event_from_row(row)) for row in rows]

    def clear_component(self, workspace_id: int, members: list[int]) -> None:
        """Forget the identity-derived rows of these customers (the log keeps everything needed)."""
        for part in chunks(members):
            ids = list(part)
            for table in (t.identifiers, t.masked_identifiers):
                self.conn.execute(
                    delete(table).where(table.c.workspace_id == workspace_id, table.c.customer_id.in_(ids))
                )
            self.conn.execute(delete(t.customer_traits).where(t.customer_traits.c.customer_id.in_(ids)))
            self.conn.execute(
                delete(t.merges).where(
                    t.merges.c.workspace_id == workspace_id,
                    t.merges.c.undone_at.is_(None),
                    or_(t.merges.c.winner_id.in_(ids), t.merges.c.loser_id.in_(ids)),
                )
            )
            self.conn.execute(
                update(t.customers).where(t.customers.c.id.in_(ids)).values(merged_into=None, **PROFILE_RESET)
            )

    def clear_workspace(self, workspace_id: int) -> None:
        """Drop every derived row of a workspace; undone merges stay as operator history."""
        ws = workspace_id
        for table in (
            t.order_status_history,
            t.order_lines,
            t.orders,
            t.customer_traits,
            t.masked_identifiers,
            t.identifiers,
        ):
            self.conn.execute(delete(table).where(table.c.workspace_id == ws))
        self.conn.execute(delete(t.merges).where(t.merges.c.workspace_id == ws, t.merges.c.undone_at.is_(None)))
        self.conn.execute(delete(t.customers).where(t.customers.c.workspace_id == ws))
        self.conn.execute(update(t.events).where(t.events.c.workspace_id == ws).values(customer_id=None))

    def assign_events(self, assignments: dict[int, int | None]) -> None:
        if assignments:
            self.conn.execute(
                update(t.events).where(t.events.c.seq == bindparam("s")).values(customer_id=bindparam("c")),
                [{"s": seq, "c": cid} for seq, cid in assignments.items()],
            )

    def reassign_orders(self, workspace_id: int, owners: dict[tuple[str, str], int | None]) -> None:
        if owners:
            self.conn.execute(
                update(t.orders)
                .where(
                    t.orders.c.workspace_id == workspace_id,
                    t.orders.c.platform == bindparam("p"),
                    t.orders.c.order_id == bindparam("o"),
                )
                .values(customer_id=bindparam("c")),
                [{"p": p, "o": o, "c": c} for (p, o), c in owners.items()],
            )

    def existing_customers(self, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for part in chunks(ids):
            found.update(self.conn.execute(select(t.customers.c.id).where(t.customers.c.id.in_(list(part)))).scalars())
        return found

    def add_separation(
        self, workspace_id: int, anchor_a: int, anchor_b: int, merge_id: int, actor: str, now: datetime
    ) -> None:
        self.conn.execute(
            insert(t.separations).values(
                workspace_id=workspace_id,
                anchor_a=anchor_a,
                anchor_b=anchor_b,
                merge_id=merge_id,
                created_at=now,
                created_by=actor,
            )
        )

    def merge(self, workspace_id: int, merge_id: int) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(t.merges).where(t.merges.c.workspace_id == workspace_id, t.merges.c.id == merge_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def customer(self, workspace_id: int, customer_id: int) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(t.customers).where(t.customers.c.workspace_id == workspace_id, t.customers.c.id == customer_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def mark_undone(self, merge_id: int, actor: str, now: datetime) -> None:
        self.conn.execute(update(t.merges).where(t.merges.c.id == merge_id).values(undone_at=now, undone_by=actor))

    def digest(self, workspace_id: int) -> str:
        """A fingerprint of every derived table, independent of surrogate keys and write times."""
        h = hashlib.sha256()
        ws = workspace_id
        o = t.orders
        queries = [
            select(
                t.customers.c.id,
                t.customers.c.anchor_seq,
                t.customers.c.merged_into,
                t.customers.c.name,
                t.customers.c.city,
                t.customers.c.first_seen,
                t.customers.c.last_seen,
            )
            .where(t.customers.c.workspace_id == ws)
            .order_by(t.customers.c.id),
            select(t.identifiers.c.kind, t.identifiers.c.value, t.identifiers.c.customer_id, t.identifiers.c.verified)
            .where(t.identifiers.c.workspace_id == ws)
            .order_by(t.identifiers.c.kind, t.identifiers.c.value),
            select(t.masked_identifiers)
            .where(t.masked_identifiers.c.workspace_id == ws)
            .order_by(*t.masked_identifiers.primary_key.columns),
            select(
                t.merges.c.winner_id, t.merges.c.loser_id, t.merges.c.rule, t.merges.c.event_seq, t.merges.c.undone_at
            )
            .where(t.merges.c.workspace_id == ws)
            .order_by(t.merges.c.event_seq, t.merges.c.winner_id, t.merges.c.loser_id),
            select(*[c for c in o.columns if c.name != "id"])
            .where(o.c.workspace_id == ws)
            .order_by(o.c.platform, o.c.order_id),
            select(
                o.c.platform,
                o.c.order_id,
                *[c for c in t.order_lines.columns if c.name not in ("order_pk", "workspace_id")],
            )
            .join(o, o.c.id == t.order_lines.c.order_pk)
            .where(o.c.workspace_id == ws)
            .order_by(o.c.platform, o.c.order_id, t.order_lines.c.line_no),
            select(o.c.platform, o.c.order_id, t.order_status_history.c.event_seq, t.order_status_history.c.status)
            .join(o, o.c.id == t.order_status_history.c.order_pk)
            .where(o.c.workspace_id == ws)
            .order_by(t.order_status_history.c.event_seq),
            select(t.customer_traits)
            .where(t.customer_traits.c.workspace_id == ws)
            .order_by(t.customer_traits.c.customer_id),
            select(t.events.c.seq, t.events.c.customer_id)
            .where(t.events.c.workspace_id == ws)
            .order_by(t.events.c.seq),
        ]
        for query in queries:
            for row in self.conn.execute(query):
                h.update(json.dumps([str(v) for v in row], ensure_ascii=False).encode())
            h.update(b"|")
        return h.hexdigest()
