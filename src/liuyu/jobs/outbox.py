"""The outbox worker's job: deliver every due outbox row, service replies and messaging sends alike.

Rows are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share
the queue) and committed before anything is sent; each outcome is marked in its own transaction.
A worker killed between send and mark leaves the row ``sending`` until its lease runs out; the retry
carries the same idempotency key, so the receiver drops the repeat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from liuyu.channels.outbound import default_adapters
from liuyu.services.inbox import OutboundAdapter, OutboxReport, RetryPolicy, send_outbox
from liuyu.services.messaging import ROUTES
from liuyu.storage.uow import SqlUnitOfWork

EVERY_SECONDS = 2.0
BATCH = 100
_ADAPTERS: dict[str, OutboundAdapter] = {}  # made once per process, so HTTP connections are reused


def adapters() -> dict[str, OutboundAdapter]:
    if not _ADAPTERS:
        _ADAPTERS.update(default_adapters())
    return _ADAPTERS


def deliver(engine: Engine, now: datetime) -> int:
    """The scheduled job: one pass over the due rows; returns how many were claimed."""
    return deliver_pass(engine, now).claimed


def deliver_pass(
    engine: Engine, now: datetime, *, limit: int = BATCH, policy: RetryPolicy | None = None
) -> OutboxReport:
    """Claim up to ``limit`` due rows of every route and deliver them."""
    return send_outbox(
        lambda: SqlUnitOfWork(engine),
        adapters(),
        policy=policy,
        limit=limit,
        now=lambda: now,
        routes=ROUTES,
    )
