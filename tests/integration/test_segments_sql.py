"""Segment expressions counted and previewed on SQLite and PostgreSQL, against hand-made rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, case, insert, select

from liuyu.domain.engagement.segment import explain, parse
from liuyu.domain.errors import InvalidInput
from liuyu.storage import tables as t
from liuyu.storage.segments import compile_segment, count, default_fields, preview, values_for_explain

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WS, OTHER_WS = 1, 2
ALICE, BOB, CAROL, DAVE, ERIN, STRANGER = 1, 2, 3, 4, 5, 6


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def shop(engine: Engine) -> Engine:
    """Five customers in one workspace (Dave merged into Alice) and a look-alike in another."""
    with engine.begin() as conn:
        conn.execute(
            insert(t.workspaces),
            [
                {"id": WS, "slug": "nuts", "name": "坚果铺", "settings": {}, "created_at": NOW},
                {"id": OTHER_WS, "slug": "other", "name": "别家", "settings": {}, "created_at": NOW},
            ],
        )
        people = [
            (ALICE, WS, "GOLD-ALICE", "上海", None),
            (BOB, WS, "BOB", "北京", None),
            (CAROL, WS, "CAROL", "上海", None),
            (DAVE, WS, "DAVE", "上海", ALICE),
            (ERIN, WS, "ERIN", "杭州", None),
            (STRANGER, OTHER_WS, "GOLD-ALICE", "上海", None),
        ]
        conn.execute(
            insert(t.customers),
            [
                {"id": i, "workspace_id": ws, "anchor_seq": i, "name": n, "city": city, "merged_into": merged}
                for i, ws, n, city, merged in people
            ],
        )
        traits = [
            (ALICE, WS, 3, 50000, _days_ago(400), _days_ago(120), "tmall", ["tmall", "wechat"]),
            (BOB, WS, 1, 9950, _days_ago(10), _days_ago(10), "jd", ["jd"]),
            (DAVE, WS, 5, 90000, _days_ago(300), _days_ago(200), "tmall", ["tmall"]),
            (
                ERIN,
                WS,
                2,
                100000,
                _days_ago(150),
                _days_ago(
                    90,
                )
                - timedelta(hours=1),
                "wechat",
                ["wechat"],
            ),
            (STRANGER, OTHER_WS, 9, 900000, _days_ago(400), _days_ago(200), "tmall", ["tmall"]),
        ]
        conn.execute(
            insert(t.customer_traits),
            [
                {
                    "customer_id": cid,
                    "workspace_id": ws,
                    "order_count": n,
                    "total_spent_fen": fen,
                    "aov_fen": fen // n,
                    "first_order_at": first,
                    "last_order_at": last,
                    "preferred_channel": preferred,
                    "channels": channels,
                    "categories": [],
                }
                for cid, ws, n, fen, first, last, preferred, channels in traits
            ],
        )
        tags = [(WS, ALICE, "VIP"), (WS, BOB, "已投诉"), (OTHER_WS, STRANGER, "VIP")]
        conn.execute(
            insert(t.customer_tags),
            [
                {"workspace_id": ws, "customer_id": cid, "tag": tag, "source": "manual", "at": NOW}
                for ws, cid, tag in tags
            ],
        )
        orders = [  # (pk, ws, customer, paid_fen, category, sku)
            (1, WS, ALICE, 3000, "坚果", "NUT-1"),
            (2, WS, BOB, 9950, "坚果", "NUT-2"),
            (3, WS, ERIN, 5000, "茶", "TEA-1"),
            (4, WS, ERIN, None, "坚果", "NUT-1"),  # never paid: not bought
            (5, OTHER_WS, STRANGER, 3000, "坚果", "NUT-1"),
        ]
        conn.execute(
            insert(t.orders),
            [
                {
                    "id": pk,
                    "workspace_id": ws,
                    "platform": "tmall",
                    "order_id": f"T{pk}",
                    "customer_id": cid,
                    "status": "paid" if paid else "pending_payment",
                    "total_fen": 5000,
                    "paid_fen": paid,
                    "refunded_fen": 0,
                    "channel": "tmall",
                    "last_seq": pk,
                }
                for pk, ws, cid, paid, _, _ in orders
            ],
        )
        conn.execute(
            insert(t.order_lines),
            [
                {
                    "order_pk": pk,
                    "line_no": 1,
                    "workspace_id": ws,
                    "sku": sku,
                    "title": cat,
                    "quantity": 1,
                    "category": cat,
                }
                for pk, ws, _, _, cat, sku in orders
            ],
        )
    return engine


def _members(engine: Engine, expression: str) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(compile_segment(parse(expression), WS, NOW)).scalars())


# One database per list rather than per case: setting up PostgreSQL costs more than the queries.
FIELD_CASES = [
    ("days_since_last_order > 90", {ALICE}),
    ("days_since_last_order >= 90", {ALICE, ERIN}),
    ("days_since_last_order = 90", {ERIN}),
    ('city = "上海"', {ALICE, CAROL}),
    ('city in ("上海", "北京")', {ALICE, BOB, CAROL}),
    ('city not in ("上海")', {BOB, ERIN}),
    ('not tag("已投诉")', {ALICE, CAROL, ERIN}),
    ('tag("VIP", "已投诉")', {ALICE, BOB}),
    ('bought_category("坚果")', {ALICE, BOB}),
    ('bought_sku("NUT-1")', {ALICE}),
    ('channel("tmall")', {ALICE}),
    ('channel("jd", "tmall")', {ALICE, BOB}),
    ('preferred_channel = "wechat"', {ERIN}),
    ("total_spent >= 99.5", {ALICE, BOB, ERIN}),
    ("total_spent > 99.5", {ALICE, ERIN}),
    ("order_count = 0", {CAROL}),
    ("not days_since_last_order > 30", {BOB, CAROL}),
    ("days_since_first_order > 365 or order_count in (1, 2)", {ALICE, BOB, ERIN}),
]


def test_each_field_selects_the_customers_an_operator_would_expect(shop: Engine) -> None:
    found = {expression: _members(shop, expression) for expression, _ in FIELD_CASES}
    assert found == dict(FIELD_CASES)


def test_the_products_example_finds_the_lapsed_nut_buyer_who_never_complained(shop: Engine) -> None:
    tree = parse(
        'city in ("上海","北京") and days_since_last_order > 90 and not tag("已投诉") and bought_category("坚果")'
    )
    assert count(shop, WS, tree, NOW) == 1
    [row] = preview(shop, WS, tree, limit=10, now=NOW)
    assert row["id"] == ALICE
    assert row["name"] == "GOLD-ALICE"
    assert row["total_spent"] == Decimal("500.00")
    assert row["order_count"] == 3


def test_merged_away_customers_and_other_workspaces_are_never_counted(shop: Engine) -> None:
    assert count(shop, WS, parse("order_count >= 0"), NOW) == 4
    assert count(shop, OTHER_WS, parse('tag("VIP")'), NOW) == 1


def test_preview_lists_members_in_id_order_up_to_the_limit(shop: Engine) -> None:
    rows = preview(shop, WS, parse("order_count >= 0"), limit=2, now=NOW)
    assert [r["id"] for r in rows] == [ALICE, BOB]


def test_an_unknown_field_is_refused_with_its_position_and_the_known_fields(shop: Engine) -> None:
    with pytest.raises(InvalidInput) as caught:
        count(shop, WS, parse('order_count > 1 and tier in ("gold", "platinum")'), NOW)
    message = str(caught.value)
    assert "position 21" in message
    assert "unknown field 'tier'" in message
    assert "days_since_last_order" in message


def test_a_text_field_compared_with_a_number_is_refused(shop: Engine) -> None:
    with pytest.raises(InvalidInput, match="text in quotes"):
        count(shop, WS, parse("city = 021"), NOW)


def test_the_member_center_can_plug_in_a_tier_field(shop: Engine) -> None:
    fields = default_fields()
    spent = t.customer_traits.c.total_spent_fen
    fields.add_value("tier", lambda scope: case((spent >= 50000, "gold"), else_="basic"), kind="text")
    query = compile_segment(parse('tier in ("gold", "platinum")'), WS, NOW, fields=fields)
    with shop.connect() as conn:
        assert set(conn.execute(query).scalars()) == {ALICE, ERIN}


@pytest.mark.parametrize(
    "expression",
    [
        'city = "上海" and not (days_since_last_order > 100 or tag("VIP"))',
        'bought_category("坚果", "茶") and total_spent < 600',
        "not days_since_last_order <= 90",
        'channel("tmall", "jd") and not bought_sku("NUT-1") or preferred_channel = "wechat"',
    ],
)
def test_explain_agrees_with_the_database_for_every_customer(shop: Engine, expression: str) -> None:
    tree = parse(expression)
    members = _members(shop, expression)
    for customer in (ALICE, BOB, CAROL, ERIN):
        values = values_for_explain(shop, WS, customer, tree, NOW)
        assert explain(tree, values).result == (customer in members), (customer, values)


def test_explain_shows_the_days_and_the_money_as_an_operator_types_them(shop: Engine) -> None:
    values = values_for_explain(shop, WS, ERIN, parse("days_since_last_order > 1 and total_spent > 1"), NOW)
    assert values == {"days_since_last_order": 90, "total_spent": Decimal("1000.00")}


def test_the_compiled_query_carries_values_as_parameters_not_sql_text(shop: Engine) -> None:
    query = compile_segment(parse('city = "x\'; DROP TABLE customers; --"'), WS, NOW)
    assert "DROP TABLE" not in str(query)
    with shop.connect() as conn:
        assert list(conn.execute(query)) == []
        assert conn.execute(select(t.customers.c.id)).first() is not None


def test_explain_customer_says_which_clause_keeps_the_complainer_out(shop: Engine) -> None:
    from liuyu.storage.segments import explain_customer

    why = explain_customer(shop, WS, BOB, parse('bought_category("坚果") and not tag("已投诉")'), NOW)
    assert why.result is False
    assert [(p.text, p.result) for p in why.parts] == [('bought_category("坚果")', True), ('not tag("已投诉")', False)]


def test_member_ids_walks_every_member_in_batches(shop: Engine) -> None:
    from liuyu.storage.segments import member_ids

    batches = list(member_ids(shop, WS, parse("order_count >= 0"), NOW, batch=3))
    assert batches == [[ALICE, BOB, CAROL], [ERIN]]
