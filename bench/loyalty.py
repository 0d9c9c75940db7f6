"""Bulk point posting while importing orders: ledger entries/s, and what the member center adds to an import.

Imports the same order events (placed and paid, from ``liuyu.demo.bench_events``) twice into fresh
databases, once without projections (the baseline) and once with the member center's projection
only (posting points; the other areas' projections are theirs to measure), in batches of 5,000 as
``liuyu import`` does. Prints the import rate of both, the ledger entries posted per second, and
the ratio of the two import times (target: the member center adds at most 50 %, a ratio of at
most 1.5).
Run: .venv/bin/python -m bench.loyalty [ORDERS]   (default 20,000 paid orders × LIUYU_BENCH_SCALE;
     ``--full`` or LIUYU_BENCH_LOYALTY_ORDERS=1000000 for the issue's 1,000,000 orders)
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime

from sqlalchemy import func, select

from bench.common import fresh_database, pg_available, scale, timer
from liuyu.demo import bench_events
from liuyu.services.ingest import ingest_events
from liuyu.storage.loyalty_store import LoyaltyProjection
from liuyu.storage.loyalty_tables import loyalty_entries
from liuyu.storage.uow import SqlUnitOfWork

BATCH = 5000


def import_all(kind: str, events: list, tmp: str, *, member_center: bool) -> tuple[float, int]:  # type: ignore[type-arg]
    """Seconds to import the events, and the ledger entries posted."""
    with fresh_database(kind, tmp) as engine:
        with SqlUnitOfWork(engine) as uow:
            ws = uow.accounts.create_workspace("bench", "bench", datetime.now(UTC))
            uow.commit()
        with timer() as took:
            for start in range(0, len(events), BATCH):
                with SqlUnitOfWork(engine) as uow:
                    projections = [LoyaltyProjection(uow.conn)] if member_center else []
                    ingest_events(uow.ingest, ws, events[start : start + BATCH], projections=projections)
                    uow.commit()
        with engine.connect() as conn:
            entries = conn.execute(select(func.count()).select_from(loyalty_entries)).scalar_one()
    return took[0], entries


def run(kind: str, events: list, tmp: str) -> None:  # type: ignore[type-arg]
    orders = sum(1 for e in events if e.type == "order_paid")
    base, _ = import_all(kind, events, tmp, member_center=False)
    with_center, entries = import_all(kind, events, tmp, member_center=True)
    n = len(events)
    print(
        f"loyalty {kind} ({n:,} order events, {orders:,} paid orders): "
        f"import {n / with_center:,.0f} events/s with the member center, {n / base:,.0f} without | "
        f"{entries:,} ledger entries, {entries / with_center:,.0f} entries/s | "
        f"time ratio {with_center / base:.2f} (target <= 1.50)"
    )


def order_events(orders: int) -> list:  # type: ignore[type-arg]
    """Order events of the generated log until ``orders`` orders have been paid."""
    out, paid = [], 0
    for event in bench_events(orders * 14, seed=1, overlap=0.2):
        if event.order is None:
            continue
        out.append(event)
        paid += event.type == "order_paid"
        if paid >= orders:
            break
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--full"]
    if "--full" in sys.argv[1:]:
        orders = 1_000_000
    elif args:
        orders = int(args[0])
    else:
        orders = int(os.environ.get("LIUYU_BENCH_LOYALTY_ORDERS", "0")) or scale(20_000)
    events = order_events(orders)
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", events, tmp)
        if pg_available():
            run("postgresql", events, tmp)
        else:
            print("loyalty postgresql: skipped (PostgreSQL not reachable)")


if __name__ == "__main__":
    main()
