"""The event log's unit: one thing that happened at one touchpoint.

Every input (an order row, a tracked event, a follower, a login) becomes an ``Event`` keyed by
``(workspace, source, external_id)``. Everything else liuyu knows is derived from these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.orders import Order

#: Typed commerce and engagement events liuyu understands; anything else is a custom event.
EVENT_TYPES = frozenset(
    {
        "identify",
        "alias",
        "order_placed",
        "order_paid",
        "order_shipped",
        "order_completed",
        "order_cancelled",
        "order_refunded",
        "product_viewed",
        "cart_added",
        "login",
        "followed",
        "unfollowed",
        "review_posted",
        "community_post",
        "page_viewed",
        "custom",
    }
)

ORDER_EVENT_TYPES = frozenset(t for t in EVENT_TYPES if t.startswith("order_"))

CHANNELS = frozenset(
    {
        "tmall",
        "taobao",
        "jd",
        "douyin",
        "wechat",
        "wecom",
        "miniprogram",
        "app",
        "web",
        "store",
        "hotline",
        "email",
        "other",
    }
)

MAX_EXTERNAL_ID = 200


@dataclass(frozen=True, slots=True)
class Event:
    source: str
    external_id: str
    type: str
    occurred_at: datetime
    channel: str = "other"
    identifiers: tuple[Identifier, ...] = ()
    traits: Mapping[str, Any] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict)
    order: Order | None = None
    name: str | None = None  # the event name as sent, for custom events

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if not self.external_id or len(self.external_id) > MAX_EXTERNAL_ID:
            raise ValueError(f"external id must be 1-{MAX_EXTERNAL_ID} characters")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        if self.type in ORDER_EVENT_TYPES and self.order is None:
            raise ValueError(f"{self.type} needs an order")

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)

    def utc(self) -> datetime:
        return self.occurred_at.astimezone(UTC)
