"""Knowledge base tables: articles and their chunks, mined FAQ pairs, suggestion feedback, gaps, the bot.

Operational rows like the inbox's (not derived from the event log). ``kb_state.revision`` goes up
with every change to what can be suggested, so a process can tell that its cached index is stale
with one primary-key read.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

kb_state = Table(
    "kb_state",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("revision", Integer, nullable=False, default=0),
    # Random per kb_state row: a database emptied and refilled never looks like the one a cache saw.
    Column("token", String(32), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: One imported document; ``name`` (the file or upload name) is its key within a workspace.
kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("title", String(300), nullable=False),
    Column("kind", String(20), nullable=False),  # markdown | text | html | docx | pdf
    Column("digest", String(64), nullable=False),  # sha256 of the file: an unchanged re-import is skipped
    Column("chunk_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_kb_articles_name"),
)

kb_chunks = Table(
    "kb_chunks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("article_id", ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("heading", String(500), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("vector", LargeBinary),  # e5 passage vector, float32 x 384; NULL when embeddings were off
    Index("ix_kb_chunks_workspace", "workspace_id", "article_id", "position"),
)

#: Customer question -> the agent answer that closed it, mined from resolved conversations.
kb_faqs = Table(
    "kb_faqs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("digest", String(64), nullable=False),  # of the normalised question and answer
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("support", Integer, nullable=False, default=1),  # resolved conversations that gave this pair
    Column("conversation_id", ForeignKey("conversations.id")),  # the first one
    Column("vector", LargeBinary),  # e5 query vector of the question
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "digest", name="uq_kb_faqs_digest"),
)

#: Conversations already mined (each gives at most one pair), so mining again adds nothing twice.
kb_mined = Table(
    "kb_mined",
    metadata,
    Column("conversation_id", ForeignKey("conversations.id"), primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("faq_id", ForeignKey("kb_faqs.id")),
    Column("mined_at", UTCDateTime, nullable=False),
)

#: What agents did with a suggestion: inserted it, or marked it helpful / unhelpful.
kb_feedback = Table(
    "kb_feedback",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("message_id", ForeignKey("service_messages.id"), nullable=False),
    Column("source", String(10), nullable=False),  # chunk | faq
    Column("source_id", Integer, nullable=False),
    Column("article_id", Integer),  # for chunks: usage and staleness are counted per article
    Column("action", String(20), nullable=False),  # inserted | helpful | unhelpful
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("message_id", "source", "source_id", "action", "actor", name="uq_kb_feedback_once"),
    Index("ix_kb_feedback_article", "workspace_id", "article_id", "action"),
)

#: Questions the knowledge base did not answer well: no good suggestion, or a bot answer flagged wrong.
kb_gaps = Table(
    "kb_gaps",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("message_id", ForeignKey("service_messages.id"), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("reason", String(20), nullable=False),  # no_suggestion | bot_wrong
    # The question is read from the message (never copied), so erasing a customer erases it here too.
    Column("detail", JsonType, nullable=False, default=dict),  # best confidence, the flagged answer, who
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "message_id", "reason", name="uq_kb_gaps_once"),
    Index("ix_kb_gaps_recent", "workspace_id", "created_at"),
)

#: Bot first, per channel: on or off, and the confidence a bot answer needs.
kb_bot_settings = Table(
    "kb_bot_settings",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=False),
    Column("threshold", Float, nullable=False, default=0.8),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: One bot decision per inbound message on a bot channel: answered (with citations) or handed off.
kb_bot_turns = Table(
    "kb_bot_turns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("message_id", ForeignKey("service_messages.id"), nullable=False),  # the customer's message
    Column("action", String(20), nullable=False),  # answered | handoff
    Column("reason", String(30)),  # handoff: asked_for_human | negative_sentiment | low_confidence
    Column("confidence", Float, nullable=False, default=0.0),
    Column("reply_id", ForeignKey("service_messages.id")),  # the bot's reply
    Column("citations", JsonType, nullable=False, default=list),
    Column("flagged", Boolean, nullable=False, default=False),  # an agent said the answer was wrong
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("message_id", name="uq_kb_bot_turns_message"),
    Index("ix_kb_bot_turns_report", "workspace_id", "at"),
    Index("ix_kb_bot_turns_conversation", "conversation_id", "at"),
)
