"""The demo brand generator: deterministic, valid, realistic enough for identity resolution to have work."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise

import phonenumbers
import pytest

import liuyu.demo
from liuyu.demo import (
    bench_events,
    demo_catalog,
    demo_people,
    demo_stores,
    generate_chats,
    generate_demo,
    generate_texts,
)
from liuyu.domain.customers.identifiers import KINDS, make_identifier
from liuyu.domain.eventlog import CHANNELS, EVENT_TYPES, Event
from liuyu.domain.orders import ORDER_STATUSES, STATUS_OF_EVENT, to_fen

PEOPLE = 500
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=timezone(timedelta(hours=8)))
MARKETPLACES = {"tmall", "jd", "douyin"}


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(generate_demo(people=PEOPLE))


@pytest.fixture(scope="module")
def texts() -> list[Event]:
    return list(generate_texts(people=PEOPLE))


def _components(stream: list[Event]) -> dict[tuple[str, str], set[str]]:
    """Channels per group of events joined by unmasked identifiers other than device ids."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(key: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    usable = [[i.key for i in e.identifiers if not i.masked and i.kind != "device_id"] for e in stream]
    for keys in usable:
        for key in keys[1:]:
            parent[find(keys[0])] = find(key)
    channels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event, keys in zip(stream, usable, strict=True):
        if keys:
            channels[find(keys[0])].add(event.channel)
    return channels


def test_the_public_surface_is_what_the_package_exports() -> None:
    for name in liuyu.demo.__all__:
        assert hasattr(liuyu.demo, name)
    assert {"generate_demo", "generate_texts", "bench_events", "demo_catalog"} <= set(liuyu.demo.__all__)


def test_the_same_seed_gives_the_same_events_in_the_same_order(events: list[Event]) -> None:
    assert list(generate_demo(people=PEOPLE)) == events


def test_another_seed_gives_other_people() -> None:
    first = {e.external_id for e in generate_demo(seed=1, people=50)}
    second = {e.external_id for e in generate_demo(seed=2, people=50)}
    assert first != second


def test_tiny_demos_work_and_five_people_already_hold_every_trap() -> None:
    assert list(generate_demo(people=0)) == []
    traps = {trap.split(":")[0] for person in demo_people(people=5) for trap in person.traps}
    assert traps == {"family", "phone_change", "namesake"}


def test_events_end_at_now_and_span_about_two_years(events: list[Event]) -> None:
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    assert max(times) <= NOW
    assert NOW - min(times) > timedelta(days=700)
    assert NOW - min(times) <= timedelta(days=731)


def test_a_later_now_moves_the_whole_demo() -> None:
    later = NOW + timedelta(days=30)
    stream = list(generate_demo(people=50, now=later))
    assert max(e.occurred_at for e in stream) <= later
    assert max(e.occurred_at for e in stream) > NOW - timedelta(days=30)


def test_counts_are_in_the_range_of_a_real_member_base(events: list[Event]) -> None:
    by_type = Counter(e.type for e in events)
    assert 10 * PEOPLE < len(events) < 40 * PEOPLE
    placed = by_type["order_placed"]
    assert 1.5 * PEOPLE < placed < 4 * PEOPLE
    assert 0.03 < by_type["order_cancelled"] / placed < 0.10
    assert 0.04 < by_type["order_refunded"] / by_type["order_paid"] < 0.12
    assert by_type["product_viewed"] > placed
    assert by_type["cart_added"] > 0 and by_type["login"] > 0 and by_type["followed"] > by_type["unfollowed"] > 0
    assert {e.source for e in events} == {"tmall", "jd", "douyin", "miniprogram", "app", "store", "wechat", "hotline"}


def test_every_event_is_valid_and_its_identifiers_are_normalized(events: list[Event]) -> None:
    keys = Counter(e.key for e in events)
    assert keys.most_common(1)[0][1] == 1
    for event in events:
        assert event.type in EVENT_TYPES and event.source in CHANNELS and event.channel == event.source
        assert event.occurred_at.utcoffset() == timedelta(0)
        for ident in event.identifiers:
            assert ident.kind in KINDS
            again = make_identifier(ident.kind, ident.value, verified=ident.verified)
            assert again is not None and (again.value, again.masked) == (ident.value, ident.masked)


def test_order_events_carry_the_snapshot_of_their_lifecycle_fact(events: list[Event]) -> None:
    for event in events:
        if event.order is None:
            continue
        order = event.order
        step = event.type.removeprefix("order_")
        assert event.external_id.startswith(f"{order.order_id}:{step}")
        assert order.status in ORDER_STATUSES and order.platform == event.source
        assert order.total == sum((line.amount or Decimal(0) for line in order.lines), Decimal(0))
        assert all(line.sku and line.title and line.category and line.quantity >= 1 for line in order.lines)
        if event.type == "order_refunded":
            assert event.external_id == f"{order.order_id}:refunded:{to_fen(order.refunded)}"
            assert order.paid is not None and Decimal(0) < order.refunded <= order.paid
            assert order.status == "refunded" or (order.status == "completed" and order.refunded < order.paid)
        else:
            assert order.status == STATUS_OF_EVENT[event.type] and order.refunded == 0


def test_an_order_moves_forward_through_its_lifecycle(events: list[Event]) -> None:
    steps: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.order is not None:
            steps[event.order.order_id].append(event.type)
    allowed = ["order_placed", "order_paid", "order_shipped", "order_completed", "order_refunded"]
    for order_id, seen in steps.items():
        if "order_cancelled" in seen:
            assert seen == ["order_placed", "order_cancelled"], order_id
        else:
            assert seen == [t for t in allowed if t in seen] and seen[0] == "order_placed", order_id


def test_orders_peak_on_11_11_and_in_the_618_weeks(events: list[Event]) -> None:
    shanghai = timezone(timedelta(hours=8))
    days = Counter(e.occurred_at.astimezone(shanghai).date() for e in events if e.type == "order_placed")
    ordinary = sorted(days.values())[len(days) // 2]
    assert days[date(2025, 11, 11)] > 4 * ordinary
    june = sum(days[date(year, 6, d)] for year in (2025, 2026) for d in range(1, 19))
    may = sum(days[date(year, 5, d)] for year in (2025, 2026) for d in range(1, 19))
    assert june > 1.3 * may


def test_marketplaces_deliver_masked_phones_and_names_only(events: list[Event]) -> None:
    for event in events:
        if event.source not in MARKETPLACES or event.type == "identify":
            continue
        phones = [i for i in event.identifiers if i.kind == "phone"]
        assert phones and all(i.masked and "*" in i.value for i in phones)
        assert all(i.kind not in {"unionid", "member_no", "email"} for i in event.identifiers)
        if "name" in event.traits:
            assert "*" in event.traits["name"]


def test_own_channels_carry_the_real_verified_phone(events: list[Event]) -> None:
    for event in events:
        if event.source in {"app", "store"}:
            phones = [i for i in event.identifiers if i.kind == "phone"]
            assert len(phones) == 1 and phones[0].verified and not phones[0].masked


def test_some_people_are_joined_across_channels_by_a_strong_identifier(events: list[Event]) -> None:
    groups = _components(events)
    spanning = [channels for channels in groups.values() if len(channels) >= 2]
    assert len(spanning) > 0.1 * PEOPLE
    assert any(channels & MARKETPLACES and channels - MARKETPLACES for channels in spanning)
    # marketplace-only buyers stay on their own: nothing real joins them to anything
    assert sum(1 for channels in groups.values() if channels <= MARKETPLACES) > 0.2 * PEOPLE


def test_the_truth_behind_the_demo_matches_the_events(events: list[Event]) -> None:
    people = demo_people(people=PEOPLE)
    assert len(people) == PEOPLE
    phones = {i.value for e in events for i in e.identifiers if i.kind == "phone" and not i.masked}
    own = [p for p in people if {"app", "store"} & set(p.channels)]
    # a few joined a channel only later today, after `now`
    assert own and sum(p.phone in phones for p in own) > 0.95 * len(own)
    names = Counter(p.surname for p in people)
    assert names.most_common(1)[0][0] in {"王", "李", "张", "刘"}


def test_two_family_members_share_a_device_but_keep_their_own_phones(events: list[Event]) -> None:
    phones_by_device: dict[str, set[str]] = defaultdict(set)
    for event in events:
        devices = [i.value for i in event.identifiers if i.kind == "device_id"]
        for device in devices:
            phones_by_device[device] |= {i.value for i in event.identifiers if i.kind == "phone" and i.verified}
    assert any(len(phones) == 2 for phones in phones_by_device.values())


def test_a_member_who_changed_numbers_has_two_verified_phones_on_one_account(events: list[Event]) -> None:
    phones_by_account: dict[str, set[str]] = defaultdict(set)
    for event in events:
        for account in (i.value for i in event.identifiers if i.kind == "app_user_id"):
            phones_by_account[account] |= {i.value for i in event.identifiers if i.kind == "phone" and i.verified}
    assert sum(1 for phones in phones_by_account.values() if len(phones) == 2) >= 1


def test_the_same_name_belongs_to_different_people_in_different_cities(events: list[Event]) -> None:
    cities: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.source in {"app", "store"} and event.traits.get("name"):
            cities[event.traits["name"]].add(event.traits["city"])
    assert any(len(found) >= 2 for found in cities.values())


def test_phones_are_valid_chinese_mobile_numbers() -> None:
    for person in demo_people(people=200):
        number = phonenumbers.parse(person.phone)
        assert phonenumbers.is_valid_number(number) and number.country_code == 86


def test_the_catalog_has_durables_and_consumables_with_unique_skus() -> None:
    catalog = demo_catalog()
    assert len({p.sku for p in catalog}) == len(catalog)
    assert all(isinstance(p.price, Decimal) and p.price > 0 for p in catalog)
    durable = {p.category for p in catalog if p.durable}
    assert {"床", "床垫", "沙发"} <= durable
    assert {"床品", "枕头", "香薰", "零食", "毛巾"} <= {p.category for p in catalog if not p.durable}
    assert any(p.title.startswith("黑武士") for p in catalog)


def test_thirty_stores_in_twelve_cities_are_where_store_orders_happen(events: list[Event]) -> None:
    stores = demo_stores()
    assert len(stores) == 30 and len({s.city for s in stores}) == 12
    store_ids = {e.order.store_id for e in events if e.order is not None and e.source == "store"}
    assert store_ids and store_ids <= {s.store_id for s in stores}


def test_reviews_and_posts_come_from_the_same_people_and_match_their_rating(
    events: list[Event], texts: list[Event]
) -> None:
    assert texts == list(generate_texts(people=PEOPLE))
    assert {e.type for e in texts} == {"review_posted", "community_post"}
    skus = {p.sku for p in demo_catalog()}
    known = {i.key for e in events for i in e.identifiers if not i.masked}
    for text in texts:
        assert text.properties["text"] and text.properties["sku"] in skus and 1 <= text.properties["rating"] <= 5
        assert text.occurred_at <= NOW
        assert any(i.key in known for i in text.identifiers if not i.masked)
    refunded = {e.order.order_id for e in events if e.type == "order_refunded" and e.order is not None}
    ratings = [t.properties["rating"] for t in texts if t.properties.get("order_id") in refunded]
    others = [
        t.properties["rating"] for t in texts if t.type == "review_posted" and t.properties["order_id"] not in refunded
    ]
    assert ratings and sum(ratings) / len(ratings) < sum(others) / len(others) - 1


def test_service_chats_are_conversations_about_real_orders(events: list[Event]) -> None:
    chats = list(generate_chats(people=PEOPLE))
    assert chats == list(generate_chats(people=PEOPLE))
    assert all(e.type == "custom" and e.name == "chat_message" and e.properties["text"] for e in chats)
    orders = {e.order.order_id: e for e in events if e.type == "order_placed" and e.order is not None}
    conversations: dict[str, list[Event]] = defaultdict(list)
    for chat in chats:
        conversations[chat.properties["conversation_id"]].append(chat)
    assert len(conversations) > 0.05 * len(orders)
    for messages in conversations.values():
        first = messages[0]
        placed = orders[first.properties["order_id"]]
        assert first.source == placed.source and set(first.identifiers) == set(placed.identifiers)
        assert {m.properties["role"] for m in messages} == {"customer", "agent"}
        assert messages[0].properties["role"] == (
            "agent" if first.properties["topic"] == "unpaid_reminder" else "customer"
        )
    topics = Counter(m[0].properties["topic"] for m in conversations.values())
    assert set(topics) == {"logistics", "return", "installation", "pre_sale", "complaint", "unpaid_reminder"}


def test_bench_events_are_exactly_n_with_about_the_requested_overlap() -> None:
    stream = list(bench_events(20_000, overlap=0.3))
    assert len(stream) == 20_000
    assert len({e.key for e in stream}) == 20_000
    groups = _components(stream)
    share = sum(1 for channels in groups.values() if len(channels) >= 2) / len(groups)
    assert 0.25 < share < 0.35
    none = _components(list(bench_events(5_000, overlap=0.0)))
    assert all(len(channels) == 1 for channels in none.values())


def test_bench_events_are_deterministic_and_time_ordered() -> None:
    first = list(bench_events(2_000, seed=7))
    assert first == list(bench_events(2_000, seed=7))
    assert all(a.occurred_at <= b.occurred_at for a, b in pairwise(first))
    assert all(e.occurred_at.tzinfo is UTC for e in first)
    paid = [e for e in first if e.type == "order_paid"]
    placed = {e.order.order_id for e in first if e.type == "order_placed" and e.order is not None}
    assert paid and all(e.order is not None and e.order.order_id in placed for e in paid)
