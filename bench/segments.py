"""Segment count speed: a 4-clause expression over N customers (default 1,000,000).

Runs on SQLite (a temporary file) and on PostgreSQL when reachable (a schema of its own,
dropped afterwards). Prints the median of several counts in ms beside a same-run baseline,
a plain ``SELECT count(*)`` of the workspace's customers, and the ratio between them.

    .venv/bin/python bench/segments.py [--customers 1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, func, insert, select, text

from liuyu.domain.engagement.segment import parse
from liuyu.storage import tables as t
from liuyu.storage.db import make_engine, normalize_url
from liuyu.storage.segments import count

EXPRESSIONS = {
    "4 clauses": 'city in ("上海", "北京") and days_since_last_order > 90 and not tag("已投诉") and order_count >= 2',
    "4 clauses + bought_category": (
        'city in ("上海", "北京") and days_since_last_order > 90 and not tag("已投诉") and bought_category("坚果")'
    ),
}
CITIES = ["上海", "北京", "杭州", "广州", "深圳", "成都", "武汉", "南京", "西安", "重庆"]
CATEGORIES = ["坚果", "茶", "果干", "饼干", "咖啡"]
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WS = 1
CHUNK = 50_000


def _customers(n: int, rng: random.Random) -> Iterator[dict[str, object]]:
    for i in range(1, n + 1):
        yield {"id": i, "workspace_id": WS, "anchor_seq": i, "city": rng.choice(CITIES), "gender": rng.choice("fm")}


def _traits(n: int, rng: random.Random) -> Iterator[dict[str, object]]:
    for i in range(1, n + 1):
        if rng.random() < 0.2:
            continue  # prospects: no orders, no traits row
        orders = 1 + int(rng.expovariate(0.7))
        last = NOW - timedelta(days=rng.randrange(0, 720), seconds=rng.randrange(86400))
        yield {
            "customer_id": i,
            "workspace_id": WS,
            "event_count": orders * 3,
            "order_count": orders,
            "total_spent_fen": orders * rng.randrange(2_000, 50_000),
            "aov_fen": 10_000,
            "first_order_at": last - timedelta(days=rng.randrange(0, 365)),
            "last_order_at": last,
            "preferred_channel": "tmall",
            "channels": ["tmall"],
            "categories": [],
        }


def _tags(n: int, rng: random.Random) -> Iterator[dict[str, object]]:
    for i in range(1, n + 1):
        if rng.random() < 0.05:
            yield {"workspace_id": WS, "customer_id": i, "tag": "已投诉", "source": "rule", "reason": "", "at": NOW}
        if rng.random() < 0.1:
            yield {"workspace_id": WS, "customer_id": i, "tag": "VIP", "source": "manual", "reason": "", "at": NOW}


def _orders(n: int, rng: random.Random) -> Iterator[dict[str, object]]:
    for i in range(1, n + 1, 3):  # one customer in three has an order with a line
        yield {
            "id": i,
            "workspace_id": WS,
            "platform": "tmall",
            "order_id": f"T{i}",
            "customer_id": i,
            "status": "completed",
            "total_fen": 5000,
            "paid_fen": 5000,
            "refunded_fen": 0,
            "currency": "CNY",
            "channel": "tmall",
            "last_seq": i,
        }


def _lines(n: int, rng: random.Random) -> Iterator[dict[str, object]]:
    for i in range(1, n + 1, 3):
        yield {
            "order_pk": i,
            "line_no": 1,
            "workspace_id": WS,
            "title": "x",
            "quantity": 1,
            "category": rng.choice(CATEGORIES),
        }


TABLES: list[tuple[object, Callable[[int, random.Random], Iterator[dict[str, object]]]]] = [
    (t.customers, _customers),
    (t.customer_traits, _traits),
    (t.customer_tags, _tags),
    (t.orders, _orders),
    (t.order_lines, _lines),
]


def _chunks(rows: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def load(engine: Engine, n: int) -> None:
    """Insert the rows set-wise: executemany in chunks (SQLite) or COPY (PostgreSQL)."""
    with engine.begin() as conn:
        conn.execute(insert(t.workspaces).values(id=WS, slug="bench", name="bench", settings={}, created_at=NOW))
    for table, make in TABLES:
        rng = random.Random(f"{table.name}-{n}")  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            _copy(engine, table, make(n, rng))
        else:
            with engine.begin() as conn:
                for batch in _chunks(make(n, rng)):
                    conn.execute(insert(table), batch)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _copy(engine: Engine, table: object, rows: Iterator[dict[str, object]]) -> None:
    import json

    first = next(rows)
    columns = list(first)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in (first, *rows):
                copy.write_row([json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()])
        raw.commit()
    finally:
        raw.close()


def _median_ms(action: Callable[[], object], repeats: int) -> tuple[float, object]:
    result = action()  # warm the cache once, as an operator typing would
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def measure(engine: Engine, label: str, n: int, repeats: int) -> None:
    started = time.perf_counter()
    load(engine, n)
    print(f"[{label}] loaded {n:,} customers in {time.perf_counter() - started:.1f} s")

    def baseline() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(t.customers.c.workspace_id == WS)).scalar_one())

    base_ms, total = _median_ms(baseline, repeats)
    print(f"[{label}] baseline SELECT count(*) of customers: {base_ms:.1f} ms ({total:,} rows)")
    for name, expression in EXPRESSIONS.items():
        tree = parse(expression)
        ms, members = _median_ms(lambda tree=tree: count(engine, WS, tree, NOW), repeats)
        print(
            f"[{label}] segment count, {name}: {ms:.1f} ms ({members:,} members), ratio to baseline {ms / base_ms:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--postgres", default=os.environ.get("LIUYU_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    print(f"expression: {EXPRESSIONS['4 clauses']}")

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        t.metadata.create_all(engine)
        measure(engine, "sqlite", args.customers, args.repeats)
        engine.dispose()

    try:
        admin = make_engine(args.postgres, connect_args={"connect_timeout": 3})
        with admin.connect():
            pass
    except Exception as exc:  # not reachable: say so and stop
        print(f"[postgresql] skipped: not reachable at {args.postgres} ({type(exc).__name__})")
        return
    schema = f"bench_segments_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in args.postgres else "?"
        engine = make_engine(normalize_url(args.postgres) + sep + "options=" + quote(f"-csearch_path={schema}"))
        t.metadata.create_all(engine)
        measure(engine, "postgresql", args.customers, args.repeats)
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
