"""Scheduled ticket work: SLA escalations and order follow-ups (registered in ``jobs/schedule.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from liuyu.services.followups import run_followups
from liuyu.services.tickets import escalate_due
from liuyu.storage.uow import SqlUnitOfWork


def escalate_tickets(engine: Engine, now: datetime) -> int:
    """Apply the escalations whose time has come; overlapping runs skip each other's tickets."""
    with SqlUnitOfWork(engine) as uow:
        applied = escalate_due(uow, now)
        uow.commit()
    return applied


def send_followups(engine: Engine, now: datetime) -> int:
    """One follow-up pass per workspace, each in its own transaction; returns messages and tickets."""
    with SqlUnitOfWork(engine) as uow:
        workspaces = uow.tickets.followup_workspaces()
    handled = 0
    for workspace_id in workspaces:
        with SqlUnitOfWork(engine) as uow:
            report = run_followups(uow, workspace_id, now)
            uow.commit()
        handled += report.sent + report.tickets + report.no_channel
    return handled
