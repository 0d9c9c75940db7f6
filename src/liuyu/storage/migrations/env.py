"""Alembic environment: runs on the connection liuyu hands over (see storage.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from liuyu.storage.db import normalize_url
from liuyu.storage.tables import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///liuyu.db"
    with create_engine(normalize_url(url)).begin() as conn:
        _run(conn)
