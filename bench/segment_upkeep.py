"""Incremental segment membership upkeep: the added cost per 1,000-event batch.

A workspace of N bulk-loaded customers (default 20,000; ``--full`` for 100,000, with traits,
tags and orders as in bench.segments) takes 1,000-event batches through the normal ingestion
path with every registered projection. The same run times batches with 0 saved segments (the
baseline), then with 10 and with 50 saved segments of 2–4 clauses; it prints ms per batch, the
added ms per batch over the baseline and the ratio. Every batch touches 1,000 distinct customers
(the worst case for upkeep: each one is re-checked against every segment).

    .venv/bin/python -m bench.segment_upkeep [--full] [--customers N] [--batches 5]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time

from sqlalchemy import Engine, text

from bench.common import fresh_database, pg_available, scale
from bench.segments import WS, load
from liuyu.demo import bench_events
from liuyu.domain.engagement.segment import parse
from liuyu.domain.eventlog import Event
from liuyu.services.engagement import save_segment
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork

BATCH = 1_000
#: Typical operator segments; ``{n}`` varies the threshold so 50 differ from each other.
TEMPLATES = (
    "order_count >= {k} and days_since_last_order <= {d}",
    'city in ("上海", "北京") and total_spent > {m}',
    'not tag("已投诉") and bought_category("坚果") and order_count >= {k}',
    'tag("VIP") and days_since_last_order > {d}',
    'channel("tmall") and order_count >= {k} and not tag("已投诉")',
    'city = "杭州" and aov >= {m} and days_since_first_order > {d} and not tag("VIP")',
    'preferred_channel = "tmall" and total_spent >= {m} and days_since_last_seen <= {d}',
    'bought_category("茶") and not bought_category("咖啡") and order_count >= {k}',
    "order_count = {k} and days_since_first_order <= {d}",
    'city in ("广州", "深圳", "成都") and order_count >= {k} and total_spent < {m} and not tag("已投诉")',
)


def expressions(count: int) -> list[str]:
    out = []
    for i in range(count):
        n = i // len(TEMPLATES)
        out.append(TEMPLATES[i % len(TEMPLATES)].format(k=1 + n % 3, d=30 + 30 * n, m=100 + 200 * n))
    return out


def _align_sequences(engine: Engine) -> None:
    """Bulk rows carry explicit ids; PostgreSQL's sequences must start after them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("customers", "orders", "workspaces"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def _ingest(engine: Engine, batch: list[Event]) -> float:
    start = time.perf_counter()
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, WS, batch, projections=uow.projections())
        uow.commit()
    return (time.perf_counter() - start) * 1000


def _save(engine: Engine, first: int, texts: list[str]) -> None:
    with SqlUnitOfWork(engine) as uow:
        for i, expression in enumerate(texts, start=first):
            save_segment(uow, WS, name=f"bench {i}", tree=parse(expression), actor="bench")
        uow.commit()


def run(kind: str, customers: int, batches: int, tmp: str) -> None:
    with fresh_database(kind, tmp) as engine:
        started = time.perf_counter()
        load(engine, customers)
        _align_sequences(engine)
        # bench_events cycles through n/10 people: once the warm-up batches have created them,
        # every later batch touches 1,000 distinct existing customers.
        warm = -(-batches // 3) + 1
        stream = bench_events(BATCH * (3 * batches + warm), seed=7)
        take = iter(lambda: list(itertools.islice(stream, BATCH)), [])
        for _ in range(warm):
            _ingest(engine, next(take))
        print(f"[{kind}] {customers:,} customers loaded in {time.perf_counter() - started:.1f} s")
        figures: dict[int, float] = {}
        texts = expressions(50)
        for saved, add in ((0, []), (10, texts[:10]), (50, texts[10:])):
            _save(engine, saved - len(add), add)
            times = [_ingest(engine, next(take)) for _ in range(batches)]
            figures[saved] = statistics.median(times)
            line = f"[{kind}] {saved:>2} saved segments: {figures[saved]:,.1f} ms per {BATCH:,}-event batch"
            if saved:
                added = figures[saved] - figures[0]
                line += (
                    f" | baseline 0 segments: {figures[0]:,.1f} ms | added {added:,.1f} ms per batch"
                    f" ({added / saved:,.1f} ms per segment) | ratio {figures[saved] / figures[0]:.2f}"
                )
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="100,000 customers and 7 batches per setting")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--batches", type=int, default=None, help="timed batches per setting (median is shown)")
    args = parser.parse_args()
    customers = args.customers or (100_000 if args.full else scale(20_000))
    batches = args.batches or (7 if args.full else 3)
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", customers, batches, tmp)
        if pg_available():
            run("postgresql", customers, batches, tmp)
        else:
            print("[postgresql] skipped (PostgreSQL not reachable)")


if __name__ == "__main__":
    main()
