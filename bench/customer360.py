"""Customer 360 read latency at 1,000,000 customers / 10,000,000 events (× LIUYU_BENCH_SCALE).

Rows are bulk-loaded straight into the tables (the read path is what is measured), then the
360 of random customers is read. Prints p95 ms and the ratio to a primary-key lookup of one
customer row measured in the same run. Run: .venv/bin/python -m bench.customer360
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import orjson

from bench.common import fresh_database, p95, pg_available, report, scale
from liuyu.storage import tables as t
from liuyu.storage.customer_queries import customer_360

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def load(engine, customers: int, events_per: int) -> None:  # type: ignore[no-untyped-def]
    sqlite = engine.dialect.name == "sqlite"
    when = (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda d: d)
    with engine.begin() as conn:
        conn.execute(t.workspaces.insert().values(id=1, slug="bench", name="bench", settings={}, created_at=T0))
        raw = conn.connection.driver_connection
        chunk = 20_000
        for start in range(1, customers + 1, chunk):
            ids = range(start, min(customers + 1, start + chunk))
            cust = [(c, 1, c * events_per, f"客户{c}", "杭州", when(T0)) for c in ids]
            idents = [(1, "phone", f"+86138{c:08d}", c, True, c * events_per) for c in ids]
            traits = [(c, 1, events_per, 1, 19900, 19900, "tmall", "[]", "[]") for c in ids]
            evs = [
                (
                    c * events_per + k,
                    1,
                    "bench",
                    f"{c}-{k}",
                    "product_viewed",
                    "tmall",
                    when(T0 + timedelta(minutes=c + k)),
                    when(T0),
                    orjson.dumps(
                        {"identifiers": [], "traits": {}, "properties": {"sku": "NUT-30"}, "order": None}
                    ).decode(),
                    c,
                )
                for c in ids
                for k in range(events_per)
            ]
            if sqlite:
                raw.executemany(
                    "INSERT INTO customers (id, workspace_id, anchor_seq, name, city, first_seen) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    cust,
                )
                raw.executemany("INSERT INTO identifiers VALUES (?, ?, ?, ?, ?, ?)", idents)
                raw.executemany(
                    "INSERT INTO customer_traits (customer_id, workspace_id, event_count, order_count, "
                    "total_spent_fen, aov_fen, preferred_channel, channels, categories) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    traits,
                )
                raw.executemany(
                    "INSERT INTO events (seq, workspace_id, source, external_id, type, channel, "
                    "occurred_at, received_at, payload, customer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    evs,
                )
                continue
            with raw.cursor() as cur:
                for table, cols, rows in (
                    ("customers", "id, workspace_id, anchor_seq, name, city, first_seen", cust),
                    ("identifiers", "workspace_id, kind, value, customer_id, verified, first_seq", idents),
                    (
                        "customer_traits",
                        "customer_id, workspace_id, event_count, order_count, total_spent_fen, "
                        "aov_fen, preferred_channel, channels, categories",
                        traits,
                    ),
                    (
                        "events",
                        "seq, workspace_id, source, external_id, type, channel, occurred_at, received_at, "
                        "payload, customer_id",
                        evs,
                    ),
                ):
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)


def measure(kind: str, customers: int, events_per: int, tmp: str) -> None:
    with fresh_database(kind, tmp) as engine:
        started = time.perf_counter()
        load(engine, customers, events_per)
        loaded = time.perf_counter() - started
        rng = random.Random(3)
        samples, base = [], []
        with engine.connect() as conn:
            for _ in range(300):
                cid = rng.randint(1, customers)
                a = time.perf_counter()
                view = customer_360(conn, 1, cid)
                samples.append((time.perf_counter() - a) * 1000)
                assert view is not None and len(view["timeline"]) == min(events_per, 200)
                a = time.perf_counter()
                conn.execute(t.customers.select().where(t.customers.c.id == cid)).first()
                base.append((time.perf_counter() - a) * 1000)
    report(
        f"customer 360 {kind} ({customers:,} customers, {customers * events_per:,} events; loaded in {loaded:.0f} s)",
        p95(samples),
        "ms p95",
        "primary-key row",
        p95(base),
    )


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else scale(1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", customers, 10, tmp)
        if pg_available():
            measure("postgresql", customers, 10, tmp)


if __name__ == "__main__":
    main()
