"""Quality inspection, report facts, CSAT and attachments of the service hub.

Operational rows beside the inbox tables: a QA result is recomputed from the stored messages
(until a supervisor overrides it), and the per-conversation facts the reports read are refreshed
by the ``service-qa`` job. Attachment bytes live on disk, content-addressed; only metadata is here.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

#: One QA rubric per workspace (the domain ``QaRubric`` as JSON); ``version`` counts edits.
qa_rubrics = Table(
    "service_qa_rubrics",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("rubric", JsonType, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: Which team an agent belongs to, for team scorecards and reports.
agent_teams = Table(
    "service_agent_teams",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("agent", String(200), primary_key=True),
    Column("team", String(100), nullable=False),
)

#: The latest inspection of a conversation: each criterion's score, evidence and override.
qa_results = Table(
    "service_qa_results",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False, unique=True),
    Column("agent", String(200)),
    Column("team", String(100)),
    Column("channel", String(20), nullable=False),
    Column("total", Float, nullable=False),
    Column("scores", JsonType, nullable=False),
    Column("rubric_version", Integer, nullable=False),
    Column("overridden", Boolean, nullable=False, default=False),
    Column("inspected_at", UTCDateTime, nullable=False),
    Index("ix_service_qa_results_time", "workspace_id", "inspected_at"),
)

#: Every supervisor override, kept even when a later one replaces it (the audit trail of QA).
qa_overrides = Table(
    "service_qa_overrides",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("result_id", ForeignKey("service_qa_results.id"), nullable=False),
    Column("criterion", String(40), nullable=False),
    Column("original", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("by", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_service_qa_overrides_result", "result_id"),
)

#: Customer satisfaction answers (1-5); ``external_id`` dedupes a survey answer delivered twice.
csat = Table(
    "service_csat",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "external_id", name="uq_service_csat_key"),
    Index("ix_service_csat_conversation", "conversation_id", "at"),
)

#: One row per conversation with what the reports count; refreshed when the conversation changes.
conversation_facts = Table(
    "service_conversation_facts",
    metadata,
    Column("conversation_id", ForeignKey("conversations.id"), primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("agent", String(200)),
    Column("team", String(100)),
    Column("status", String(20), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),  # the customer's first message
    # Reporting buckets of opened_at in the workspace time zone: 2026-11-22, 2026-W47, 2026-11.
    Column("day", String(10), nullable=False),
    Column("week", String(8), nullable=False),
    Column("month", String(7), nullable=False),
    Column("first_response_seconds", Integer),
    Column("resolution_seconds", Integer),
    Column("sla_target_seconds", Integer),
    Column("sla_met", Boolean),  # None: no customer message or still waiting within target
    Column("csat", Integer),
    Column("qa_total", Float),
    Column("intent", String(100)),
    Column("sentiment", Float),  # mean of the customer messages, -1 .. 1
    Column("messages", Integer, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_service_facts_opened", "workspace_id", "opened_at"),
    Index("ix_service_facts_agent", "workspace_id", "agent", "opened_at"),
)

#: Attachment metadata; the bytes are at ``<attachment dir>/<sha256[:2]>/<sha256>``.
attachments = Table(
    "service_attachments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("message_id", ForeignKey("service_messages.id")),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),  # as declared and checked; never served as such
    Column("filename", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_service_attachments_message", "workspace_id", "message_id"),
)
