"""Each job's last run is kept in the database: a failing job shows its error, the others go on,
and the API, `liuyu worker status` and the console read the same record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from liuyu.jobs.schedule import SCHEDULE, Job
from liuyu.jobs.worker import Worker, job_runs
from liuyu.services import accounts
from liuyu.storage.db import make_engine
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api, api  # noqa: F401  (the app fixture)

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _jobs(fail: list[bool]) -> list[Job]:
    def broken(_engine: Engine, _now: datetime) -> int:
        if fail[0]:
            raise RuntimeError("disk full")
        return 2

    def fine(_engine: Engine, _now: datetime) -> int:
        return 3

    return [Job("broken", 1, broken), Job("fine", 1, fine)]


def test_a_failing_job_records_its_error_and_the_worker_goes_on(engine: Engine) -> None:
    fail = [True]
    jobs = _jobs(fail)
    worker = Worker(engine, jobs, clock=lambda: NOW)
    assert worker.run_once() == {"broken": 0, "fine": 3}
    runs = {row["job"]: row for row in job_runs(engine, NOW + timedelta(seconds=90), jobs)}
    assert runs["broken"]["error"] == "RuntimeError: disk full"
    assert runs["broken"]["items"] == 0 and runs["broken"]["ok"] is False
    assert runs["fine"]["error"] is None and runs["fine"]["items"] == 3 and runs["fine"]["ok"] is True
    assert runs["fine"]["age_seconds"] == 90
    assert runs["fine"]["worker"] == worker.worker_id
    assert runs["fine"]["started_at"] == NOW

    fail[0] = False  # fixed: the next run replaces the failed one
    Worker(engine, jobs, clock=lambda: NOW + timedelta(minutes=1)).run_once()
    runs = {row["job"]: row for row in job_runs(engine, NOW + timedelta(minutes=2), jobs)}
    assert runs["broken"]["error"] is None and runs["broken"]["items"] == 2


def test_a_job_that_never_ran_is_listed_as_such(engine: Engine) -> None:
    rows = job_runs(engine, NOW)
    assert [row["job"] for row in rows] == [job.name for job in SCHEDULE]
    assert all(row["finished_at"] is None and row["age_seconds"] is None for row in rows)


def test_the_api_shows_last_runs_to_operators_only(api: Api) -> None:  # noqa: F811
    Worker(api.engine, _jobs([True])).run_once()  # type: ignore[arg-type]
    reply = api.client.get("/api/v1/worker/jobs", headers=api.headers(api.qimu.admin_key))
    assert reply.status_code == 200
    runs = {row["job"]: row for row in reply.json()["jobs"]}
    assert runs["broken"]["error"] == "RuntimeError: disk full"
    assert runs["fine"]["items"] == 3
    assert SCHEDULE[0].name in runs
    denied = api.client.get("/api/v1/worker/jobs", headers=api.headers(api.qimu.agent_key))
    assert denied.status_code == 403
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        key = accounts.create_api_key(uow.accounts, api.qimu.id, "ops", "supervisor")
        uow.commit()
    seen = {row["job"]: row for row in api.client.get("/api/v1/worker/jobs", headers=api.headers(key)).json()["jobs"]}
    assert seen["broken"]["error"] == "failed (details for admins)"  # jobs serve every workspace


def test_worker_status_prints_each_jobs_last_run(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    Worker(engine, _jobs([True])).run_once()
    engine.dispose()
    env = {**os.environ, "LIUYU_DATABASE_URL": db_url, "LIUYU_ERROR_DIR": str(tmp_path), "COLUMNS": "200"}
    command = [sys.executable, "-m", "liuyu.cli.main", "worker", "status"]
    shown = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    runs = {row["job"]: row for row in json.loads(shown.stdout)["jobs"]}
    assert runs["broken"]["error"] == "RuntimeError: disk full"
    text = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "RuntimeError: disk full" in text.stdout
    assert "never" in text.stdout  # the scheduled jobs that have not run here
