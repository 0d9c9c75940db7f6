"""Rows behind the value views (20/80 by dimension, segments holding the core, cohorts).

Plain rows out; the arithmetic is in ``liuyu.analytics`` so both databases give the same answer.
Only live customers count (not merged away, not erased); an order counts with its paid amount net of
refunds, and an order line with its share of that net amount.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from liuyu.storage import tables as t
from liuyu.storage.engagement_tables import saved_segments, segment_members


class SqlValueReads:
    """Read-only queries of one workspace's orders and segment members."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _live(self, workspace_id: int):  # type: ignore[no-untyped-def]
        c = t.customers
        return and_(c.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None))

    def paid_orders(self, workspace_id: int) -> list[tuple[int, str, datetime, int]]:
        """Every paid order of a live customer as (customer_id, channel, paid time, net fen)."""
        c, o = t.customers, t.orders
        paid_at = func.coalesce(o.c.paid_at, o.c.placed_at)
        query = (
            select(o.c.customer_id, o.c.channel, paid_at, o.c.paid_fen - o.c.refunded_fen)
            .join(c, and_(c.c.id == o.c.customer_id, self._live(workspace_id)))
            .where(o.c.workspace_id == workspace_id, o.c.paid_fen.is_not(None), paid_at.is_not(None))
        )
        return [(int(cid), str(channel), at, int(fen)) for cid, channel, at, fen in self.conn.execute(query)]

    def paid_lines(self, workspace_id: int) -> list[tuple[int, str | None, int]]:
        """Every line of a paid order as (customer_id, category, net fen): the line's share of the net paid."""
        c, o, line = t.customers, t.orders, t.order_lines
        query = (
            select(o.c.customer_id, line.c.category, line.c.amount_fen, o.c.total_fen, o.c.paid_fen, o.c.refunded_fen)
            .select_from(line.join(o, o.c.id == line.c.order_pk))
            .join(c, and_(c.c.id == o.c.customer_id, self._live(workspace_id)))
            .where(o.c.workspace_id == workspace_id, o.c.paid_fen.is_not(None))
        )
        rows = []
        for cid, category, amount, total, paid, refunded in self.conn.execute(query):
            share = (amount or 0) / total if total else 0
            rows.append((int(cid), category, round(share * (paid - refunded))))
        return rows

    def segment_members(self, workspace_id: int) -> list[tuple[int, str, int]]:
        """(segment id, segment name, customer id) for every saved segment's current members."""
        s, m = saved_segments, segment_members
        query = (
            select(s.c.id, s.c.name, m.c.customer_id)
            .select_from(s.join(m, m.c.segment_id == s.c.id))
            .where(s.c.workspace_id == workspace_id)
        )
        return [(int(sid), str(name), int(cid)) for sid, name, cid in self.conn.execute(query)]
