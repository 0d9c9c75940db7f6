"""What the demo's people say: reviews, community posts and customer-service chats.

Each stream replays the demo's plan with the same seed, so every text belongs to a person and,
where it should, to an order of ``generate_demo`` with the same arguments; a second random source
(derived from the seed) picks the words, so adding texts never changes the main demo.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime

from liuyu.demo.catalog import demo_catalog
from liuyu.demo.chats import conversation
from liuyu.demo.generator import EventBuilder
from liuyu.demo.planner import DAY, HOUR, OrderPlan, make_plan
from liuyu.demo.texts import post_text, review_text
from liuyu.domain.eventlog import Event


def generate_texts(*, seed: int = 2026, people: int = 20_000, now: datetime | None = None) -> Iterator[Event]:
    """Reviews of delivered orders and community posts by the same people, in time order.

    Ratings follow what happened to the order: a refunded order mostly earns one or two stars.
    """
    plan = make_plan(seed, people, now)
    builder = EventBuilder(plan)
    rng = random.Random(seed * 7919 + 17)
    found: list[tuple[int, int, Event]] = []
    for o in plan.orders:
        if o.completed is None or rng.random() >= 0.3:
            continue
        channel = o.channel
        p = plan.people[o.person]
        if channel == "store":
            if p.app_user_id is None:
                continue
            channel = "app"  # store buyers review in the app
        t = o.completed + rng.randrange(600, 10 * 86_400)
        if t > plan.horizon:
            continue
        rating = _rating(rng, o)
        product, variant, _ = o.lines[0]
        when = builder.at(t)
        event = Event(
            source=channel,
            external_id=f"review-{o.order_id}",
            type="review_posted",
            occurred_at=when,
            channel=channel,
            identifiers=builder.identifiers(p, channel, when, t),
            properties={
                "text": review_text(rng, product, variant, rating),
                "sku": product.sku,
                "rating": rating,
                "order_id": o.order_id,
            },
        )
        found.append((t, len(found), event))
    catalog = {product.sku: product for product in demo_catalog()}
    bought: dict[int, list[str]] = {}
    for o in plan.orders:
        bought.setdefault(o.person, []).append(o.lines[0][0].sku)
    for p in plan.people:
        community = [c for c in p.channels if c in ("app", "miniprogram")]
        if not community or rng.random() >= (0.4 if p.segment == "loyal" else 0.1):
            continue
        for _ in range(rng.randint(1, 3)):
            skus = bought.get(p.idx) or sorted(catalog)
            product = catalog[rng.choice(skus)]
            t = rng.randrange(p.first_day * 86_400, (p.last_day + 1) * 86_400)
            if t > plan.horizon:
                continue
            channel = rng.choice(community)
            text, rating = post_text(rng, product)
            when = builder.at(t)
            event = Event(
                source=channel,
                external_id=f"post-{len(found):07d}",
                type="community_post",
                occurred_at=when,
                channel=channel,
                identifiers=builder.identifiers(p, channel, when, t),
                properties={"text": text, "sku": product.sku, "rating": rating},
            )
            found.append((t, len(found), event))
    found.sort(key=lambda item: (item[0], item[1]))
    for _, _, event in found:
        yield event


def _rating(rng: random.Random, o: OrderPlan) -> int:
    if o.refund and o.refund >= o.paid:
        return rng.choice((1, 1, 1, 2, 2, 3))
    if o.refund:
        return rng.choice((2, 3, 3, 4))
    return rng.choices((5, 4, 3, 2, 1), weights=(60, 22, 10, 5, 3))[0]


def generate_chats(*, seed: int = 2026, people: int = 20_000, now: datetime | None = None) -> Iterator[Event]:
    """Customer-service chats about the demo's orders, one ``chat_message`` custom event per message.

    Properties: ``conversation_id``, ``role`` (customer or agent), ``text``, ``order_id``, ``sku``
    and ``topic``: the generator's own label (logistics, return, installation, pre_sale, complaint,
    unpaid_reminder), which a real channel would not send; it is there to score text models.
    """
    plan = make_plan(seed, people, now)
    builder = EventBuilder(plan)
    rng = random.Random(seed * 7919 + 29)
    found: list[tuple[int, int, Event]] = []
    for o in plan.orders:
        if o.channel == "store" or o.placed > plan.horizon:
            continue  # store questions are asked at the counter; orders after `now` never happened
        chosen = _chat_topic(rng, o)
        if chosen is None:
            continue
        topic, t = chosen
        p = plan.people[o.person]
        product, variant, _ = o.lines[0]
        turns = conversation(rng, topic, product, variant=variant, order_id=o.order_id, city=p.city)
        conversation_id = f"{o.order_id}:{topic}"
        for n, (role, text) in enumerate(turns):
            t += rng.randrange(15, 300) if n else 0
            if t > plan.horizon:
                break
            when = builder.at(t)
            event = Event(
                source=o.channel,
                external_id=f"chat-{conversation_id}:{n}",
                type="custom",
                name="chat_message",
                occurred_at=when,
                channel=o.channel,
                identifiers=builder.identifiers(p, o.channel, when, t),
                properties={
                    "conversation_id": conversation_id,
                    "role": role,
                    "text": text,
                    "order_id": o.order_id,
                    "sku": product.sku,
                    "topic": topic,
                },
            )
            found.append((t, len(found), event))
    found.sort(key=lambda item: (item[0], item[1]))
    for _, _, event in found:
        yield event


def _chat_topic(rng: random.Random, o: OrderPlan) -> tuple[str, int] | None:
    """Whether the order's buyer chats with service, about what, and when the chat starts."""
    roll = rng.random()
    if o.cancelled is not None:
        if roll < 0.4:
            return "unpaid_reminder", o.placed + rng.randrange(300, max(301, o.cancelled - o.placed))
        return None
    if o.refunded_at is not None and roll < 0.8:
        topic = "complaint" if roll < 0.2 else "return"
        return topic, max(o.placed + 60, o.refunded_at - rng.randrange(HOUR, 2 * DAY))
    durable = any(product.durable for product, _, _ in o.lines)
    if durable and o.shipped is not None and roll < 0.3:
        return "installation", o.shipped + rng.randrange(HOUR, 2 * DAY)
    if o.shipped is not None and roll < 0.15:
        return "logistics", o.shipped + rng.randrange(HOUR, 3 * DAY)
    if roll > 0.94:
        return "pre_sale", max(0, o.placed - rng.randrange(600, 2 * DAY))
    return None
