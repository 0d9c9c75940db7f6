"""Journey speed: event → journey action latency with the worker running, and due steps per second.

1. Latency (SQLite, and PostgreSQL when reachable): a ``liuyu worker`` process runs the journey
   step job while this process ingests one event at a time (about 20 a second); a journey starts
   on each event and its first step tags the customer. The figure is the p95 of (time the step
   was logged − time the event was handed to ingestion). Baseline: the p95 of the ingestion
   call itself. Target ≤ 2 s.
2. Throughput (PostgreSQL): N enrollments whose wait is over; each wakes, tags the customer and
   starts its next wait (three steps, two of them logged). Two worker processes share them with
   ``FOR UPDATE SKIP LOCKED``. The figure is steps per second over the wall time until both find
   nothing; baseline: one ``UPDATE`` of the same N rows (the floor of touching each once), in rows
   per second. Target ≥ 5,000 steps/s.

Run: .venv/bin/python -m bench.journeys [--events 200] [--enrollments 20000]
(defaults × LIUYU_BENCH_SCALE; the figures in docs/benchmarks.md used --enrollments 100000)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select, text, update

from bench.common import fresh_database, p95, pg_available, report, scale
from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.services import journeys
from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.db import make_engine
from liuyu.storage.journey_tables import journey_enrollments, journey_steps
from liuyu.storage.uow import SqlUnitOfWork

PING = """
name: bench-ping
trigger: {event: bench_ping}
reentry: always
steps:
  - {key: tag, tag: {tag: pinged}}
  - {key: rest, wait: {days: 1}}
"""

WAKE = """
name: bench-wake
trigger: {event: bench_never}
steps:
  - {key: nap, wait: {minutes: 1}}
  - {key: tag, tag: {tag: woke}}
  - {key: rest, wait: {days: 7}}
"""


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _workspace(engine: Engine, definition: str) -> tuple[int, int]:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.create_workspace("bench", "bench", datetime.now(UTC))
        row = journeys.apply_journey(uow, ws, definition, actor="bench", now=datetime.now(UTC))
        uow.commit()
    return ws, int(row["id"])


def _ping(n: int) -> Event:
    ident = make_identifier("app_user_id", f"bench-{n}")
    assert ident is not None
    return Event("app", f"ping-{n}", "custom", datetime.now(UTC), "app", (ident,), name="bench_ping")


def latency(kind: str, tmp: str, events: int) -> None:
    with fresh_database(kind, tmp) as engine:
        ws, journey_id = _workspace(engine, PING)
        env = {**os.environ, "LIUYU_DATABASE_URL": _url(engine)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "liuyu.cli.main", "worker", "--only", "journey-steps"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert worker.stdout is not None
            worker.stdout.readline()  # started
            handed: dict[str, datetime] = {}
            ingest_took: list[float] = []
            for n in range(events):
                event = _ping(n)
                start = time.perf_counter()
                handed[event.external_id] = datetime.now(UTC)
                with SqlUnitOfWork(engine) as uow:
                    ingest_events(uow.ingest, ws, [event], projections=uow.projections())
                    uow.commit()
                ingest_took.append(time.perf_counter() - start)
                time.sleep(0.05)
            deadline = time.monotonic() + 60
            query = select(func.count()).where(journey_steps.c.step_key == "tag")
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if conn.execute(query).scalar_one() >= events:
                        break
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        en, js = journey_enrollments, journey_steps
        with engine.connect() as conn:
            rows = conn.execute(
                select(en.c.entry_key, js.c.at)
                .join(js, js.c.enrollment_id == en.c.id)
                .where(js.c.step_key == "tag", en.c.journey_id == journey_id)
            ).all()
        delays = [(at - handed[key.split(":", 2)[2]]).total_seconds() for key, at in rows]
        if len(delays) < events:
            print(f"journeys latency {kind}: only {len(delays)} of {events} actions were taken in time")
        report(
            f"journeys event→action latency {kind} ({len(delays)} events, worker polling every 0.5 s)",
            p95(delays) * 1000,
            "ms p95",
            "ingesting the event",
            p95(ingest_took) * 1000,
            note="(target <= 2000 ms)",
        )


def _seed_due(engine: Engine, enrollments: int) -> tuple[int, int]:
    ws, journey_id = _workspace(engine, WAKE)
    due = datetime.now(UTC) - timedelta(minutes=1)
    with engine.begin() as conn:
        for start in range(0, enrollments, 20_000):
            ids = range(start + 1, min(enrollments, start + 20_000) + 1)
            conn.execute(insert(t.customers), [{"id": i, "workspace_id": ws, "anchor_seq": i} for i in ids])
            conn.execute(
                insert(journey_enrollments),
                [
                    {
                        "workspace_id": ws,
                        "journey_id": journey_id,
                        "version": 1,
                        "customer_id": i,
                        "entry_key": f"seed:{i}",
                        "grp": "treatment",
                        "state": "active",
                        "step_key": "nap",
                        "next_run_at": due,
                        "waiting_until": due,
                        "entered_at": due,
                        "entered_seq": 0,
                    }
                    for i in ids
                ],
            )
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE journey_enrollments, customers"))
    return ws, journey_id


def _drain(url: str, start_at: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from liuyu.jobs.journeys import run_steps

    engine = make_engine(url)
    while time.time() < start_at:
        time.sleep(0.005)
    steps = 0
    while True:
        done = run_steps(engine, datetime.now(UTC), limit=1000)
        if not done:
            break
        steps += done
    out.put((steps, time.time()))
    engine.dispose()


def throughput(tmp: str, enrollments: int, workers: int = 2) -> None:
    with fresh_database("postgresql", tmp) as engine:
        _seed_due(engine, enrollments)
        url = _url(engine)
        out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        start_at = time.time() + 3.0  # both processes have imported liuyu by then
        procs = [multiprocessing.Process(target=_drain, args=(url, start_at, out)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        results = [out.get() for _ in procs]
        for proc in procs:
            proc.join()
        took = max(end for _, end in results) - start_at
        steps = sum(n for n, _ in results)
        with engine.connect() as conn:
            logged = conn.execute(select(func.count()).select_from(journey_steps)).scalar_one()
        with engine.begin() as conn:
            begin = time.perf_counter()
            conn.execute(update(journey_enrollments).values(next_run_at=journey_enrollments.c.next_run_at))
            floor = time.perf_counter() - begin
        share = ", ".join(str(n) for n, _ in results)
        report(
            f"journeys due steps postgresql ({enrollments:,} enrollments, {workers} workers taking {share} steps; "
            f"{logged:,} log rows)",
            steps / took,
            "steps/s",
            "one UPDATE of the same rows",
            enrollments / floor,
            note="(target >= 5,000 steps/s)",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=scale(200))
    parser.add_argument("--enrollments", type=int, default=scale(20_000))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        latency("sqlite", tmp, args.events)
        if pg_available():
            latency("postgresql", tmp, args.events)
            throughput(tmp, args.enrollments)
        else:
            print("journeys postgresql: skipped (PostgreSQL not reachable)")


if __name__ == "__main__":
    main()
