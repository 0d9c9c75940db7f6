"""The member center's tables (see docs/member_center.md).

``loyalty_facts`` is the member center's own log: facts derived from events (cleared by a rebuild)
and operator and job actions (kept). Entries, members and tier changes are derived from it;
programs, coupons and benefit uses are operator data.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from liuyu.storage.tables import Id, JsonType, UTCDateTime, metadata

loyalty_programs = Table(
    "loyalty_programs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False, unique=True),
    Column("document", JsonType, nullable=False),
    Column("source", Text, nullable=False, default=""),  # the YAML as the admin wrote it
    Column("coupon_secret", String(64), nullable=False),  # keys the HMAC of unique coupon codes
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

loyalty_facts = Table(
    "loyalty_facts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("position", BigInteger, nullable=False),  # the event seq this fact follows
    Column("customer_id", BigInteger),  # None for job runs, which touch every account
    Column("payload", JsonType, nullable=False),
    Column("actor", String(200), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "key", name="uq_loyalty_facts_key"),
    Index("ix_loyalty_facts_customer", "workspace_id", "customer_id"),
    Index("ix_loyalty_facts_kind", "workspace_id", "kind"),  # merges, read by every action to find its member
)

# -- derived from loyalty_facts ---------------------------------------------------------------

loyalty_entries = Table(
    "loyalty_entries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("part", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("target", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("customer_id", BigInteger, nullable=False),  # whose lot
    Column("lot_id", String(300), nullable=False),
    Column("order_id", String(200)),
    Column("actor", String(200)),
    Column("reason", Text, nullable=False, default=""),
    Column("explanation", JsonType, nullable=False),
    UniqueConstraint("workspace_id", "key", "part", name="uq_loyalty_entries_key_part"),
    Index("ix_loyalty_entries_customer", "workspace_id", "customer_id", "at"),
)

loyalty_members = Table(
    "loyalty_members",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("customer_id", BigInteger, nullable=False),  # the account's primary customer
    Column("member_no", String(32), nullable=False),
    Column("join_channel", String(20), nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    Column("enrolled_by", String(16), nullable=False),
    Column("consents", JsonType, nullable=False),
    Column("customers", JsonType, nullable=False),  # every customer merged into the account
    Column("tier", String(32), nullable=False),
    Column("available", BigInteger, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("debt", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "customer_id", name="uq_loyalty_members_customer"),
)

loyalty_tier_changes = Table(
    "loyalty_tier_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_tier", String(32)),
    Column("to_tier", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_loyalty_tier_changes_customer", "workspace_id", "customer_id"),
)

# -- operator data --------------------------------------------------------------------------

loyalty_coupons = Table(
    "loyalty_coupons",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("template", String(64), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("batch", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # issued, redeemed, expired
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("redeemed_at", UTCDateTime),
    Column("order_id", String(200)),
    Column("channel", String(20)),
    Column("discount_fen", BigInteger),
    UniqueConstraint("workspace_id", "code", name="uq_loyalty_coupons_code"),
    Index("ix_loyalty_coupons_customer", "workspace_id", "customer_id"),
    Index("ix_loyalty_coupons_order", "workspace_id", "order_id"),  # a refunded order's coupons come back
)

loyalty_benefit_uses = Table(
    "loyalty_benefit_uses",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("value", String(200), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "key", name="uq_loyalty_benefit_uses_key"),
)
