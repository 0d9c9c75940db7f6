"""The worker's record: each scheduled job's last run, so the console and ``liuyu worker status``
can tell a quiet job from a failing or a stopped one after the worker process is gone."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from liuyu.storage.tables import UTCDateTime, metadata

worker_job_runs = Table(
    "worker_job_runs",
    metadata,
    Column("job", String(100), primary_key=True),  # the name in jobs.schedule.SCHEDULE
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("items", Integer, nullable=False, default=0),
    Column("error", Text),  # "ExceptionType: message" of a failed run; NULL when it succeeded
    Column("worker", String(200), nullable=False),  # host:pid of the worker that ran it
)
