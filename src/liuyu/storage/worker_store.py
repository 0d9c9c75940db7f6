"""Each scheduled job's last run (``worker_job_runs``): written by the worker, read by the API,
the console and ``liuyu worker status``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from liuyu.storage.worker_tables import worker_job_runs

RUN_COLUMNS = ("job", "started_at", "finished_at", "items", "error", "worker")


def record_run(
    conn: Connection,
    job: str,
    *,
    started_at: datetime,
    finished_at: datetime,
    items: int,
    error: str | None,
    worker: str,
) -> None:
    """Keep this run as the job's last one (one row per job, replaced in place)."""
    table = worker_job_runs
    upsert = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    row = {
        "job": job,
        "started_at": started_at,
        "finished_at": finished_at,
        "items": items,
        "error": error,
        "worker": worker,
    }
    conn.execute(
        upsert.values(**row).on_conflict_do_update(
            index_elements=[table.c.job], set_={name: upsert.excluded[name] for name in RUN_COLUMNS[1:]}
        )
    )


def last_runs(conn: Connection) -> list[dict[str, Any]]:
    """Every job's last run, by job name."""
    query = select(*(worker_job_runs.c[name] for name in RUN_COLUMNS)).order_by(worker_job_runs.c.job)
    return [dict(row) for row in conn.execute(query).mappings()]
