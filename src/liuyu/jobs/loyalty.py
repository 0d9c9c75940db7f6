"""The member center's daily job for the worker: ``liuyu points run-due`` for every workspace.

Each run releases points whose return window closed, expires due lots and coupons, reviews tiers
and awards the birthday bonuses of the month (once a year per member). One workspace per
transaction, under the workspace lock the member center's actions take, so two workers running it
at once queue rather than double-post (and every award is keyed, so a second run posts nothing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from liuyu.services import loyalty
from liuyu.storage.uow import SqlUnitOfWork

EVERY_SECONDS = 86_400.0


def run_due_everywhere(engine: Engine, now: datetime) -> int:
    """Run the due job in every workspace; returns the points released and expired plus bonuses awarded."""
    with SqlUnitOfWork(engine) as uow:
        workspaces = [w["id"] for w in uow.accounts.workspaces()]
    handled = 0
    for workspace_id in workspaces:
        with SqlUnitOfWork(engine) as uow:
            done = loyalty.run_due(uow, workspace_id, at=now)
            uow.commit()
        handled += done["released"] + done["expired"] + done["birthday_bonuses"]
    return handled
