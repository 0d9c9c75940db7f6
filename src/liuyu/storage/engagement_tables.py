"""Engagement tables: saved segments, who is in each and when they entered or left, and computed scores.

Memberships are derived: ``liuyu segments refresh`` recomputes them from the segment expressions.
Scores are computed: ``liuyu traits refresh`` recomputes them for a whole workspace.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

saved_segments = Table(
    "saved_segments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("expression", Text, nullable=False),  # canonical text (to_text)
    Column("expression_json", JsonType, nullable=False),  # the builder's form (to_json)
    Column("tag", String(100)),  # when set, members carry this tag (source "rule")
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("member_count", Integer, nullable=False, default=0),
    Column("refreshed_at", UTCDateTime),
    UniqueConstraint("workspace_id", "name", name="uq_saved_segments_name"),
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("segment_id", BigInteger, primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
    Column("entered_at", UTCDateTime, nullable=False),
)

segment_changes = Table(
    "segment_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("segment_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("change", String(8), nullable=False),  # entered | exited
    Column("at", UTCDateTime, nullable=False),
    Index("ix_segment_changes_segment", "workspace_id", "segment_id", "at"),
)

customer_scores = Table(
    "customer_scores",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
    Column("rfm_r", Integer),  # 1–5 by quintile within the workspace; NULL for someone who never bought
    Column("rfm_f", Integer),
    Column("rfm_m", Integer),
    Column("rfm_cell", String(8)),  # e.g. R5F3M4
    Column("lifecycle", String(20), nullable=False),
    Column("lifecycle_reason", String(200), nullable=False, default=""),
    Column("p_alive", Float),  # BG/NBD chance the customer still buys; NULL when the fit had too little data
    Column("predicted_purchases", Float),  # expected purchases over the workspace's horizon
    Column("preferred_hours", JsonType, nullable=False, default=list),  # local hours with most activity
    Column("computed_at", UTCDateTime, nullable=False),
)

lifecycle_moves = Table(
    "lifecycle_moves",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),  # the scoring run that saw the move
    Column("from_stage", String(20)),  # NULL: the customer had no stage before (first scoring, new customer)
    Column("to_stage", String(20), nullable=False),
    Column("customers", Integer, nullable=False),
    Index("ix_lifecycle_moves_run", "workspace_id", "computed_at"),
)
