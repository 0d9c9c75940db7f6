"""Inbound event payloads: liuyu's own schema and the Segment tracking spec, turned into domain Events.

Each item is checked on its own, so one bad item in a batch is reported (index, field, reason)
while the others are stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from liuyu.domain.customers.identifiers import KINDS, Identifier, make_identifier
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import CHANNELS, EVENT_TYPES, Event
from liuyu.domain.orders import STATUS_OF_EVENT, Order, OrderLine, parse_money

MAX_BATCH = 1000


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str = Field(min_length=1, max_length=500)
    quantity: int = Field(default=1, ge=0, le=1_000_000)
    sku: str | None = Field(default=None, max_length=100)
    product_id: str | None = Field(default=None, max_length=100)
    unit_price: Decimal | None = Field(default=None, ge=0, le=10**10)
    amount: Decimal | None = Field(default=None, ge=0, le=10**10)
    category: str | None = Field(default=None, max_length=100)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str = Field(min_length=1, max_length=100)
    platform: str | None = Field(default=None, max_length=20)
    status: Literal["pending_payment", "paid", "shipped", "completed", "cancelled", "refunded"] | None = None
    total: Decimal = Field(default=Decimal("0"), ge=0, le=10**10)
    paid: Decimal | None = Field(default=None, ge=0, le=10**10)
    refunded: Decimal = Field(default=Decimal("0"), ge=0, le=10**10)
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    placed_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    completed_at: datetime | None = None
    refunded_at: datetime | None = None
    store_id: str | None = Field(default=None, max_length=64)
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=500)


class EventIn(BaseModel):
    """One event in liuyu's own schema."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["identify", "track"]
    event: str | None = Field(default=None, max_length=200, description="For track: order_paid, product_viewed, …")
    id: str = Field(min_length=1, max_length=200, description="Your unique id for this event (idempotency key).")
    timestamp: datetime
    channel: str = "other"
    identifiers: dict[str, str] = Field(default_factory=dict, description="kind -> value, e.g. phone, unionid.")
    verified: list[str] = Field(default_factory=list, description="Identifier kinds the channel verified.")
    traits: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    order: OrderIn | None = None


class BatchIn(BaseModel):
    batch: list[dict[str, Any]] = Field(max_length=MAX_BATCH)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _identifiers(pairs: dict[str, Any], verified: set[str], where: str) -> tuple[Identifier, ...]:
    out = []
    for kind, value in pairs.items():
        if kind not in KINDS:
            raise InvalidInput(
                f"unknown identifier kind; use one of {', '.join(sorted(KINDS))}",
                where=where,
                field=f"identifiers.{kind}",
                value=kind,
            )
        try:
            ident = make_identifier(kind, value, verified=kind in verified)
        except ValueError as exc:
            raise InvalidInput(str(exc), where=where, field=f"identifiers.{kind}", value=value) from exc
        if ident is not None:
            out.append(ident)
    return tuple(out)


def _order(data: OrderIn, event_type: str, channel: str, at: datetime) -> Order:
    status = data.status or STATUS_OF_EVENT.get(event_type, "pending_payment")
    return Order(
        platform=data.platform or channel,
        order_id=data.order_id,
        status=status,
        total=data.total,
        paid=data.paid
        if data.paid is not None
        else (data.total if status in ("paid", "shipped", "completed") else None),
        refunded=data.refunded,
        currency=data.currency.upper(),
        placed_at=_opt(data.placed_at) or (at if event_type == "order_placed" else None),
        paid_at=_opt(data.paid_at) or (at if event_type == "order_paid" else None),
        shipped_at=_opt(data.shipped_at),
        completed_at=_opt(data.completed_at),
        refunded_at=_opt(data.refunded_at),
        store_id=data.store_id,
        lines=tuple(OrderLine(**line.model_dump()) for line in data.lines),
    )


def _opt(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)


def _first_error(exc: ValidationError, where: str) -> InvalidInput:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()))
    return InvalidInput(err.get("msg", "invalid"), where=where, field=field, value=err.get("input"))


def parse_liuyu_event(item: Any, source: str, where: str) -> Event:
    """One item of liuyu's schema to a domain Event; InvalidInput names the field and why."""
    try:
        data = EventIn.model_validate(item)
    except ValidationError as exc:
        raise _first_error(exc, where) from exc
    event_type = "identify" if data.type == "identify" else (data.event or "")
    name = None
    if data.type == "track":
        if not data.event:
            raise InvalidInput("a track event needs its name in `event`", where=where, field="event")
        if event_type not in EVENT_TYPES or event_type in ("identify", "alias"):
            event_type, name = "custom", data.event
    if data.channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel; use one of {', '.join(sorted(CHANNELS))}",
            where=where,
            field="channel",
            value=data.channel,
        )
    at = _aware(data.timestamp)
    order = None
    if event_type.startswith("order_"):
        if data.order is None:
            raise InvalidInput(f"{event_type} needs an `order`", where=where, field="order")
        order = _order(data.order, event_type, data.channel, at)
    return Event(
        source=source,
        external_id=data.id,
        type=event_type,
        name=name,
        occurred_at=at,
        channel=data.channel,
        identifiers=_identifiers(data.identifiers, set(data.verified), where),
        traits=data.traits,
        properties=data.properties,
        order=order,
    )


# -- Segment tracking spec ------------------------------------------------------------------

#: Segment e-commerce spec event names that mean one of liuyu's typed events.
SEGMENT_EVENTS = {
    "order completed": "order_paid",
    "order placed": "order_placed",
    "checkout started": "order_placed",
    "order updated": "order_placed",
    "order refunded": "order_refunded",
    "order cancelled": "order_cancelled",
    "order shipped": "order_shipped",
    "product viewed": "product_viewed",
    "product added": "cart_added",
    "signed in": "login",
    "product reviewed": "review_posted",
}
_STRONG_TRAITS = {
    "phone": "phone",
    "mobile": "phone",
    "email": "email",
    "unionid": "unionid",
    "union_id": "unionid",
    "member_no": "member_no",
    "memberNo": "member_no",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _segment_type(name: str) -> tuple[str, str | None]:
    key = name.strip().lower()
    if key in SEGMENT_EVENTS:
        return SEGMENT_EVENTS[key], None
    snake = _CAMEL.sub("_", name.strip()).replace(" ", "_").lower()
    if snake in EVENT_TYPES and snake not in ("identify", "alias", "custom"):
        return snake, None
    return "custom", name


def _segment_order(props: dict[str, Any], event_type: str, channel: str, at: datetime, where: str) -> Order:
    order_id = props.get("order_id") or props.get("orderId") or props.get("checkout_id")
    if not order_id:
        raise InvalidInput(f"{event_type} needs properties.order_id", where=where, field="properties.order_id")
    try:
        total = parse_money(props.get("total", props.get("revenue", props.get("value", 0)))) or Decimal("0")
        lines = tuple(
            OrderLine(
                title=str(p.get("name") or p.get("sku") or p.get("product_id") or "item")[:500],
                quantity=int(p.get("quantity", 1)),
                sku=None if p.get("sku") is None else str(p["sku"]),
                product_id=None if p.get("product_id") is None else str(p["product_id"]),
                unit_price=parse_money(p.get("price")),
                category=None if p.get("category") is None else str(p["category"]),
            )
            for p in props.get("products") or []
            if isinstance(p, dict)
        )
        refunded = parse_money(props.get("refunded", total if event_type == "order_refunded" else 0)) or Decimal("0")
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise InvalidInput(str(exc), where=where, field="properties") from exc
    return Order(
        platform=channel,
        order_id=str(order_id),
        status=STATUS_OF_EVENT.get(event_type, "pending_payment"),
        total=total,
        paid=total if event_type in ("order_paid", "order_refunded", "order_shipped", "order_completed") else None,
        refunded=refunded,
        currency=str(props.get("currency") or "CNY").upper()[:3],
        placed_at=at,
        paid_at=at if event_type == "order_paid" else None,
        refunded_at=at if event_type == "order_refunded" else None,
        lines=lines,
    )


def _parse_time(value: Any, where: str, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return _aware(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError as exc:
        raise InvalidInput("not an ISO 8601 time", where=where, field=field, value=value) from exc


def parse_segment_message(item: Any, source: str, where: str, default_type: str | None = None) -> Event:
    """A Segment message (identify, track, page, screen, alias, group) to a domain Event."""
    if not isinstance(item, dict):
        raise InvalidInput("each message must be a JSON object", where=where)
    kind = item.get("type") or default_type
    if kind not in ("identify", "track", "page", "screen", "alias", "group"):
        raise InvalidInput(
            "type must be identify, track, page, screen, alias or group", where=where, field="type", value=kind
        )
    message_id = item.get("messageId")
    if not message_id or not isinstance(message_id, str) or len(message_id) > 200:
        raise InvalidInput("messageId is required (1-200 characters)", where=where, field="messageId", value=message_id)
    at = (
        _parse_time(item.get("timestamp"), where, "timestamp")
        or _parse_time(item.get("originalTimestamp"), where, "originalTimestamp")
        or _parse_time(item.get("sentAt"), where, "sentAt")
        or datetime.now(UTC)
    )
    context = item.get("context") if isinstance(item.get("context"), dict) else {}
    traits = (
        {**(context.get("traits") or {}), **(item.get("traits") or {})}
        if kind in ("identify", "group")
        else dict(context.get("traits") or {})
    )
    props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
    pairs: dict[str, Any] = {}
    if item.get("userId") not in (None, ""):
        pairs["app_user_id"] = str(item["userId"])
    if item.get("anonymousId") not in (None, ""):
        pairs["anonymous_id"] = str(item["anonymousId"])
    if kind == "alias" and item.get("previousId") not in (None, ""):
        pairs.setdefault("anonymous_id", str(item["previousId"]))
    for trait, id_kind in _STRONG_TRAITS.items():
        if traits.get(trait) not in (None, ""):
            pairs[id_kind] = str(traits[trait])
    channel = str(context.get("channel") or props.get("channel") or "web")
    channel = channel if channel in CHANNELS else ("app" if channel in ("mobile", "server") else "web")
    if kind in ("identify", "alias", "group"):
        event_type, name = "identify", None
    elif kind in ("page", "screen"):
        event_type, name = "page_viewed", item.get("name")
    else:
        if not item.get("event"):
            raise InvalidInput("a track message needs `event`", where=where, field="event")
        event_type, name = _segment_type(str(item["event"]))
    order = _segment_order(props, event_type, channel, at, where) if event_type.startswith("order_") else None
    profile = {k: v for k, v in traits.items() if k in ("name", "gender", "city", "province", "birthday", "address")}
    return Event(
        source=source,
        external_id=message_id,
        type=event_type,
        name=None if name is None else str(name)[:200],
        occurred_at=at,
        channel=channel,
        identifiers=_identifiers(pairs, {"phone"} if traits.get("phone_verified") else set(), where),
        traits=profile,
        properties={k: v for k, v in props.items() if k != "products"},
        order=order,
    )
