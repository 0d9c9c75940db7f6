"""The worker: several workers share due journey steps and run each exactly once; SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from liuyu.jobs.schedule import SCHEDULE, Job
from liuyu.jobs.worker import Worker
from liuyu.services import journeys
from liuyu.services.journey_runner import JourneyPorts, SendRequest, run_due
from liuyu.storage import tables as t
from liuyu.storage.db import make_engine
from liuyu.storage.journey_tables import journey_enrollments, journey_steps
from liuyu.storage.tables import metadata
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_journeys import Decision

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
WELCOME = """
name: 入会欢迎
trigger: {event: member_joined}
steps:
  - {key: tag, tag: {tag: 新会员}}
  - {key: hello, send: {channel: sms, template: welcome}}
  - {key: later, wait: {days: 7}}
"""


class LockedSender:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, uow: Any, request: SendRequest, *, now: datetime) -> Decision:
        with self.lock:
            self.keys.append(request.idempotency_key)
            return Decision(True, None, len(self.keys), None)


def _enrolled(engine: Engine, customers: int) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.create_workspace("qimu", "栖木", NOW)
        uow.conn.execute(
            insert(t.customers), [{"id": i, "workspace_id": ws, "anchor_seq": i} for i in range(1, customers + 1)]
        )
        row = journeys.apply_journey(uow, ws, WELCOME, actor="t", now=NOW)
        live = uow.journeys.live_journeys(ws)[0]
        journey = journeys.journey_of(row["id"], 1, live["definition"])
        candidates = [(i, f"join:{i}", NOW, 0, {"trigger": "test"}) for i in range(1, customers + 1)]
        assert journeys.enroll(uow.journeys, ws, live, journey, candidates, NOW) == customers
        uow.commit()
    return ws


@pytest.mark.postgres
def test_two_workers_on_postgresql_take_each_due_step_exactly_once(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{x.name}"' for x in metadata.sorted_tables) + " CASCADE")
    _enrolled(engine, 400)
    sender = LockedSender()
    start = threading.Barrier(2)
    passes = [0, 0]

    def work(n: int) -> None:
        start.wait()
        while True:
            with SqlUnitOfWork(engine) as uow:
                done = run_due(uow, NOW, JourneyPorts(send=sender), limit=25)
                uow.commit()
            if not done:
                return
            passes[n] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sender.keys) == 400 and len(set(sender.keys)) == 400
    assert passes[0] > 0 and passes[1] > 0  # both took a share
    with engine.connect() as conn:
        logged = dict(
            conn.execute(select(journey_steps.c.step_key, func.count()).group_by(journey_steps.c.step_key)).all()
        )
        waiting = conn.execute(
            select(func.count()).where(
                journey_enrollments.c.step_key == "later", journey_enrollments.c.state == "active"
            )
        ).scalar_one()
    assert logged == {"entry": 400, "tag": 400, "hello": 400, "later": 400}
    assert waiting == 400
    engine.dispose()


def test_a_failing_job_does_not_stop_the_others(engine: Engine) -> None:
    calls: list[str] = []

    def broken(_engine: Engine, _now: datetime) -> int:
        calls.append("broken")
        raise RuntimeError("disk full")

    def fine(_engine: Engine, _now: datetime) -> int:
        calls.append("fine")
        return 3

    worker = Worker(engine, [Job("broken", 1, broken), Job("fine", 1, fine)], clock=lambda: NOW)
    assert worker.run_once() == {"broken": 0, "fine": 3}
    assert worker.stats["broken"].last_error == "RuntimeError: disk full"
    assert calls == ["broken", "fine"]


def test_the_journey_jobs_are_in_the_schedule() -> None:
    names = [job.name for job in SCHEDULE]
    assert "journey-steps" in names and "journey-triggers" in names


def test_the_worker_finishes_and_exits_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'liuyu.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    env = {**os.environ, "LIUYU_DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "liuyu.cli.main", "worker", "--only", "journey-steps"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "worker:" in first, first
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "worker stopped" in out


def test_a_due_step_waits_for_its_time(engine: Engine) -> None:
    ws = _enrolled(engine, 3)
    sender = LockedSender()
    with SqlUnitOfWork(engine) as uow:
        assert run_due(uow, NOW - timedelta(minutes=1), JourneyPorts(send=sender)) == 0
        assert run_due(uow, NOW, JourneyPorts(send=sender)) == 9
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        assert uow.journeys.due_count(NOW + timedelta(days=7)) == (3, NOW + timedelta(days=7))
    assert ws
