"""``liuyu worker``: run every job of ``jobs.schedule.SCHEDULE`` when it is due, until told to stop.

A job that did work is run again at once (a backlog drains at full speed); one that found
nothing waits its ``every_seconds``. A failing job is logged and retried after its interval,
so one area's bug never stops the others. Each run is recorded as the job's last run
(``worker_job_runs``: start, finish, items, error, which worker) for ``liuyu worker status``,
``GET /api/v1/worker/jobs`` and the console. SIGTERM or SIGINT finishes the job in hand and stops.
On PostgreSQL several workers share the work (jobs claim rows with ``FOR UPDATE SKIP LOCKED``);
on SQLite run one.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from liuyu.jobs.schedule import SCHEDULE, Job
from liuyu.storage.worker_store import last_runs, record_run

log = logging.getLogger("liuyu.worker")


@dataclass
class JobStats:
    runs: int = 0
    items: int = 0
    failures: int = 0
    last_error: str | None = None


@dataclass
class Worker:
    engine: Engine
    jobs: Sequence[Job]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    stop_event: threading.Event = field(default_factory=threading.Event)
    stats: dict[str, JobStats] = field(default_factory=dict)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def stop(self) -> None:
        self.stop_event.set()

    def run_job(self, job: Job) -> int:
        """Run one job now; returns how many items it handled (0 after a failure, which is logged)."""
        stats = self.stats.setdefault(job.name, JobStats())
        stats.runs += 1
        started = self.clock()
        error: str | None = None
        try:
            done = job.run(self.engine, started)
        except Exception as exc:  # a job's bug must not stop the other jobs
            done = 0
            stats.failures += 1
            error = stats.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("job %s failed", job.name)
        stats.items += done
        self._record(job.name, started, done, error)
        return done

    def _record(self, job: str, started: datetime, items: int, error: str | None) -> None:
        """Store the run as the job's last one; a database hiccup here is logged, never fatal."""
        try:
            with self.engine.begin() as conn:
                record_run(
                    conn,
                    job,
                    started_at=started,
                    finished_at=self.clock(),
                    items=items,
                    error=error,
                    worker=self.worker_id,
                )
        except Exception:
            log.exception("could not record the run of job %s", job)

    def run_once(self) -> dict[str, int]:
        """Every job once, in schedule order (``liuyu worker --once``)."""
        return {job.name: self.run_job(job) for job in self.jobs if not self.stop_event.is_set()}

    def run_forever(self) -> None:
        """Loop until stopped: run what is due, then sleep until the next job is due."""
        due = {job.name: 0.0 for job in self.jobs}
        while not self.stop_event.is_set():
            for job in self.jobs:
                if self.stop_event.is_set():
                    break
                if time.monotonic() >= due[job.name]:
                    busy = self.run_job(job) > 0
                    due[job.name] = time.monotonic() + (0.0 if busy else job.every_seconds)
            pause = min(due.values(), default=1.0) - time.monotonic()
            if pause > 0:
                self.stop_event.wait(min(pause, 5.0))

    def install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping after the job in hand", signum)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)


def job_runs(engine: Engine, now: datetime, jobs: Sequence[Job] = SCHEDULE) -> list[dict[str, Any]]:
    """Every scheduled job with its last run and how long ago it finished (``None``: never ran).

    Jobs that left the schedule but have a recorded run are listed too, after the scheduled ones.
    """
    with engine.connect() as conn:
        recorded = {row["job"]: row for row in last_runs(conn)}
    names = [job.name for job in jobs] + sorted(set(recorded) - {job.name for job in jobs})
    every = {job.name: job.every_seconds for job in jobs}
    out = []
    for name in names:
        run = recorded.get(name)
        age = None if run is None else max(0.0, (now - run["finished_at"]).total_seconds())
        out.append(
            {
                "job": name,
                "every_seconds": every.get(name),
                "started_at": None if run is None else run["started_at"],
                "finished_at": None if run is None else run["finished_at"],
                "items": None if run is None else run["items"],
                "error": None if run is None else run["error"],
                "worker": None if run is None else run["worker"],
                "age_seconds": age,
                "ok": None if run is None else run["error"] is None,
            }
        )
    return out


def runs_for(role: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Jobs run for every workspace, so their error text may name another workspace's data: only an
    admin reads it; other roles see that the job failed."""
    if role == "admin":
        return runs
    return [{**run, "error": "failed (details for admins)" if run.get("error") else None} for run in runs]
