"""One order snapshot becomes one event per lifecycle fact it proves.

External ids name the fact, not the file (``"{order_id}:paid"``), so a re-import, a later export
of the same order or the same order from the platform's API all land on the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, to_fen


def settled(amount: Decimal | None, paid_at: datetime | None, status: str) -> Decimal | None:
    """What the buyer paid: the amount once a pay time exists, or once an order without one
    completed (cash on delivery)."""
    return amount if paid_at is not None or status == "completed" else None


def _latest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def order_events(
    order: Order,
    *,
    source: str,
    channel: str,
    identifiers: tuple[Identifier, ...] = (),
    traits: Mapping[str, Any] | None = None,
    properties: Mapping[str, Any] | None = None,
    closed_at: datetime | None = None,
) -> tuple[Event, ...]:
    """placed, paid, shipped, completed, cancelled and refunded events, each with the full snapshot.

    A fact without its own time (a cancelled order with no close time) takes the latest time
    the order does know, so the timeline keeps its order. ``order.placed_at`` must be set.
    """
    if order.placed_at is None:
        raise ValueError("an order needs the time it was placed")
    so_far = _latest(order.placed_at, order.paid_at, order.shipped_at, order.completed_at)
    assert so_far is not None
    facts: list[tuple[str, str, datetime]] = [("order_placed", "placed", order.placed_at)]
    if order.paid_at is not None:
        facts.append(("order_paid", "paid", order.paid_at))
    if order.shipped_at is not None or order.status == "shipped":
        facts.append(("order_shipped", "shipped", order.shipped_at or so_far))
    if order.status == "completed":
        facts.append(("order_completed", "completed", order.completed_at or so_far))
    if order.status == "cancelled":
        facts.append(("order_cancelled", "cancelled", closed_at or so_far))
    if order.refunded > 0:
        when = order.refunded_at or closed_at or so_far
        facts.append(("order_refunded", f"refunded:{to_fen(order.refunded)}", when))
    shared_traits = dict(traits or {})
    shared_properties = dict(properties or {})
    return tuple(
        Event(
            source=source,
            external_id=f"{order.order_id}:{suffix}",
            type=event_type,
            occurred_at=when,
            channel=channel,
            identifiers=identifiers,
            traits=shared_traits,
            properties=shared_properties,
            order=order,
        )
        for event_type, suffix, when in facts
    )
