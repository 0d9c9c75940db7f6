"""Events to and from the JSON payload kept in the event log.

The payload holds everything needed to replay an event (identifiers, traits, properties, the order
snapshot), so every derived table can be rebuilt from the log alone.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine

_TIME_FIELDS = ("placed_at", "paid_at", "shipped_at", "completed_at", "refunded_at")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable_map(value: Any) -> dict[str, Any]:
    """Most traits and properties are flat strings and numbers: those are taken as they are."""
    if all(type(k) is str and type(v) in _PLAIN for k, v in value.items()):
        return dict(value)
    return _jsonable(dict(value))  # type: ignore[no-any-return]


def order_to_dict(order: Order) -> dict[str, Any]:
    data: dict[str, Any] = {
        "platform": order.platform,
        "order_id": order.order_id,
        "status": order.status,
        "raw_status": order.raw_status,
        "total": str(order.total),
        "paid": None if order.paid is None else str(order.paid),
        "refunded": str(order.refunded),
        "currency": order.currency,
        "store_id": order.store_id,
        "lines": [
            {
                "title": line.title,
                "quantity": line.quantity,
                "sku": line.sku,
                "product_id": line.product_id,
                "unit_price": None if line.unit_price is None else str(line.unit_price),
                "amount": None if line.amount is None else str(line.amount),
                "category": line.category,
            }
            for line in order.lines
        ],
    }
    for name in _TIME_FIELDS:
        moment = getattr(order, name)
        data[name] = None if moment is None else moment.isoformat()
    return data


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def order_from_dict(data: dict[str, Any]) -> Order:
    times = {name: (None if data.get(name) is None else datetime.fromisoformat(data[name])) for name in _TIME_FIELDS}
    return Order(
        platform=data["platform"],
        order_id=data["order_id"],
        status=data["status"],
        raw_status=data.get("raw_status"),
        total=Decimal(data["total"]),
        paid=_dec(data.get("paid")),
        refunded=Decimal(data.get("refunded") or "0"),
        currency=data.get("currency") or "CNY",
        store_id=data.get("store_id"),
        lines=tuple(
            OrderLine(
                title=line["title"],
                quantity=line["quantity"],
                sku=line.get("sku"),
                product_id=line.get("product_id"),
                unit_price=_dec(line.get("unit_price")),
                amount=_dec(line.get("amount")),
                category=line.get("category"),
            )
            for line in data.get("lines", [])
        ),
        **times,
    )


def event_to_payload(event: Event) -> dict[str, Any]:
    return {
        "identifiers": [[i.kind, i.value, i.masked, i.verified] for i in event.identifiers],
        "traits": _jsonable_map(event.traits),
        "properties": _jsonable_map(event.properties),
        "order": None if event.order is None else order_to_dict(event.order),
    }


def identifiers_from_payload(payload: dict[str, Any]) -> tuple[Identifier, ...]:
    return tuple(
        Identifier(kind, value, bool(masked), bool(verified))
        for kind, value, masked, verified in payload["identifiers"]
    )


def event_from_row(row: Any) -> Event:
    """Rebuild the domain Event from an ``events`` row (source, external_id, type, ... payload)."""
    payload = row.payload
    return Event(
        source=row.source,
        external_id=row.external_id,
        type=row.type,
        name=row.name,
        occurred_at=row.occurred_at,
        channel=row.channel,
        identifiers=identifiers_from_payload(payload),
        traits=payload.get("traits") or {},
        properties=payload.get("properties") or {},
        order=None if payload.get("order") is None else order_from_dict(payload["order"]),
    )
