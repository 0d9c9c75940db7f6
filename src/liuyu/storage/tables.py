"""The relational schema: the event log and everything derived from it.

Money is integer fen, times are UTC. Every row carries ``workspace_id`` and every query filters
on it. Tables marked *derived* are rebuilt from ``events`` by ``liuyu rebuild``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; hands back aware datetimes on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None) if _is_sqlite(dialect) else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_sqlite(dialect: object) -> bool:
    return getattr(dialect, "name", "") == "sqlite"


JsonType = JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER keys


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("settings", JsonType, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("locale", String(10), nullable=False, default="zh_CN"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    UniqueConstraint("workspace_id", "email"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# -- the event log: the truth ---------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("source", String(64), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("name", String(200)),
    Column("channel", String(20), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("payload", JsonType, nullable=False),
    Column("import_id", BigInteger),
    Column("customer_id", BigInteger),  # derived: who this event belongs to now
    UniqueConstraint("workspace_id", "source", "external_id", name="uq_events_key"),
    Index("ix_events_customer", "workspace_id", "customer_id", "occurred_at"),
)

# -- derived: identity ----------------------------------------------------------------------

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("anchor_seq", BigInteger, nullable=False),  # the event that first made this customer
    Column("merged_into", BigInteger),
    Column("name", String(200)),
    Column("gender", String(10)),
    Column("province", String(50)),
    Column("city", String(50)),
    Column("address", String(500)),
    Column("birthday", String(10)),
    Column("first_seen", UTCDateTime),
    Column("last_seen", UTCDateTime),
    Column("erased_at", UTCDateTime),
    Index("ix_customers_ws_merged", "workspace_id", "merged_into"),
    Index("ix_customers_ws_name", "workspace_id", "name"),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("customer_id", BigInteger, nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("first_seq", BigInteger, nullable=False),
    Index("ix_identifiers_customer", "workspace_id", "customer_id"),
)

masked_identifiers = Table(
    "masked_identifiers",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("value", String(200), primary_key=True),
)

merges = Table(
    "merges",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("winner_id", BigInteger, nullable=False),
    Column("loser_id", BigInteger, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("evidence", JsonType, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime),
    Column("undone_by", String(200)),
    Index("ix_merges_ws_winner", "workspace_id", "winner_id"),
    Index("ix_merges_ws_loser", "workspace_id", "loser_id"),
)

separations = Table(
    "separations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("anchor_a", BigInteger, nullable=False),
    Column("anchor_b", BigInteger, nullable=False),
    Column("merge_id", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("anchor_a", BigInteger, nullable=False),
    Column("anchor_b", BigInteger, nullable=False),
    Column("suggestion_id", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

# -- derived: orders and traits -------------------------------------------------------------

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("customer_id", BigInteger),
    Column("status", String(20), nullable=False),
    Column("raw_status", String(50)),
    Column("total_fen", BigInteger, nullable=False),
    Column("paid_fen", BigInteger),
    Column("refunded_fen", BigInteger, nullable=False, default=0),
    Column("currency", String(3), nullable=False, default="CNY"),
    Column("placed_at", UTCDateTime),
    Column("paid_at", UTCDateTime),
    Column("shipped_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("refunded_at", UTCDateTime),
    Column("store_id", String(64)),
    Column("channel", String(20), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "platform", "order_id", name="uq_orders_key"),
    Index("ix_orders_customer", "workspace_id", "customer_id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_pk", ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("workspace_id", BigInteger, nullable=False),
    Column("sku", String(100)),
    Column("product_id", String(100)),
    Column("title", String(500), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_fen", BigInteger),
    Column("amount_fen", BigInteger),
    Column("category", String(100)),
)

order_status_history = Table(
    "order_status_history",
    metadata,
    Column("order_pk", ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("event_seq", BigInteger, primary_key=True),
    Column("workspace_id", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

customer_traits = Table(
    "customer_traits",
    metadata,
    Column("customer_id", BigInteger, primary_key=True),
    Column("workspace_id", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False, default=0),
    Column("order_count", Integer, nullable=False, default=0),
    Column("total_spent_fen", BigInteger, nullable=False, default=0),
    Column("aov_fen", BigInteger, nullable=False, default=0),
    Column("first_order_at", UTCDateTime),
    Column("last_order_at", UTCDateTime),
    Column("preferred_channel", String(20)),
    Column("channels", JsonType, nullable=False, default=list),
    Column("categories", JsonType, nullable=False, default=list),
    Index("ix_traits_ws", "workspace_id"),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column("source", String(32), nullable=False),  # manual | rule | event | text
    Column("reason", String(500), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_customer_tags_tag", "workspace_id", "tag"),
)

merge_suggestions = Table(
    "merge_suggestions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("customer_a", BigInteger, nullable=False),
    Column("customer_b", BigInteger, nullable=False),
    Column("probability", Float, nullable=False),
    Column("evidence", JsonType, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),  # pending | accepted | rejected
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(200)),
    UniqueConstraint("workspace_id", "customer_a", "customer_b", name="uq_merge_suggestions_pair"),
)

dirty_customers = Table(
    "dirty_customers",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
)

# -- imports, rejections and audit ----------------------------------------------------------

imports = Table(
    "imports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("format", String(32), nullable=False),
    Column("filename", String(500), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("read", Integer, nullable=False, default=0),
    Column("stored", Integer, nullable=False, default=0),
    Column("duplicate", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("error_file", String(500)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

rejections = Table(
    "rejections",
    metadata,
    Column("workspace_id", ForeignKey("workspaces.id"), primary_key=True),
    Column("origin", String(300), primary_key=True),  # file digest + line, or source + batch item key
    Column("location", String(300), nullable=False),
    Column("field", String(100), nullable=False, default=""),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", ForeignKey("workspaces.id"), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", JsonType, nullable=False, default=dict),
    Column("at", UTCDateTime, nullable=False),
)

#: Tables rebuilt from the event log, in the order they are cleared.
DERIVED_TABLES = (
    order_status_history,
    order_lines,
    orders,
    customer_traits,
    dirty_customers,
    merges,
    masked_identifiers,
    identifiers,
    customers,
)

# -- area tables: each area keeps its tables in its own module on the same metadata; one name a line.
from liuyu.storage import (  # noqa: E402  (they register on the metadata above)
    area_tables,  # noqa: F401
    engagement_tables,  # noqa: F401
    journey_tables,  # noqa: F401
    knowledge_tables,  # noqa: F401
    loyalty_tables,  # noqa: F401
    messaging_tables,  # noqa: F401
    service_quality_tables,  # noqa: F401
    service_tables,  # noqa: F401
    ticket_tables,  # noqa: F401
    worker_tables,  # noqa: F401
)
