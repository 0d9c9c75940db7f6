"""Saved segments, their stored memberships and customer tags, on one connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, literal, select, update

from liuyu.domain.engagement.segment import Node
from liuyu.domain.errors import Conflict, NotFound
from liuyu.domain.orders import from_fen
from liuyu.storage import tables as t
from liuyu.storage.engagement_tables import saved_segments, segment_changes, segment_members
from liuyu.storage.segments import compile_segment

SEGMENT_COLUMNS = (
    "id",
    "name",
    "expression",
    "expression_json",
    "tag",
    "created_by",
    "created_at",
    "updated_at",
    "member_count",
    "refreshed_at",
)


class SqlEngagement:
    """Segments and tags of every workspace; each method takes the workspace and filters on it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- saved segments ---------------------------------------------------------------------

    def add_segment(self, workspace_id: int, row: dict[str, Any]) -> int:
        if self._segment_named(workspace_id, row["name"]) is not None:
            raise Conflict(f"a segment named {row['name']!r} exists already")
        result = self.conn.execute(insert(saved_segments).values(workspace_id=workspace_id, member_count=0, **row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def update_segment(self, workspace_id: int, segment_id: int, changes: dict[str, Any]) -> None:
        self.segment(workspace_id, segment_id)
        if "name" in changes:
            other = self._segment_named(workspace_id, changes["name"])
            if other is not None and other != segment_id:
                raise Conflict(f"a segment named {changes['name']!r} exists already")
        self.conn.execute(
            update(saved_segments)
            .where(saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment_id)
            .values(**changes)
        )

    def delete_segment(self, workspace_id: int, segment_id: int) -> None:
        self.segment(workspace_id, segment_id)
        for table in (segment_members, segment_changes):
            self.conn.execute(
                delete(table).where(table.c.workspace_id == workspace_id, table.c.segment_id == segment_id)
            )
        self.conn.execute(
            delete(saved_segments).where(
                saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment_id
            )
        )

    def segment(self, workspace_id: int, segment_id: int) -> dict[str, Any]:
        row = (
            self.conn.execute(
                select(*(saved_segments.c[name] for name in SEGMENT_COLUMNS)).where(
                    saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no segment {segment_id} in this workspace")
        return dict(row)

    def segments(self, workspace_id: int) -> list[dict[str, Any]]:
        query = (
            select(*(saved_segments.c[name] for name in SEGMENT_COLUMNS))
            .where(saved_segments.c.workspace_id == workspace_id)
            .order_by(saved_segments.c.name)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def _segment_named(self, workspace_id: int, name: str) -> int | None:
        return self.conn.execute(
            select(saved_segments.c.id).where(
                saved_segments.c.workspace_id == workspace_id, saved_segments.c.name == name
            )
        ).scalar()

    # -- memberships ------------------------------------------------------------------------

    def refresh_members(self, workspace_id: int, segment_id: int, tree: Node, now: datetime) -> tuple[int, int]:
        """Make the stored members equal the live ones, set-wise; records and returns (entered, exited)."""
        live = compile_segment(tree, workspace_id, now).subquery()
        mine = and_(segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id)
        leaving = and_(mine, segment_members.c.customer_id.not_in(select(live.c.id)))
        entering = live.c.id.not_in(select(segment_members.c.customer_id).where(mine))
        ws, seg, at = literal(workspace_id), literal(segment_id), literal(now, t.UTCDateTime())
        # rowcount of INSERT … SELECT is not reported by every driver, so count first.
        exited = self.conn.execute(select(func.count()).select_from(segment_members).where(leaving)).scalar_one()
        entered = self.conn.execute(select(func.count()).select_from(live).where(entering)).scalar_one()
        change_columns = ["workspace_id", "segment_id", "customer_id", "change", "at"]
        self.conn.execute(
            insert(segment_changes).from_select(
                change_columns, select(ws, seg, segment_members.c.customer_id, literal("exited"), at).where(leaving)
            )
        )
        self.conn.execute(delete(segment_members).where(leaving))
        self.conn.execute(
            insert(segment_changes).from_select(
                change_columns, select(ws, seg, live.c.id, literal("entered"), at).where(entering)
            )
        )
        self.conn.execute(
            insert(segment_members).from_select(
                ["workspace_id", "segment_id", "customer_id", "entered_at"],
                select(ws, seg, live.c.id, at).where(entering),
            )
        )
        total = self.conn.execute(select(func.count()).select_from(segment_members).where(mine)).scalar_one()
        self.update_segment(workspace_id, segment_id, {"member_count": total, "refreshed_at": now})
        return int(entered), int(exited)

    def members(self, workspace_id: int, segment_id: int, after: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Stored members in id order after ``after`` (keyset paging), with what a list shows."""
        c, tr = t.customers, t.customer_traits
        query = (
            select(
                c.c.id,
                c.c.name,
                c.c.province,
                c.c.city,
                func.coalesce(tr.c.order_count, 0).label("order_count"),
                func.coalesce(tr.c.total_spent_fen, 0).label("total_spent_fen"),
                tr.c.last_order_at,
                segment_members.c.entered_at,
            )
            .select_from(
                segment_members.join(
                    c, and_(c.c.id == segment_members.c.customer_id, c.c.workspace_id == workspace_id)
                ).outerjoin(tr, tr.c.customer_id == c.c.id)
            )
            .where(
                segment_members.c.workspace_id == workspace_id,
                segment_members.c.segment_id == segment_id,
                segment_members.c.customer_id > after,
            )
            .order_by(c.c.id)
            .limit(limit)
        )
        rows = self.conn.execute(query).mappings().all()
        return [
            {
                **{k: v for k, v in row.items() if k != "total_spent_fen"},
                "total_spent": from_fen(row["total_spent_fen"]),
            }
            for row in rows
        ]

    def changes(self, workspace_id: int, segment_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """The latest entries and exits, newest first."""
        query = (
            select(segment_changes.c.customer_id, segment_changes.c.change, segment_changes.c.at)
            .where(segment_changes.c.workspace_id == workspace_id, segment_changes.c.segment_id == segment_id)
            .order_by(segment_changes.c.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def customer_exists(self, workspace_id: int, customer_id: int) -> bool:
        found = self.conn.execute(
            select(t.customers.c.id).where(t.customers.c.workspace_id == workspace_id, t.customers.c.id == customer_id)
        ).first()
        return found is not None

    def is_member(self, workspace_id: int, segment_id: int, customer_id: int) -> bool:
        query = select(segment_members.c.customer_id).where(
            segment_members.c.workspace_id == workspace_id,
            segment_members.c.segment_id == segment_id,
            segment_members.c.customer_id == customer_id,
        )
        return self.conn.execute(query).first() is not None

    def member_ids(self, workspace_id: int, segment_id: int) -> Sequence[int]:
        query = select(segment_members.c.customer_id).where(
            segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id
        )
        return list(self.conn.execute(query.order_by(segment_members.c.customer_id)).scalars())
