"""Service inbox: list and open latency with many conversations and 100 agents; analysis throughput.

Conversations and messages are bulk-loaded straight into the tables (``executemany`` on SQLite,
``COPY`` on PostgreSQL): the read path is what is measured. Then:

- inbox list: the queries agents run (everything, open only, my open queue, one channel), 50 rows
  with the last message text, p95 ms;
- conversation open: the conversation with its messages, p95 ms;
- inbound analysis: the default offline models over demo customer messages, messages/s (live: the
  accurate intent model; import: the fast one).

Baselines in the same run: a primary-key read of one conversation (latency), ``jieba.lcut`` of the
same texts (throughput). Default 100,000 conversations; ``--full`` (or LIUYU_BENCH_FULL=1) loads
1,000,000. Run: .venv/bin/python -m bench.service_inbox [--full] [--conversations N] [--texts N]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bench.common import fresh_database, p95, pg_available, report, scale
from liuyu.services import inbox
from liuyu.storage.service_tables import conversations
from liuyu.storage.tables import workspaces
from liuyu.storage.uow import SqlUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENTS = [f"agent-{n:03d}@qimu.cn" for n in range(100)]
CHANNELS = ("tmall", "jd", "douyin", "wechat", "wecom", "web", "app", "email")
STATUSES = ("open", "open", "pending", "snoozed", "resolved", "resolved", "resolved")
MESSAGES_PER = 3
TEXTS = ("在吗，我的快递三天没动了", "您好，马上为您查询物流", "好的，谢谢")


def load(engine, total: int) -> float:  # type: ignore[no-untyped-def]
    """Bulk-insert ``total`` conversations with three messages each; returns seconds taken."""
    started = time.perf_counter()
    sqlite = engine.dialect.name == "sqlite"
    when = (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda d: d)
    rng = random.Random(7)
    with engine.begin() as conn:
        conn.execute(workspaces.insert().values(id=1, slug="bench", name="bench", settings={}, created_at=T0))
        raw = conn.connection.driver_connection
        chunk = 20_000
        for start in range(1, total + 1, chunk):
            convs, msgs = [], []
            for cid in range(start, min(total + 1, start + chunk)):
                at = T0 + timedelta(seconds=cid * 30)
                status = rng.choice(STATUSES)
                anger = 3 if rng.random() < 0.02 else 2 if rng.random() < 0.05 else 0
                assignee = rng.choice(AGENTS) if rng.random() < 0.9 else None
                channel = CHANNELS[cid % len(CHANNELS)]
                convs.append((cid, 1, channel, f"buyer-{cid}", status, assignee, anger, when(at), when(at), when(at)))
                for k in range(MESSAGES_PER):
                    direction = "out" if k == 1 else "in"
                    msgs.append(
                        (
                            cid * MESSAGES_PER + k,
                            1,
                            cid,
                            channel,
                            direction,
                            f"m{cid}-{k}",
                            "",
                            TEXTS[k],
                            when(at + timedelta(seconds=40 * k)),
                            when(at),
                        )
                    )
            conv_cols = (
                "id, workspace_id, channel, conversation_key, status, assignee, anger, last_message_at, "
                "created_at, updated_at"
            )
            msg_cols = (
                "id, workspace_id, conversation_id, channel, direction, external_id, sender, text, sent_at, received_at"
            )
            if sqlite:
                raw.executemany(f"INSERT INTO conversations ({conv_cols}) VALUES (?,?,?,?,?,?,?,?,?,?)", convs)
                raw.executemany(f"INSERT INTO service_messages ({msg_cols}) VALUES (?,?,?,?,?,?,?,?,?,?)", msgs)
                continue
            with raw.cursor() as cur:
                for table, cols, rows in (("conversations", conv_cols, convs), ("service_messages", msg_cols, msgs)):
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
        if not sqlite:
            for table in ("conversations", "service_messages"):
                conn.exec_driver_sql(f"ANALYZE {table}")
    return time.perf_counter() - started


def measure(kind: str, total: int, tmp: str, samples: int = 400) -> None:
    with fresh_database(kind, tmp) as engine:
        loaded = load(engine, total)
        rng = random.Random(11)
        lists, opens, base = [], [], []
        with SqlUnitOfWork(engine) as uow:
            for n in range(samples):
                filters = [
                    {},
                    {"status": "open"},
                    {"status": "open", "assignee": rng.choice(AGENTS)},
                    {"channel": rng.choice(CHANNELS)},
                ][n % 4]
                a = time.perf_counter()
                rows = uow.service.inbox(1, limit=50, **filters)
                lists.append((time.perf_counter() - a) * 1000)
                assert rows and all(r["last_text"] for r in rows)
                cid = rng.randint(1, total)
                a = time.perf_counter()
                view = inbox.conversation_view(uow, 1, cid)
                opens.append((time.perf_counter() - a) * 1000)
                assert len(view["messages"]) == MESSAGES_PER
                a = time.perf_counter()
                uow.conn.execute(conversations.select().where(conversations.c.id == cid)).first()
                base.append((time.perf_counter() - a) * 1000)
    size = f"{total:,} conversations, {total * MESSAGES_PER:,} messages, {len(AGENTS)} agents; loaded in {loaded:.0f} s"
    report(f"inbox list {kind} ({size})", p95(lists), "ms p95", "primary-key row", p95(base))
    report(f"conversation open {kind} ({total:,} conversations)", p95(opens), "ms p95", "primary-key row", p95(base))


def demo_texts(count: int) -> list[str]:
    """Customer turns of demo conversations (the same generator as the demo brand)."""
    from liuyu.demo.catalog import demo_catalog
    from liuyu.demo.chats import TOPICS, conversation

    rng = random.Random(5)
    products = demo_catalog()
    texts: list[str] = []
    while len(texts) < count:
        turns = conversation(rng, rng.choice(TOPICS), rng.choice(products), order_id=str(rng.randint(10**15, 10**16)))
        texts.extend(text for role, text in turns if role == "customer")
    return texts[:count]


def throughput(count: int) -> None:
    import jieba

    texts = demo_texts(count)
    jieba.lcut("预热")
    inbox.nlp_analyzer(texts[:20])  # load the models before timing
    inbox.bulk_nlp_analyzer(texts[:20])
    a = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    baseline = count / (time.perf_counter() - a)
    for name, analyzer in (("live", inbox.nlp_analyzer), ("import", inbox.bulk_nlp_analyzer)):
        a = time.perf_counter()
        results = analyzer(texts)
        rate = count / (time.perf_counter() - a)
        assert all(r is not None for r in results), "the offline models are not installed"
        report(
            f"inbound analysis, {name} ({count:,} demo customer messages)", rate, "messages/s", "jieba.lcut", baseline
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("LIUYU_BENCH_FULL") == "1")
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--texts", type=int, default=scale(2_000))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    total = args.conversations or (1_000_000 if args.full else scale(100_000))
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", total, tmp)
        if not args.no_postgres and pg_available():
            measure("postgresql", total, tmp)
    throughput(args.texts)


if __name__ == "__main__":
    main()
