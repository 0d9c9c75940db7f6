"""Co-purchase neighbours over a workspace's paid orders (the cross-category playbook).

Figure: milliseconds to read every paid order's categories and compute confidence and lift per pair,
then the suggestions for 10,000 customers. Baseline: reading the same order lines with a plain
``SELECT`` (the work no method can skip). 100,000 orders by default (LIUYU_BENCH_SCALE scales).
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from bench.common import fresh_database, pg_available, report, scale, timer
from liuyu.analytics.copurchase import adjacent_categories
from liuyu.storage import tables as t
from liuyu.storage.journey_store import SqlJourneys

CATEGORIES = [f"品类{i:02d}" for i in range(40)]


def seed(engine: Engine, orders: int) -> int:
    rng = random.Random(7)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    customers = max(1, orders // 4)
    with engine.begin() as conn:
        ws = int(
            conn.execute(
                insert(t.workspaces).values(slug="bench", name="bench", settings={}, created_at=now)
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        order_rows, line_rows = [], []
        for n in range(1, orders + 1):
            order_rows.append(
                {
                    "id": n,
                    "workspace_id": ws,
                    "platform": "tmall",
                    "order_id": f"O{n}",
                    "customer_id": rng.randrange(1, customers + 1),
                    "status": "paid",
                    "total_fen": 10000,
                    "paid_fen": 10000,
                    "refunded_fen": 0,
                    "currency": "CNY",
                    "paid_at": now,
                    "channel": "tmall",
                    "last_seq": n,
                }
            )
            home = rng.randrange(len(CATEGORIES))
            for line in range(rng.randint(1, 4)):  # neighbours of the home category are likelier
                pick = home if line == 0 else (home + rng.choice((1, 1, 2, rng.randrange(len(CATEGORIES))))) % 40
                line_rows.append(
                    {
                        "order_pk": n,
                        "line_no": line,
                        "workspace_id": ws,
                        "title": "商品",
                        "quantity": 1,
                        "category": CATEGORIES[pick],
                    }
                )
        conn.execute(insert(t.orders), order_rows)
        conn.execute(insert(t.order_lines), line_rows)
    return ws


def run(kind: str) -> None:
    orders = scale(100_000)
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, tmp) as engine:
        ws = seed(engine, orders)
        with engine.connect() as conn:
            with timer() as base:
                conn.execute(select(t.order_lines.c.order_pk, t.order_lines.c.category)).all()
            store = SqlJourneys(conn)
            with timer() as took:
                found = adjacent_categories(store.category_baskets(ws))
            with timer() as suggest:
                store.suggested_categories(ws, range(1, 10_001))
        report(
            f"copurchase neighbours {kind} ({orders:,} orders, {len(found)} categories)",
            took[0] * 1000,
            "ms",
            "plain read of the order lines",
            base[0] * 1000,
            f"| suggestions for 10,000 customers {suggest[0]:.2f} s",
        )


def main() -> None:
    run("sqlite")
    if pg_available():
        run("postgresql")


if __name__ == "__main__":
    main()
