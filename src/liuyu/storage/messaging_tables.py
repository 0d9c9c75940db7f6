"""Messaging tables: providers per channel, templates, the consent log, the suppression list, and
one row per send decision (queued, deferred or skipped, with the reason and the delivery status).

Operational rows, not derived from the event log. Deliveries go through ``service_outbox`` (route
``messaging``), the same outbox and worker as the service hub's replies.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

#: One provider per workspace and channel: how messages of the channel leave (smtp | webhook | http).
messaging_providers = Table(
    "messaging_providers",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("channel", String(20), primary_key=True),  # email | sms | wechat_template | webhook
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    # URL, host/port, sender, method, auth, body mapping, success condition. Kept in clear: the worker
    # needs the credentials themselves; the API shows them masked.
    Column("config", JsonType, nullable=False),
    Column("secret", String(200)),  # HMAC key of a signed webhook
    Column("updated_at", UTCDateTime, nullable=False),
)

messaging_templates = Table(
    "messaging_templates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("subject", String(300), nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("provider_template", String(200)),  # the provider's own template id (SMS template code, WeChat template_id)
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "channel", "name", name="uq_messaging_templates_name"),
)

#: The consent log: append-only, the latest record per customer and channel counts.
messaging_consents = Table(
    "messaging_consents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(10), nullable=False),  # opt_in | opt_out
    Column("at", UTCDateTime, nullable=False),  # when the customer said so
    Column("source", String(200), nullable=False),  # where: "小程序注册页", "短信回复TD", "import:crm.csv"
    Column("evidence", Text, nullable=False, default=""),  # the proof: the checkbox text, the reply
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_messaging_consents_customer", "workspace_id", "customer_id", "channel", "at"),
)

messaging_suppressions = Table(
    "messaging_suppressions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # phone | email | customer
    Column("value", String(200), nullable=False),  # E.164 phone, lower-case email, or customer id
    Column("reason", String(500), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "kind", "value", name="uq_messaging_suppressions_entry"),
)

#: Every send request and what became of it; ``idempotency_key`` makes a repeated request a no-op.
messaging_sends = Table(
    "messaging_sends",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("template", String(100), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("source", String(200), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("decision", String(10), nullable=False),  # queued | skipped
    Column("reason", String(40)),  # a guardrail reason code (quiet_hours on a deferred send)
    Column("detail", String(500), nullable=False, default=""),
    Column("not_before", UTCDateTime),
    Column("outbox_id", BigInteger),
    Column("delivery_status", String(20)),  # queued | retrying | sent | failed
    Column("last_error", Text),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_messaging_sends_key"),
    Index("ix_messaging_sends_customer", "workspace_id", "customer_id", "decided_at"),
    Index("ix_messaging_sends_outbox", "outbox_id"),
    # the console's decisions by reason and its counts per reason over a window
    Index("ix_messaging_sends_reason", "workspace_id", "reason", "decided_at"),
)

#: A workspace's guardrail settings (caps, quiet hours, consent mode, complaint tags, sentiment).
messaging_settings = Table(
    "messaging_settings",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("settings", JsonType, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
