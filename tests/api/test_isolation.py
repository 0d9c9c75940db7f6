"""A key of one workspace never reads or changes another workspace's data."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_events_api import order_paid


def test_every_endpoint_refuses_another_workspaces_customer(api: Api) -> None:
    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.qimu.ingest_key))
    h = api.headers(api.qimu.ingest_key)
    api.client.post("/api/v1/events", json=order_paid(2) | {"identifiers": {"email": "li@qimu.cn"}}, headers=h)
    link = order_paid(3) | {"identifiers": {"email": "li@qimu.cn", "phone": "13800138000"}, "verified": []}
    api.client.post("/api/v1/events", json=link, headers=h)
    mine = api.client.get("/api/v1/customers?q=13800138000", headers=api.headers(api.qimu.admin_key)).json()
    cid = mine["customers"][0]["id"]
    view = api.client.get(f"/api/v1/customers/{cid}", headers=api.headers(api.qimu.admin_key)).json()
    merge_ids = [m["id"] for m in view["merges"]]
    assert merge_ids, "the shared email should have merged two customers"
    theirs = api.headers(api.other.admin_key)
    calls = [
        ("get", f"/api/v1/customers/{cid}"),
        ("get", f"/api/v1/customers/{cid}/export"),
        ("delete", f"/api/v1/customers/{cid}"),
        ("post", f"/api/v1/merges/{merge_ids[0]}/undo"),
    ]
    for method, path in calls:
        response = api.client.request(method, path, headers=theirs)
        assert response.status_code in (403, 404), (method, path, response.status_code)
    assert api.client.get("/api/v1/customers?q=13800138000", headers=theirs).json() == {"customers": []}
    assert api.client.get("/api/v1/stats", headers=theirs).json()["events"] == 0
    assert api.client.get("/api/v1/imports", headers=theirs).json() == {"imports": []}
    # ...and the data is all still there for its owner.
    assert api.client.get(f"/api/v1/customers/{cid}", headers=api.headers(api.qimu.admin_key)).status_code == 200


def test_no_key_no_data(api: Api) -> None:
    assert api.client.get("/api/v1/stats").status_code == 401
    assert api.client.get("/api/v1/stats", headers={"Authorization": "Bearer ly_nope_nope"}).status_code == 401


def test_suggestions_of_another_workspace_cannot_be_decided(api: Api) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from liuyu.storage import tables as t

    with api.engine.begin() as conn:  # type: ignore[attr-defined]
        sid = conn.execute(
            insert(t.merge_suggestions)
            .values(
                workspace_id=api.qimu.id,
                customer_a=1,
                customer_b=2,
                probability=0.95,
                evidence={},
                status="pending",
                created_at=datetime.now(UTC),
            )
            .returning(t.merge_suggestions.c.id)
        ).scalar_one()
    theirs = api.headers(api.other.admin_key)
    assert api.client.get("/api/v1/suggestions", headers=theirs).json() == {"suggestions": []}
    assert api.client.post(f"/api/v1/suggestions/{sid}/accept", headers=theirs).status_code == 404
    assert api.client.post(f"/api/v1/suggestions/{sid}/reject", headers=theirs).status_code == 404
    mine = api.client.get("/api/v1/suggestions", headers=api.headers(api.qimu.admin_key)).json()
    assert [s["id"] for s in mine["suggestions"]] == [sid]
