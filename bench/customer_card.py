"""Customer card beside a conversation: p95 ms of the whole card (summary, membership, recent
orders, open tickets, recent marketing touches) for random customers, on SQLite and PostgreSQL.

Rows are bulk-loaded straight into the tables: per customer about 3 orders (each with two status
changes), 2 tickets (a third of them open), 5 send decisions (a quarter skipped) and 2 journey
entries; nobody is a loyalty member (the card still asks the member center); one customer in ten is merged
into another, so the card reads a family. Baseline in the same run: a primary-key read of the
customer row. Default 20,000 customers; ``--full`` (or LIUYU_BENCH_FULL=1) loads 200,000.
Run: .venv/bin/python -m bench.customer_card [--full] [--customers N] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import fresh_database, p95, pg_available, report, scale
from liuyu.api.routes.conversations import customer_card
from liuyu.services.accounts import Principal
from liuyu.storage.journey_tables import journey_enrollments, journeys
from liuyu.storage.messaging_tables import messaging_sends
from liuyu.storage.tables import customers, order_status_history, orders, workspaces
from liuyu.storage.ticket_tables import tickets
from liuyu.storage.uow import SqlUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = ("售后", "物流", "质量", "财务")
REASONS = ("no_consent", "frequency_cap", "opted_out", "quiet_hours")
STATES = ("active", "completed", "converted", "exited", "holdout")


def _ticket(n: int, customer: int, rng: random.Random) -> dict[str, Any]:
    at = T0 + timedelta(minutes=n)
    live = rng.random() < 0.33
    return {
        "id": n,
        "workspace_id": 1,
        "subject": f"工单 {n}",
        "category": "售后",
        "fields": {},
        "priority": "normal",
        "status": "open" if live else "resolved",
        "queue": rng.choice(QUEUES),
        "customer_id": customer,
        "source": "api",
        "opened_at": at,
        "pauses": [],
        "escalations_fired": [],
        "sla_state": "running" if live else "met",
        "sla_due_at": at + timedelta(hours=8) if live else None,
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }


def _order(n: int, customer: int, rng: random.Random) -> dict[str, Any]:
    at = T0 + timedelta(minutes=n)
    return {
        "id": n,
        "workspace_id": 1,
        "platform": rng.choice(("tmall", "jd", "douyin")),
        "order_id": f"o{n}",
        "customer_id": customer,
        "status": "shipped",
        "total_fen": 100 * (n % 500 + 1),
        "refunded_fen": 0,
        "currency": "CNY",
        "placed_at": at,
        "channel": "tmall",
        "last_seq": n,
    }


def _send(n: int, customer: int, rng: random.Random) -> dict[str, Any]:
    skipped = rng.random() < 0.25
    return {
        "id": n,
        "workspace_id": 1,
        "customer_id": customer,
        "channel": "sms",
        "template": "会员日",
        "purpose": "marketing",
        "source": "journey:1",
        "idempotency_key": f"k{n}",
        "decision": "skipped" if skipped else "queued",
        "reason": rng.choice(REASONS) if skipped else None,
        "detail": "",
        "delivery_status": None if skipped else "sent",
        "decided_at": T0 + timedelta(minutes=n),
    }


def _enrollment(n: int, customer: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": n,
        "workspace_id": 1,
        "journey_id": 1 + n % 5,
        "version": 1,
        "customer_id": customer,
        "entry_key": f"e{n}",
        "grp": "treatment",
        "state": rng.choice(STATES),
        "entered_at": T0 + timedelta(minutes=n),
        "entered_seq": n,
    }


def load(engine: Any, total: int) -> float:
    """Bulk-insert ``total`` customers and their tickets, sends and journey entries; returns seconds."""
    started = time.perf_counter()
    rng = random.Random(5)
    with engine.begin() as conn:
        conn.execute(workspaces.insert().values(id=1, slug="bench", name="bench", settings={}, created_at=T0))
        conn.execute(
            customers.insert(),
            [
                {"id": c, "workspace_id": 1, "anchor_seq": c, "merged_into": c - 1 if c % 10 == 0 else None}
                for c in range(1, total + 1)
            ],
        )
        conn.execute(
            journeys.insert(),
            [
                {
                    "id": j,
                    "workspace_id": 1,
                    "name": f"旅程 {j}",
                    "status": "active",
                    "version": 1,
                    "trigger_kind": "event",
                    "created_by": "bench",
                    "created_at": T0,
                    "updated_at": T0,
                }
                for j in range(1, 6)
            ],
        )
        for table, per, make in (
            (orders, 3, _order),
            (tickets, 2, _ticket),
            (messaging_sends, 5, _send),
            (journey_enrollments, 2, _enrollment),
        ):
            rows = [make(n, rng.randint(1, total), rng) for n in range(1, total * per + 1)]
            for start in range(0, len(rows), 20_000):
                conn.execute(table.insert(), rows[start : start + 20_000])
        changes = [
            {"order_pk": n, "event_seq": 2 * n + k, "workspace_id": 1, "status": status, "at": T0 + timedelta(hours=k)}
            for n in range(1, total * 3 + 1)
            for k, status in enumerate(("paid", "shipped"))
        ]
        for start in range(0, len(changes), 20_000):
            conn.execute(order_status_history.insert(), changes[start : start + 20_000])
        if engine.dialect.name == "postgresql":
            for name in (
                "customers",
                "orders",
                "order_status_history",
                "tickets",
                "messaging_sends",
                "journey_enrollments",
                "journeys",
            ):
                conn.exec_driver_sql(f"ANALYZE {name}")
    return time.perf_counter() - started


def measure(kind: str, total: int, tmp: str, samples: int = 400) -> None:
    agent = Principal(workspace_id=1, role="agent", actor="bench")
    with fresh_database(kind, tmp) as engine:
        loaded = load(engine, total)
        rng = random.Random(11)
        cards, base = [], []
        with SqlUnitOfWork(engine) as uow:
            conn = uow.conn
            for _ in range(samples):
                cid = rng.randint(1, total)
                a = time.perf_counter()
                card = customer_card(uow, 1, cid, agent)
                cards.append((time.perf_counter() - a) * 1000)
                assert card is not None and "touches" in card and "orders" in card
                a = time.perf_counter()
                conn.execute(customers.select().where(customers.c.id == cid)).first()
                base.append((time.perf_counter() - a) * 1000)
    size = (
        f"{total:,} customers, {3 * total:,} orders, {2 * total:,} tickets, {5 * total:,} sends, "
        f"{2 * total:,} journey entries"
    )
    report(
        f"customer card {kind} ({size}; loaded in {loaded:.0f} s)", p95(cards), "ms p95", "primary-key row", p95(base)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("LIUYU_BENCH_FULL") == "1")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    total = args.customers or (200_000 if args.full else scale(20_000))
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", total, tmp)
        if not args.no_postgres and pg_available():
            measure("postgresql", total, tmp)


if __name__ == "__main__":
    main()
