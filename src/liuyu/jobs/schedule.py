"""The worker's schedule: every periodic job liuyu runs, in one list.

`liuyu worker` walks this list; an area adds its job with one line in ``SCHEDULE``. A job takes the
engine and the current time and returns how many items it handled, so the worker can report
throughput and back off when there is nothing to do. Jobs must be safe to run from several workers
at once (claim rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from liuyu.jobs import journeys, knowledge, loyalty, outbox, service_quality, tickets


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[Engine, datetime], int]


SCHEDULE: list[Job] = [
    Job("service-qa", 60, service_quality.run),
    Job("loyalty-due", loyalty.EVERY_SECONDS, loyalty.run_due_everywhere),
    Job("ticket-escalations", 60, tickets.escalate_tickets),
    Job("order-followups", 300, tickets.send_followups),
    Job("journey-steps", journeys.STEPS_EVERY_SECONDS, journeys.run_steps),
    Job("journey-triggers", journeys.TRIGGERS_EVERY_SECONDS, journeys.run_triggers),
    Job("outbox", outbox.EVERY_SECONDS, outbox.deliver),
    Job("kb-mine-faqs", knowledge.EVERY_SECONDS, knowledge.mine_everywhere),
]
