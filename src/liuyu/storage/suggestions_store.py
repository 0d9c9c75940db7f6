"""Merge suggestions awaiting review, and the operator links that accepting one creates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from liuyu.storage import tables as t


class SqlSuggestions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def list(self, workspace_id: int, status: str = "pending", limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(t.merge_suggestions)
            .where(t.merge_suggestions.c.workspace_id == workspace_id, t.merge_suggestions.c.status == status)
            .order_by(t.merge_suggestions.c.probability.desc(), t.merge_suggestions.c.id)
            .limit(limit)
        ).mappings()
        return [dict(r) for r in rows]

    def get(self, workspace_id: int, suggestion_id: int) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(t.merge_suggestions).where(
                    t.merge_suggestions.c.workspace_id == workspace_id, t.merge_suggestions.c.id == suggestion_id
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def decide(self, suggestion_id: int, status: str, actor: str, now: datetime) -> None:
        self.conn.execute(
            update(t.merge_suggestions)
            .where(t.merge_suggestions.c.id == suggestion_id)
            .values(status=status, decided_by=actor, decided_at=now)
        )

    def add_link(
        self, workspace_id: int, anchor_a: int, anchor_b: int, suggestion_id: int | None, actor: str, now: datetime
    ) -> None:
        self.conn.execute(
            insert(t.links).values(
                workspace_id=workspace_id,
                anchor_a=anchor_a,
                anchor_b=anchor_b,
                suggestion_id=suggestion_id,
                created_at=now,
                created_by=actor,
            )
        )

    def separated(self, workspace_id: int, left: set[int], right: set[int]) -> bool:
        """True when an operator separated any anchor of one side from any of the other."""
        rows = self.conn.execute(
            select(t.separations.c.anchor_a, t.separations.c.anchor_b).where(
                t.separations.c.workspace_id == workspace_id,
                or_(t.separations.c.anchor_a.in_(left | right), t.separations.c.anchor_b.in_(left | right)),
            )
        )
        return any((a in left and b in right) or (a in right and b in left) for a, b in rows)
