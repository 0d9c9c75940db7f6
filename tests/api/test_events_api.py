"""Sending events over HTTP: liuyu's schema, batches, bad items, idempotency."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api


def order_paid(n: int, phone: str = "13800138000") -> dict[str, Any]:
    return {
        "type": "track",
        "event": "order_paid",
        "id": f"app-order-{n}:paid",
        "timestamp": "2026-11-11T10:00:00+08:00",
        "channel": "app",
        "identifiers": {"phone": phone, "app_user_id": f"u-{n}"},
        "verified": ["phone"],
        "order": {"order_id": f"A{n}", "total": "199.00", "lines": [{"title": "黑武士手柄", "quantity": 1}]},
    }


def test_a_batch_is_stored_once_and_resending_changes_nothing(api: Api) -> None:
    body = {"batch": [order_paid(1), order_paid(2)]}
    first = api.client.post("/api/v1/events", json=body, headers=api.headers(api.qimu.ingest_key))
    again = api.client.post("/api/v1/events", json=body, headers=api.headers(api.qimu.ingest_key))
    assert first.status_code == 200 and first.json()["stored"] == 2
    assert again.status_code == 200 and again.json()["stored"] == 0 and again.json()["duplicate"] == 2
    stats = api.client.get("/api/v1/stats", headers=api.headers(api.qimu.admin_key)).json()
    assert stats["events"] == 2 and stats["customers"] == 1 and stats["orders"] == 2


def test_a_bad_item_is_named_and_the_rest_is_kept(api: Api) -> None:
    bad = order_paid(3) | {"identifiers": {"phone": "not-a-phone"}}
    no_order = {k: v for k, v in order_paid(4).items() if k != "order"}
    response = api.client.post(
        "/api/v1/events", json={"batch": [order_paid(5), bad, no_order]}, headers=api.headers(api.qimu.ingest_key)
    )
    body = response.json()
    assert response.status_code == 200 and body["stored"] == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "identifiers.phone"), (2, "order")]
    assert "not a phone number" in body["rejected"][0]["reason"]


def test_a_batch_over_a_thousand_is_refused_whole(api: Api) -> None:
    body = {"batch": [order_paid(n) for n in range(1001)]}
    response = api.client.post("/api/v1/events", json=body, headers=api.headers(api.qimu.ingest_key))
    assert (response.status_code == 413 and "1,000" in response.json()["detail"]) or "1000" in response.json()["detail"]


def test_garbage_gets_a_json_4xx_never_a_500(api: Api) -> None:
    h = api.headers(api.qimu.ingest_key)
    assert api.client.post("/api/v1/events", content=b"\xff\xfe{", headers=h).status_code == 400
    assert api.client.post("/api/v1/events", json=[1, 2], headers=h).status_code == 400
    assert api.client.post("/api/v1/events", json={"batch": "x"}, headers=h).status_code == 400
    assert api.client.post("/api/v1/events", json={}, headers=h).status_code == 400


def test_an_ingest_key_cannot_read_customers(api: Api) -> None:
    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.qimu.ingest_key))
    response = api.client.get("/api/v1/customers?q=13800138000", headers=api.headers(api.qimu.ingest_key))
    assert response.status_code == 403


def test_agents_see_phones_masked_and_admins_see_them_whole(api: Api) -> None:
    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.qimu.ingest_key))
    found = api.client.get("/api/v1/customers?q=13800138000", headers=api.headers(api.qimu.agent_key)).json()
    cid = found["customers"][0]["id"]
    assert found["customers"][0]["phone"] == "138****8000"
    agent_view = api.client.get(f"/api/v1/customers/{cid}", headers=api.headers(api.qimu.agent_key)).json()
    admin_view = api.client.get(f"/api/v1/customers/{cid}", headers=api.headers(api.qimu.admin_key)).json()
    assert {i["value"] for i in agent_view["identifiers"] if i["kind"] == "phone"} == {"138****8000"}
    assert {i["value"] for i in admin_view["identifiers"] if i["kind"] == "phone"} == {"+8613800138000"}


def test_the_openapi_spec_documents_the_event_bodies(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][0] == {"$ref": "#/components/schemas/EventIn"}
    assert "identifiers" in spec["components"]["schemas"]["EventIn"]["properties"]
    assert "messageId" in str(spec["paths"]["/v1/batch"]["post"]["requestBody"])
