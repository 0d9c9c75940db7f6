"""Segments over HTTP: preview while typing, saved segments, members, CSV export and "why"."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, update

from liuyu.services import accounts
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api

NOW = datetime.now(UTC)
ALICE, BOB, CAROL, STRANGER = 101, 102, 103, 201


def _seed(api: Api) -> None:
    """Three shoppers of 七木 (two in 上海) and a 上海 look-alike in the other workspace."""
    people = [
        (ALICE, api.qimu.id, "张爱丽", "上海", 3, 50000, 5),
        (BOB, api.qimu.id, "李博", "北京", 1, 9950, 40),
        (CAROL, api.qimu.id, "王可", "上海", 0, 0, None),
        (STRANGER, api.other.id, "张爱丽", "上海", 9, 900000, 5),
    ]
    engine: Engine = api.engine  # type: ignore[assignment]
    with engine.begin() as conn:
        conn.execute(
            insert(t.customers),
            [{"id": i, "workspace_id": ws, "anchor_seq": i, "name": n, "city": city} for i, ws, n, city, *_ in people],
        )
        conn.execute(
            insert(t.customer_traits),
            [
                {
                    "customer_id": i,
                    "workspace_id": ws,
                    "order_count": orders,
                    "total_spent_fen": fen,
                    "aov_fen": fen // orders if orders else 0,
                    "last_order_at": None if days is None else NOW - timedelta(days=days),
                    "first_order_at": None if days is None else NOW - timedelta(days=days + 30),
                    "channels": ["tmall"],
                    "categories": [],
                }
                for i, ws, _n, _city, orders, fen, days in people
            ],
        )


@pytest.fixture
def shop(api: Api) -> Api:
    _seed(api)
    return api


def test_preview_counts_and_lists_the_first_members_of_a_typed_expression(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    got = shop.client.post("/api/v1/segments/preview", json={"expression": 'city = "上海"'}, headers=admin).json()
    assert got["count"] == 2
    assert [row["id"] for row in got["rows"]] == [ALICE, CAROL]
    assert got["rows"][0]["name"] == "张爱丽"


def test_preview_takes_the_builders_json_form_too(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    form = {"and": [{"field": "city", "op": "=", "value": "上海"}, {"field": "order_count", "op": ">=", "value": 1}]}
    got = shop.client.post("/api/v1/segments/preview", json={"expression_json": form}, headers=admin).json()
    assert got["count"] == 1 and got["expression"] == 'city = "上海" and order_count >= 1'


def test_a_typing_mistake_is_a_400_naming_its_position(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    reply = shop.client.post("/api/v1/segments/preview", json={"expression": "city = 上海"}, headers=admin)
    assert reply.status_code == 400
    assert reply.json()["position"] == 8 and "^" in reply.json()["pointer"]
    unknown = shop.client.post(
        "/api/v1/segments/preview", json={"expression": "order_count > 1 and colour = 1"}, headers=admin
    )
    assert unknown.status_code == 400 and unknown.json()["position"] == 21
    assert "colour" in unknown.json()["detail"]


def test_a_preview_without_any_expression_is_refused(shop: Api) -> None:
    reply = shop.client.post("/api/v1/segments/preview", json={}, headers=shop.headers(shop.qimu.admin_key))
    assert reply.status_code == 400


def test_roles_without_personal_data_see_masked_names_in_the_preview(shop: Api) -> None:
    agent = shop.headers(shop.qimu.agent_key)
    got = shop.client.post("/api/v1/segments/preview", json={"expression": 'city = "上海"'}, headers=agent).json()
    assert "张爱丽" not in str(got) and got["count"] == 2


def test_a_saved_segment_can_be_listed_read_renamed_and_deleted(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    made = shop.client.post("/api/v1/segments", json={"name": "上海客", "expression": 'city = "上海"'}, headers=admin)
    assert made.status_code == 201
    seg = made.json()
    assert seg["member_count"] == 2 and seg["entered"] == 2 and seg["created_by"]
    assert [s["name"] for s in shop.client.get("/api/v1/segments", headers=admin).json()["segments"]] == ["上海客"]
    renamed = shop.client.patch(f"/api/v1/segments/{seg['id']}", json={"name": "魔都客"}, headers=admin).json()
    assert renamed["name"] == "魔都客" and renamed["expression"] == 'city = "上海"'
    assert shop.client.delete(f"/api/v1/segments/{seg['id']}", headers=admin).status_code == 200
    assert shop.client.get(f"/api/v1/segments/{seg['id']}", headers=admin).status_code == 404


def test_two_segments_cannot_share_a_name_and_a_bad_expression_is_not_saved(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    body = {"name": "上海客", "expression": 'city = "上海"'}
    assert shop.client.post("/api/v1/segments", json=body, headers=admin).status_code == 201
    assert shop.client.post("/api/v1/segments", json=body, headers=admin).status_code == 409
    bad = shop.client.post("/api/v1/segments", json={"name": "坏", "expression": "colour = 1"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["position"] == 1
    assert len(shop.client.get("/api/v1/segments", headers=admin).json()["segments"]) == 1


def test_an_agent_may_read_segments_but_not_save_them(shop: Api) -> None:
    agent = shop.headers(shop.qimu.agent_key)
    reply = shop.client.post("/api/v1/segments", json={"name": "x", "expression": "order_count > 0"}, headers=agent)
    assert reply.status_code == 403


def test_changing_the_expression_records_who_entered_and_who_left(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    seg = shop.client.post(
        "/api/v1/segments", json={"name": "买过", "expression": "order_count >= 1"}, headers=admin
    ).json()
    changed = shop.client.patch(
        f"/api/v1/segments/{seg['id']}", json={"expression": 'city = "上海"'}, headers=admin
    ).json()
    assert (changed["entered"], changed["exited"]) == (1, 1)
    history = shop.client.get(f"/api/v1/segments/{seg['id']}", headers=admin).json()["changes"]
    assert {(c["customer_id"], c["change"]) for c in history} >= {(CAROL, "entered"), (BOB, "exited")}


def test_members_are_paged_in_id_order(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    seg = shop.client.post(
        "/api/v1/segments", json={"name": "all", "expression": "order_count >= 0"}, headers=admin
    ).json()
    first = shop.client.get(f"/api/v1/segments/{seg['id']}/members?limit=2", headers=admin).json()
    assert [m["id"] for m in first["members"]] == [ALICE, BOB] and first["member_count"] == 3
    rest = shop.client.get(
        f"/api/v1/segments/{seg['id']}/members?limit=2&after={first['next_after']}", headers=admin
    ).json()
    assert [m["id"] for m in rest["members"]] == [CAROL] and rest["next_after"] is None


def test_members_stay_as_of_the_last_refresh_until_refreshed(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    seg = shop.client.post(
        "/api/v1/segments", json={"name": "北京", "expression": 'city = "北京"'}, headers=admin
    ).json()
    with shop.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(t.customers).where(t.customers.c.id == CAROL).values(city="北京"))
    url = f"/api/v1/segments/{seg['id']}/members"
    assert [m["id"] for m in shop.client.get(url, headers=admin).json()["members"]] == [BOB]
    refreshed = shop.client.post(f"/api/v1/segments/{seg['id']}/refresh", headers=admin).json()
    assert refreshed["entered"] == 1
    assert [m["id"] for m in shop.client.get(url, headers=admin).json()["members"]] == [BOB, CAROL]


def test_the_csv_export_has_one_row_per_member_and_names_only_for_roles_that_see_them(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    seg = shop.client.post(
        "/api/v1/segments", json={"name": "上海", "expression": 'city = "上海"'}, headers=admin
    ).json()
    reply = shop.client.get(f"/api/v1/segments/{seg['id']}/export.csv", headers=admin)
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [(int(r["id"]), r["name"]) for r in rows] == [(ALICE, "张爱丽"), (CAROL, "王可")]
    assert rows[0]["total_spent"] == "500.00"
    with SqlUnitOfWork(shop.engine) as uow:  # type: ignore[arg-type]
        analyst_key = accounts.create_api_key(uow.accounts, shop.qimu.id, "api", "analyst")
        uow.commit()
    plain = shop.client.get(f"/api/v1/segments/{seg['id']}/export.csv", headers=shop.headers(analyst_key)).text
    assert "张爱丽" not in plain and "name" not in plain.splitlines()[0].split(",")
    assert len(plain.strip().splitlines()) == 3


def test_why_shows_each_clause_with_the_customers_value(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    seg = shop.client.post(
        "/api/v1/segments",
        json={"name": "上海回头客", "expression": 'city = "上海" and order_count >= 2'},
        headers=admin,
    ).json()
    alice = shop.client.get(f"/api/v1/segments/{seg['id']}/why/{ALICE}", headers=admin).json()
    assert alice["matches_now"] and alice["member_at_last_refresh"]
    assert [(p["text"], p["seen"], p["result"]) for p in alice["why"]["parts"]] == [
        ('city = "上海"', "上海", True),
        ("order_count >= 2", 3, True),
    ]
    carol = shop.client.get(f"/api/v1/segments/{seg['id']}/why/{CAROL}", headers=admin).json()
    assert not carol["matches_now"] and carol["why"]["parts"][1] == {
        "text": "order_count >= 2",
        "seen": 0,
        "result": False,
        "parts": [],
    }


def test_another_workspaces_segments_and_customers_are_out_of_reach(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    seg = shop.client.post(
        "/api/v1/segments", json={"name": "上海", "expression": 'city = "上海"'}, headers=admin
    ).json()
    stranger = shop.headers(shop.other.admin_key)
    assert shop.client.get(f"/api/v1/segments/{seg['id']}", headers=stranger).status_code == 404
    assert shop.client.get(f"/api/v1/segments/{seg['id']}/members", headers=stranger).status_code == 404
    assert shop.client.get(f"/api/v1/segments/{seg['id']}/export.csv", headers=stranger).status_code == 404
    assert shop.client.get(f"/api/v1/segments/{seg['id']}/why/{ALICE}", headers=admin).status_code == 200
    assert shop.client.get(f"/api/v1/segments/{seg['id']}/why/{STRANGER}", headers=admin).status_code == 404
    theirs = shop.client.post("/api/v1/segments/preview", json={"expression": 'city = "上海"'}, headers=stranger)
    assert [row["id"] for row in theirs.json()["rows"]] == [STRANGER]
