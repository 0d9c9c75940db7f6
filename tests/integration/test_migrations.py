"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from liuyu.storage.db import make_engine, upgrade
from liuyu.storage.tables import metadata


def test_upgrading_an_empty_database_matches_the_declared_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(
                text(
                    f'DROP TABLE IF EXISTS "{table.name}" CASCADE'
                    if engine.dialect.name == "postgresql"
                    else f'DROP TABLE IF EXISTS "{table.name}"'
                )
            )
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    engine.dispose()
    assert diff == []
