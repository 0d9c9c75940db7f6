"""Tickets: a department queue's list (p95 ms) and the escalation job's throughput (tickets/s).

Seeds N tickets (default 200,000 × LIUYU_BENCH_SCALE) over four queues, a share of them past due,
then times ``list_tickets`` for one queue's open tickets, soonest due first, and for all queues'
open tickets (baseline: reading one ticket by its key), and ``escalate_due`` over the breached
tickets in passes of 200 (baseline: opening as many tickets through ``open_ticket``).
Run: .venv/bin/python -m bench.tickets [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from bench.common import fresh_database, p95, pg_available, report, scale
from liuyu.services import tickets
from liuyu.storage.ticket_tables import tickets as ticket_rows
from liuyu.storage.uow import SqlUnitOfWork

QUEUES = ("售后", "物流", "质量", "财务")
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai
RUNS = 50


def seed(engine: Engine, n: int, due: int) -> int:
    rng = random.Random(7)
    with SqlUnitOfWork(engine) as uow:
        ws = int(uow.accounts.create_workspace("bench", "bench", NOW))
        uow.commit()
    rows = []
    for i in range(n):
        opened = NOW - timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        late = i < due
        due_at = NOW - timedelta(minutes=5) if late else NOW + timedelta(minutes=rng.randint(1, 60 * 24 * 5))
        rows.append(
            {
                "workspace_id": ws,
                "subject": f"工单 {i}",
                "category": "售后",
                "fields": {},
                "priority": "normal",
                "status": "open" if rng.random() < 0.6 or late else "resolved",
                "queue": rng.choice(QUEUES),
                "source": "api",
                "opened_at": opened if not late else NOW - timedelta(days=10),
                "awaiting_reply_since": opened,
                "pauses": [],
                "escalations_fired": [],
                "resolution_due_at": due_at,
                "sla_state": "running",
                "sla_due_at": due_at,
                "sla_check_at": due_at + timedelta(seconds=1),
                "version": 1,
                "created_at": opened,
                "updated_at": opened,
            }
        )
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(ticket_rows), rows[start : start + 5000])
        # A live database has statistics (autovacuum); a bulk-loaded one must be told, or
        # PostgreSQL guesses one row per queue and picks the wrong index (1.9 s instead of 0.2 ms).
        conn.exec_driver_sql("ANALYZE tickets")
    return ws


def timed(action: object, runs: int = RUNS) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def run(kind: str, n: int, tmp: str) -> None:
    due = max(200, n // 100)
    with fresh_database(kind, tmp) as engine:
        ws = seed(engine, n, due)
        with SqlUnitOfWork(engine) as uow:
            queue = timed(lambda: uow.tickets.list_tickets(ws, queue="物流", status="open", limit=50))
            every = timed(lambda: uow.tickets.list_tickets(ws, status="open", limit=50))
            one = timed(lambda: uow.tickets.ticket(ws, n // 2))
        report(f"tickets {kind} queue list ({n:,} tickets)", p95(queue), "ms p95", "one ticket by key", p95(one))
        report(f"tickets {kind} all queues, open ({n:,} tickets)", p95(every), "ms p95", "one ticket by key", p95(one))

        start = time.perf_counter()
        escalated = 0
        while True:
            with SqlUnitOfWork(engine) as uow:
                applied = tickets.escalate_due(uow, NOW, limit=200)
                uow.commit()
            if not applied:
                break
            escalated += applied
        job = time.perf_counter() - start
        start = time.perf_counter()
        with SqlUnitOfWork(engine) as uow:
            for i in range(due):
                tickets.open_ticket(
                    uow, ws, customer_id=None, subject=f"新工单 {i}", source="api", actor="bench", now=NOW
                )
            uow.commit()
        opening = time.perf_counter() - start
        report(
            f"tickets {kind} escalation job ({due:,} breached, {escalated:,} actions)",
            due / job,
            "tickets/s",
            "open_ticket",
            due / opening,
        )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else scale(200_000)
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", n, tmp)
        if pg_available():
            run("postgresql", n, tmp)
        else:
            print("tickets postgresql: skipped (PostgreSQL not reachable)")


if __name__ == "__main__":
    main()
