"""Journey tables: definitions and their versions, who is in which journey where, and what happened.

Enrollments are operational state, not derived from the log: they record messages queued,
coupons issued and points awarded, so ``liuyu rebuild`` keeps them (and does not start journeys
again for replayed events).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

journeys = Table(
    "journeys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(12), nullable=False),  # active | paused
    Column("version", Integer, nullable=False),  # the version new entrants follow
    Column("trigger_kind", String(12), nullable=False),  # event | segment | date | schedule
    Column("trigger_name", String(200)),  # the event name or segment name, for the ingest hook's lookup
    Column("segment_cursor", BigInteger, nullable=False, default=0),  # last segment_changes.id looked at
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_journeys_name"),
)

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("journey_id", BigInteger, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("definition", JsonType, nullable=False),  # the canonical document (journey_document)
    Column("source", Text, nullable=False),  # as sent: YAML or JSON text
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

journey_enrollments = Table(
    "journey_enrollments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("journey_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("entry_key", String(300), nullable=False),  # what let them in: event key, segment change, day
    Column("grp", String(10), nullable=False),  # treatment | control
    Column("state", String(12), nullable=False),  # active | holdout | completed | converted | exited
    Column("step_key", String(64)),  # where an active enrollment is
    Column("next_run_at", UTCDateTime),  # when the worker takes it next (active only)
    Column("waiting_until", UTCDateTime),  # set while it waits at a wait step
    Column("entered_at", UTCDateTime, nullable=False),
    Column("entered_seq", BigInteger, nullable=False),  # log position at entry: later events count for the goal
    Column("goal_deadline", UTCDateTime),
    Column("converted_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    UniqueConstraint("workspace_id", "journey_id", "customer_id", "entry_key", name="uq_journey_enrollments_entry"),
    Index("ix_journey_enrollments_due", "next_run_at"),
    Index("ix_journey_enrollments_customer", "workspace_id", "customer_id"),
    # Per-journey counts use the unique key's (workspace_id, journey_id) prefix: every index here is
    # rewritten by each step a worker takes, so there is no extra one for them.
)

journey_steps = Table(
    "journey_steps",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("journey_id", BigInteger, nullable=False),
    Column("enrollment_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("step_key", String(64), nullable=False),  # or "entry" / "goal" / "exit"
    Column("outcome", String(20), nullable=False),  # entered, held_out, waiting, then, else, done, skipped, failed…
    Column("detail", JsonType, nullable=False),  # why: the trigger, the condition's value, the skip reason
    Column("at", UTCDateTime, nullable=False),
    Index("ix_journey_steps_journey", "workspace_id", "journey_id", "step_key"),
    Index("ix_journey_steps_enrollment", "enrollment_id"),
)

journey_runs = Table(
    "journey_runs",
    metadata,
    Column("journey_id", BigInteger, primary_key=True),
    Column("occurrence", String(10), primary_key=True),  # the local day a date or schedule trigger ran
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("entered", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

journey_log_marks = Table(
    "journey_log_marks",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),  # newest event the trigger hook saw: replays are older
)
