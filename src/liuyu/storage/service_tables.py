"""Service hub tables: channel settings, conversations, messages and the outbox.

These are operational rows, not derived from the event log: every inbound message is also appended
to the log (``custom`` / ``message_received``) so that it lands on the unified customer, but the
inbox state (status, assignee, notes, replies, deliveries) lives here and is not rebuilt.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

#: Per workspace and channel: the inbound signing secret and where replies go.
service_channels = Table(
    "service_channels",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("channel", String(20), primary_key=True),
    # Kept in clear: verifying an HMAC needs the secret itself (see docs/service_hub_slice.md).
    Column("secret", String(200), nullable=False),
    Column("outbound_kind", String(20), nullable=False, default="webhook"),  # webhook | smtp
    Column("outbound_target", String(500)),  # webhook URL, or "host:port" of the SMTP relay
    Column("outbound_secret", String(200)),  # HMAC key for outbound webhook signatures
    Column("created_at", UTCDateTime, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("conversation_key", String(200), nullable=False),
    Column("customer_id", BigInteger),
    Column("order_platform", String(20)),
    Column("order_id", String(100)),
    Column("status", String(20), nullable=False, default="open"),  # open | pending | snoozed | resolved
    Column("assignee", String(200)),
    Column("anger", Integer, nullable=False, default=0),  # 0 none .. 3 high, the highest seen
    Column("reply_to", String(300)),  # the address replies go to (sender's email for SMTP)
    Column("last_message_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),  # the latest move to resolved
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "channel", "conversation_key", name="uq_conversations_key"),
    # The inbox reads heat first, then the latest: one index per filter the agents use most.
    Index("ix_conversations_inbox", "workspace_id", "status", "anger", "last_message_at"),
    Index("ix_conversations_heat", "workspace_id", "anger", "last_message_at"),
    Index("ix_conversations_assignee", "workspace_id", "assignee", "status", "anger", "last_message_at"),
    Index("ix_conversations_changed", "workspace_id", "updated_at"),  # the live stream polls this
)

messages = Table(
    "service_messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("direction", String(10), nullable=False),  # in | out | note
    Column("external_id", String(200), nullable=False),  # the channel's message id; ours for replies and notes
    Column("sender", String(200), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("analysis", JsonType),
    Column("delivery_status", String(20)),  # replies: queued | sent | failed
    UniqueConstraint("workspace_id", "channel", "direction", "external_id", name="uq_service_messages_key"),
    Index("ix_service_messages_conversation", "conversation_id", "sent_at"),
)

outbox = Table(
    "service_outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    # Who the row is for: "service" (an agent's reply; message_id set) or "messaging" (a send of
    # services/messaging.py, whose messaging_sends row points back here by outbox_id).
    Column("route", String(20), nullable=False, default="service"),
    Column("message_id", ForeignKey("service_messages.id")),
    Column("channel", String(20), nullable=False),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("payload", JsonType, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),  # pending | sending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_service_outbox_due", "status", "next_attempt_at"),
)
