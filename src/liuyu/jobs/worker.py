"""``liuyu worker``: run every job of ``jobs.schedule.SCHEDULE`` when it is due, until told to stop.

A job that did work is run again at once (a backlog drains at full speed); one that found
nothing waits its ``every_seconds``. A failing job is logged and retried after its interval,
so one area's bug never stops the others. SIGTERM or SIGINT finishes the job in hand and stops.
On PostgreSQL several workers share the work (jobs claim rows with ``FOR UPDATE SKIP LOCKED``);
on SQLite run one.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from sqlalchemy import Engine

from liuyu.jobs.schedule import Job

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

    def stop(self) -> None:
        self.stop_event.set()

    def run_job(self, job: Job) -> int:
        """Run one job now; returns how many items it handled (0 after a failure, which is logged)."""
        stats = self.stats.setdefault(job.name, JobStats())
        stats.runs += 1
        try:
            done = job.run(self.engine, self.clock())
        except Exception as exc:  # a job's bug must not stop the other jobs
            stats.failures += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("job %s failed", job.name)
            return 0
        stats.items += done
        return done

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
