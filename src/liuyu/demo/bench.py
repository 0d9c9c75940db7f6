"""Large synthetic event streams for the benchmarks: fast, plain, with a known cross-channel overlap.

Unlike the demo, nothing here tries to look real beyond the shape of the identifiers: the point
is a million events in seconds, where a known share of the people appear on two or three
channels tied together by one verified phone.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from liuyu.demo.catalog import demo_catalog
from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine

BENCH_START = datetime(2025, 1, 1, tzinfo=UTC)
EVENTS_PER_PERSON = 10
_CHANNELS = ("tmall", "jd", "douyin", "app", "miniprogram", "store")
_MARKETPLACES = frozenset({"tmall", "jd", "douyin"})


def _phone(i: int) -> str:
    """A distinct, well-formed Chinese mobile number per person index."""
    return f"+861{3 + i % 7}{i:09d}"


def _account(channel: str, i: int) -> Identifier:
    if channel == "tmall":
        return Identifier("tmall_open_uid", f"AAHb{i:020d}")
    if channel == "jd":
        return Identifier("jd_pin", f"jd_b{i:x}")
    if channel == "douyin":
        return Identifier("douyin_open_id", f"dyb{i:020d}")
    if channel == "app":
        return Identifier("app_user_id", f"b{i}")
    if channel == "miniprogram":
        return Identifier("wechat_openid", f"oBench{i:022d}")
    return Identifier("member_no", f"QMB{i:09d}", verified=True)


def _identifiers(channel: str, i: int, shared: bool) -> tuple[Identifier, ...]:
    phone = _phone(i)
    if channel in _MARKETPLACES and not shared:
        digits = phone[3:]
        return (_account(channel, i), Identifier("phone", digits[:3] + "****" + digits[-4:], masked=True))
    return (_account(channel, i), Identifier("phone", phone, verified=True))


def bench_events(n: int, *, seed: int = 1, overlap: float = 0.2) -> Iterator[Event]:
    """``n`` view, cart, login and order events; about ``overlap`` of the people use 2-3 channels.

    People who use several channels carry the same verified phone on each (a member who bound
    their phone on the marketplace too); the others stay on one channel, where marketplaces only
    give a masked phone.
    """
    rng = random.Random(seed)
    people = max(1, n // EVENTS_PER_PERSON)
    channels: list[tuple[str, ...]] = []
    for _ in range(people):
        if rng.random() < overlap:
            channels.append(tuple(rng.sample(_CHANNELS, 2 if rng.random() < 0.7 else 3)))
        else:
            channels.append((rng.choice(_CHANNELS),))
    lines = [
        (
            OrderLine(
                title=p.title,
                quantity=1,
                sku=p.sku,
                product_id=p.sku,
                unit_price=p.price,
                amount=p.price,
                category=p.category,
            ),
            p,
        )
        for p in demo_catalog()
    ]
    known: dict[tuple[int, str], tuple[Identifier, ...]] = {}
    pending: dict[int, Order] = {}
    random_ = rng.random
    for i in range(n):
        person = i % people
        own = channels[person]
        channel = own[(i // people) % len(own)]
        ids = known.get((person, channel))
        if ids is None:
            ids = known[(person, channel)] = _identifiers(channel, person, len(own) > 1)
        when = BENCH_START + timedelta(seconds=i)
        roll = random_()
        if roll < 0.25:
            order = pending.pop(person, None)
            if order is None or order.platform != channel:
                line, product = lines[int(random_() * len(lines))]
                order = Order(channel, f"B{seed}-{i}", "pending_payment", product.price, placed_at=when, lines=(line,))
                pending[person] = order
                yield Event(channel, f"{order.order_id}:placed", "order_placed", when, channel, ids, order=order)
            else:
                paid = Order(
                    channel,
                    order.order_id,
                    "paid",
                    order.total,
                    order.total,
                    placed_at=order.placed_at,
                    paid_at=when,
                    lines=order.lines,
                )
                yield Event(channel, f"{order.order_id}:paid", "order_paid", when, channel, ids, order=paid)
            continue
        line, product = lines[int(random_() * len(lines))]
        kind = "product_viewed" if roll < 0.75 else "cart_added" if roll < 0.9 else "login"
        properties = {} if kind == "login" else {"sku": product.sku, "price": str(product.price)}
        yield Event(channel, f"b{i:09d}", kind, when, channel, ids, properties=properties)
