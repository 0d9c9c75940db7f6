"""Saved segments follow events as they arrive: entries are recorded without waiting for a refresh."""

from __future__ import annotations

from liuyu.services.identity import rebuild
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api, api  # noqa: F401  (the app fixture)
from tests.api.test_events_api import order_paid


def _members(api: Api, segment_id: int) -> list[int]:  # noqa: F811
    reply = api.client.get(f"/api/v1/segments/{segment_id}/members", headers=api.headers(api.qimu.admin_key))
    return [m["id"] for m in reply.json()["members"]]


def test_a_new_buyer_enters_a_saved_segment_as_the_order_arrives(api: Api) -> None:  # noqa: F811
    admin = api.headers(api.qimu.admin_key)
    body = {"name": "复购客", "expression": "order_count >= 2"}
    seg = api.client.post("/api/v1/segments", json=body, headers=admin).json()
    assert seg["member_count"] == 0
    ingest = api.headers(api.qimu.ingest_key)
    api.client.post("/api/v1/events", json=order_paid(1), headers=ingest)
    assert _members(api, seg["id"]) == []
    api.client.post("/api/v1/events", json=order_paid(2), headers=ingest)
    buyer = api.client.get("/api/v1/customers?q=13800138000", headers=admin).json()["customers"][0]["id"]
    assert _members(api, seg["id"]) == [buyer]
    shown = api.client.get(f"/api/v1/segments/{seg['id']}", headers=admin).json()
    assert shown["member_count"] == 1
    assert [(c["customer_id"], c["change"]) for c in shown["changes"]] == [(buyer, "entered")]


def test_an_event_of_another_workspace_changes_nothing_here(api: Api) -> None:  # noqa: F811
    admin = api.headers(api.qimu.admin_key)
    seg = api.client.post("/api/v1/segments", json={"name": "买过", "expression": "order_count >= 1"}, headers=admin)
    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.other.ingest_key))
    assert _members(api, seg.json()["id"]) == []


def test_a_rebuild_gives_the_same_members(api: Api) -> None:  # noqa: F811
    admin = api.headers(api.qimu.admin_key)
    ingest = api.headers(api.qimu.ingest_key)
    api.client.post(
        "/api/v1/events", json={"batch": [order_paid(1), order_paid(2, phone="13900139000")]}, headers=ingest
    )
    seg = api.client.post("/api/v1/segments", json={"name": "买过", "expression": "order_count >= 1"}, headers=admin)
    before = _members(api, seg.json()["id"])
    assert len(before) == 2
    rebuild(lambda: SqlUnitOfWork(api.engine), api.qimu.id)  # type: ignore[arg-type]
    assert len(_members(api, seg.json()["id"])) == 2
    assert api.client.get(f"/api/v1/segments/{seg.json()['id']}", headers=admin).json()["member_count"] == 2
