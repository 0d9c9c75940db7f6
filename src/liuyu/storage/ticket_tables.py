"""Tickets (工单), their audit trail, supervisor notifications, settings and order follow-ups.

Operational rows, not derived from the event log: a ticket's history is its own append-only trail
(``ticket_changes``), written in the same transaction as the change it records.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

tickets = Table(
    "tickets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("category", String(100), nullable=False),
    Column("fields", JsonType, nullable=False),  # custom field values, as text
    Column("priority", String(10), nullable=False),  # low | normal | high | urgent
    Column("status", String(10), nullable=False),  # open | pending | resolved | closed
    Column("queue", String(100), nullable=False),  # the department: 售后, 物流, 质量, 财务 …
    Column("assignee", String(200)),
    Column("customer_id", BigInteger),
    Column("conversation_id", BigInteger),
    Column("order_id", String(100)),
    Column("source", String(20), nullable=False),  # conversation | api | rule | followup | journey | console
    Column("routing_rule", String(200)),
    Column("routing_explanation", Text),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime),
    Column("awaiting_reply_since", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("pauses", JsonType, nullable=False),  # [[pending since, until or null], …]
    Column("escalations_fired", JsonType, nullable=False),  # keys of escalation actions applied
    Column("first_response_due_at", UTCDateTime),
    Column("next_response_due_at", UTCDateTime),
    Column("resolution_due_at", UTCDateTime),
    Column("sla_state", String(10), nullable=False),  # the worst clock: none | running | paused | met | breached
    Column("sla_due_at", UTCDateTime),  # the soonest due time of a running clock (queue order)
    Column("sla_check_at", UTCDateTime),  # when the escalation job must look again (None: nothing to watch)
    Column("version", Integer, nullable=False),  # optimistic check: two agents never overwrite each other
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_tickets_queue", "workspace_id", "queue", "status", "sla_due_at"),
    Index("ix_tickets_status", "workspace_id", "status", "sla_due_at"),  # the all-queues view
    Index("ix_tickets_customer", "workspace_id", "customer_id"),
    Index("ix_tickets_conversation", "workspace_id", "conversation_id"),
    Index("ix_tickets_sla_check", "sla_check_at"),
)

#: Every change of every ticket, appended and never rewritten.
ticket_changes = Table(
    "ticket_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(20), nullable=False),
    Column("old", Text),
    Column("new", Text),
    Column("reason", Text, nullable=False),
    Index("ix_ticket_changes_ticket", "ticket_id", "id"),
)

#: Escalations that tell a supervisor; the console lists the unread ones.
ticket_notifications = Table(
    "ticket_notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    Index("ix_ticket_notifications_unread", "workspace_id", "read_at", "id"),
)

#: Per workspace: routing rules, SLA policy, business hours, categories, follow-up rules (one JSON).
ticket_settings = Table(
    "ticket_settings",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("config", JsonType, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: The carrier's (or ERP's) latest word on an order's parcel.
order_parcels = Table(
    "order_parcels",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("platform", String(20), primary_key=True),
    Column("order_id", String(100), primary_key=True),
    Column("tracking_no", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # in_transit | delivered | returned | exception
    Column("last_update_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_order_parcels_status", "workspace_id", "status", "last_update_at"),
)

#: What the follow-up job did about an order: one row per kind, so nothing happens twice.
order_followups = Table(
    "order_followups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column(
        "kind", String(30), nullable=False
    ),  # payment_reminder | logistics_notice | logistics_ticket | satisfaction_survey
    Column("outcome", String(20), nullable=False),  # sent | opened | no_channel
    Column("reason", Text, nullable=False),
    Column("conversation_id", BigInteger),
    Column("message_id", BigInteger),
    Column("ticket_id", BigInteger),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "platform", "order_id", "kind", name="uq_order_followups_kind"),
    Index("ix_order_followups_kind", "workspace_id", "kind", "at"),
)
