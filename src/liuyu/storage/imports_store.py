"""Import runs and rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from liuyu.storage import tables as t


class SqlImports:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def start(self, workspace_id: int, kind: str, fmt: str, filename: str, digest: str, now: datetime) -> int:
        return int(
            self.conn.execute(
                insert(t.imports)
                .values(
                    workspace_id=workspace_id,
                    kind=kind,
                    format=fmt,
                    filename=filename,
                    file_sha256=digest,
                    status="running",
                    started_at=now,
                )
                .returning(t.imports.c.id)
            ).scalar_one()
        )

    def finish(
        self, import_id: int, status: str, counts: dict[str, int], error_file: str | None, now: datetime
    ) -> None:
        self.conn.execute(
            update(t.imports)
            .where(t.imports.c.id == import_id)
            .values(status=status, finished_at=now, error_file=error_file, **counts)
        )

    def reject(self, workspace_id: int, rows: list[dict[str, Any]], now: datetime) -> None:
        """Record rejected items once each (re-running an import does not count them again)."""
        if not rows:
            return
        dialect_insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        self.conn.execute(
            dialect_insert(t.rejections).on_conflict_do_nothing(),
            [{**row, "workspace_id": workspace_id, "at": now} for row in rows],
        )

    def history(self, workspace_id: int, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(t.imports)
            .where(t.imports.c.workspace_id == workspace_id)
            .order_by(t.imports.c.id.desc())
            .limit(limit)
        ).mappings()
        return [dict(r) for r in rows]

    def get(self, workspace_id: int, import_id: int) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(t.imports).where(t.imports.c.workspace_id == workspace_id, t.imports.c.id == import_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None
