"""Workspaces, users, API keys, sessions and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from liuyu.storage import tables as t


class SqlAccounts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def create_workspace(self, slug: str, name: str, now: datetime) -> int:
        return int(
            self.conn.execute(
                insert(t.workspaces)
                .values(slug=slug, name=name, settings={}, created_at=now)
                .returning(t.workspaces.c.id)
            ).scalar_one()
        )

    def workspace_by_slug(self, slug: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.workspaces).where(t.workspaces.c.slug == slug)).mappings().first()
        return dict(row) if row else None

    def workspace(self, workspace_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.workspaces).where(t.workspaces.c.id == workspace_id)).mappings().first()
        return dict(row) if row else None

    def set_setting(self, workspace_id: int, key: str, value: Any) -> None:
        """Replace one top-level key of the workspace's settings (locks the row so writers do not race)."""
        w = t.workspaces
        query = select(w.c.settings).where(w.c.id == workspace_id)
        current = self.conn.execute(query.with_for_update()).scalar_one()
        self.conn.execute(update(w).where(w.c.id == workspace_id).values(settings={**(current or {}), key: value}))

    def workspaces(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(select(t.workspaces).order_by(t.workspaces.c.id)).mappings()]

    def create_user(
        self, workspace_id: int, email: str, name: str, password_hash: str, role: str, now: datetime
    ) -> int:
        return int(
            self.conn.execute(
                insert(t.users)
                .values(
                    workspace_id=workspace_id,
                    email=email,
                    name=name,
                    password_hash=password_hash,
                    role=role,
                    locale="zh_CN",
                    created_at=now,
                )
                .returning(t.users.c.id)
            ).scalar_one()
        )

    def users_by_email(self, email: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(t.users).where(t.users.c.email == email, t.users.c.disabled_at.is_(None))
        ).mappings()
        return [dict(r) for r in rows]

    def user(self, user_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).mappings().first()
        return dict(row) if row else None

    def update_password_hash(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash))

    def set_locale(self, user_id: int, locale: str) -> None:
        self.conn.execute(update(t.users).where(t.users.c.id == user_id).values(locale=locale))

    def create_key(
        self, workspace_id: int, prefix: str, key_hash: str, source: str, role: str, name: str, now: datetime
    ) -> int:
        return int(
            self.conn.execute(
                insert(t.api_keys)
                .values(
                    workspace_id=workspace_id,
                    prefix=prefix,
                    key_hash=key_hash,
                    source=source,
                    role=role,
                    name=name,
                    created_at=now,
                )
                .returning(t.api_keys.c.id)
            ).scalar_one()
        )

    def key_by_prefix(self, prefix: str) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(t.api_keys).where(t.api_keys.c.prefix == prefix, t.api_keys.c.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def create_session(self, token_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
        self.conn.execute(
            insert(t.sessions).values(token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires)
        )

    def session(self, token_hash: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.sessions).where(t.sessions.c.token_hash == token_hash)).mappings().first()
        return dict(row) if row else None

    def delete_session(self, token_hash: str) -> None:
        self.conn.execute(delete(t.sessions).where(t.sessions.c.token_hash == token_hash))

    def audit(
        self, workspace_id: int, actor: str, action: str, target: str, detail: dict[str, Any], now: datetime
    ) -> None:
        self.conn.execute(
            insert(t.audit_log).values(
                workspace_id=workspace_id, actor=actor, action=action, target=target, detail=detail, at=now
            )
        )
