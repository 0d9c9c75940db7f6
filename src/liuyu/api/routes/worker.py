"""The worker's jobs: each scheduled job's last run, so an operator sees a failing or stopped job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.jobs.worker import job_runs, runs_for

router = APIRouter(prefix="/api/v1/worker", tags=["worker"])

VIEWERS = ("admin", "operator", "supervisor")


@router.get("/jobs", summary="Every scheduled job's last run: start, finish, items, error, worker and age")
def jobs(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*VIEWERS)
    now = datetime.now(UTC)
    return {"now": now, "jobs": runs_for(principal.role, job_runs(container.engine, now))}
