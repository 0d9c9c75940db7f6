"""Every API route, called with another workspace's admin key, neither shows nor changes this
workspace's data. Routes added later are covered automatically."""

from __future__ import annotations

import re

from tests.api.conftest import Api
from tests.api.test_events_api import order_paid

MARKERS = ("13800138000", "王小明", "ORDER-ISO-1", "li@qimu.cn")
INGEST_ONLY = ("/api/v1/events", "/v1/")


def test_no_route_leaks_or_changes_another_workspaces_data(api: Api) -> None:
    h = api.headers(api.qimu.ingest_key)
    first = order_paid(1) | {"traits": {"name": "王小明"}}
    first["order"] = first["order"] | {"order_id": "ORDER-ISO-1"}
    api.client.post("/api/v1/events", json=first, headers=h)
    api.client.post(
        "/api/v1/events", json=order_paid(2) | {"identifiers": {"email": "li@qimu.cn"}, "verified": []}, headers=h
    )
    link = order_paid(3) | {"identifiers": {"email": "li@qimu.cn", "phone": "13800138000"}, "verified": []}
    api.client.post("/api/v1/events", json=link, headers=h)
    mine = api.headers(api.qimu.admin_key)
    cid = api.client.get("/api/v1/customers?q=13800138000", headers=mine).json()["customers"][0]["id"]
    before = api.client.get(f"/api/v1/customers/{cid}", headers=mine).json()
    stats_before = api.client.get("/api/v1/stats", headers=mine).json()
    merge_id = before["merges"][0]["id"]
    ticket = {"subject": "王小明 13800138000", "customer_id": cid, "order_id": "ORDER-ISO-1"}  # ticket 1
    assert api.client.post("/api/v1/tickets", json=ticket, headers=mine).status_code == 201

    theirs = api.headers(api.other.admin_key)
    checked = 0
    paths = api.client.get("/openapi.json").json()["paths"]

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(merge_id if "merge" in name else cid if "customer" in name else 1)

    for template, operations in paths.items():
        if not template.startswith("/api/") or template.startswith(INGEST_ONLY):
            continue
        path = re.sub(r"\{(\w+)\}", fill, template)
        for method in sorted(m.upper() for m in operations):
            query = "?q=13800138000" if "{" not in template and method == "GET" else ""
            response = api.client.request(method, path + query, headers=theirs, json={})
            checked += 1
            assert response.status_code < 500, (method, path, response.status_code, response.text[:200])
            leaked = [m for m in MARKERS if m in response.text]
            assert not leaked, (method, path, leaked)
    assert checked >= 8
    assert api.client.get(f"/api/v1/customers/{cid}", headers=mine).json()["identifiers"] == before["identifiers"]
    assert api.client.get("/api/v1/stats", headers=mine).json() == stats_before
