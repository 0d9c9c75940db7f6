"""Bulk import of order/behaviour events with identity resolution and trait updates.

Prints events/s on SQLite and PostgreSQL and the ratio to a raw insert of the same rows
(sqlite3.executemany / COPY into a bare table) measured in the same run.
Run: .venv/bin/python -m bench.ingest [N]   (default 1,000,000 × LIUYU_BENCH_SCALE)
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime

import orjson
from sqlalchemy import text

from bench.common import fresh_database, pg_available, report, scale, timer
from liuyu.demo import bench_events
from liuyu.services.ingest import ingest_events, refresh_deferred_traits
from liuyu.storage.codec import event_to_payload
from liuyu.storage.uow import SqlUnitOfWork

BATCH = 5000


def run(kind: str, events: list, tmp: str) -> None:  # type: ignore[type-arg]
    rows = [
        (i, e.source, e.external_id, e.type, e.occurred_at.isoformat(), orjson.dumps(event_to_payload(e)).decode())
        for i, e in enumerate(events)
    ]
    with fresh_database(kind, tmp) as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE raw_events (seq BIGINT, source TEXT, external_id TEXT, type TEXT, "
                    "occurred_at TEXT, payload TEXT)"
                )
            )
        with timer() as raw_time, engine.begin() as conn:
            driver = conn.connection.driver_connection
            if kind == "sqlite":
                driver.executemany("INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, ?)", rows)
            else:
                with driver.cursor() as cur, cur.copy("COPY raw_events FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        with SqlUnitOfWork(engine) as uow:
            ws = uow.accounts.create_workspace("bench", "bench", datetime.now(UTC))
            uow.commit()
        customers = 0
        with timer() as ingest_time:
            for start in range(0, len(events), BATCH):
                with SqlUnitOfWork(engine) as uow:
                    result = ingest_events(uow.ingest, ws, events[start : start + BATCH], defer_traits=True)
                    customers += result.customers_created
                    uow.commit()
            refresh_deferred_traits(lambda: SqlUnitOfWork(engine), ws)
    n = len(events)
    baseline = "sqlite3.executemany" if kind == "sqlite" else "COPY"
    report(
        f"ingest {kind} ({n:,} events, {customers:,} customers)",
        n / ingest_time[0],
        "events/s",
        baseline,
        n / raw_time[0],
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else scale(1_000_000)
    events = list(bench_events(n, seed=1, overlap=0.2))
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", events, tmp)
        if pg_available():
            run("postgresql", events, tmp)
        else:
            print("ingest postgresql: skipped (PostgreSQL not reachable)")


if __name__ == "__main__":
    main()
