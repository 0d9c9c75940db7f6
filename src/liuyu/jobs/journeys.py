"""Journey jobs of the worker: take due steps, and start date, schedule and segment-entry journeys.

Each pass is one transaction; due enrollments are claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several workers share them and each step runs exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from liuyu.services.journey_runner import JourneyPorts, default_ports, run_due
from liuyu.services.journeys import run_once
from liuyu.storage.uow import SqlUnitOfWork

STEPS_EVERY_SECONDS = 0.5  # an idle worker looks this often; a busy one goes on at once
TRIGGERS_EVERY_SECONDS = 30.0
BATCH = 1000

_PORTS: JourneyPorts | None = None


def ports() -> JourneyPorts:
    global _PORTS
    if _PORTS is None:
        _PORTS = default_ports()
    return _PORTS


def run_steps(engine: Engine, now: datetime, *, limit: int = BATCH) -> int:
    """One pass: claim up to ``limit`` due enrollments and walk them; returns the steps taken."""
    with SqlUnitOfWork(engine) as uow:
        done = run_due(uow, now, ports(), limit=limit)
        uow.commit()
    return done


def run_triggers(engine: Engine, now: datetime) -> int:
    """Today's date and schedule occurrences, and segment entries a full refresh recorded."""
    with SqlUnitOfWork(engine) as uow:
        entered = run_once(uow, now)
        uow.commit()
    return sum(entered.values())
