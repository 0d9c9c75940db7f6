"""The playbooks API: list, enable with parameters (a journey is applied), disable (paused), neighbours."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_events_api import order_paid


def test_enabling_a_playbook_applies_its_journey_with_the_values_and_disabling_pauses_it(api: Api) -> None:
    admin = api.headers(api.qimu.admin_key)
    listed = api.client.get("/api/v1/playbooks", headers=admin).json()["playbooks"]
    assert {p["name"] for p in listed} >= {"second_touch", "birthday", "points_expiring", "tier_upgrade"}
    assert all(not p["enabled"] and p["title"] for p in listed)
    on = api.client.post("/api/v1/playbooks/birthday/enable", json={"params": {"days_before": 5}}, headers=admin)
    assert on.status_code == 200, on.text
    assert on.json()["enabled"] and on.json()["journey"]["status"] == "active"
    assert on.json()["document"]["trigger"] == {"date": "birthday", "offset_days": -5, "at": "10:00"}
    journey = api.client.get(f"/api/v1/journeys/{on.json()['journey']['id']}", headers=admin).json()
    assert journey["definition"]["trigger"]["offset_days"] == -5
    off = api.client.post("/api/v1/playbooks/birthday/disable", headers=admin).json()
    assert not off["enabled"] and off["journey"]["status"] == "paused" and off["params"]["days_before"] == 5
    other = api.client.get("/api/v1/playbooks", headers=api.headers(api.other.admin_key)).json()["playbooks"]
    assert all(p["journey"] is None for p in other)


def test_a_bad_value_is_refused_naming_the_parameter_and_agents_may_not_switch(api: Api) -> None:
    admin = api.headers(api.qimu.admin_key)
    bad = api.client.post("/api/v1/playbooks/second_touch/enable", json={"params": {"wait_days": 40}}, headers=admin)
    assert bad.status_code == 400 and "wait_days" in bad.text
    unknown = api.client.post("/api/v1/playbooks/nope/enable", json={}, headers=admin)
    assert unknown.status_code == 404
    agent = api.client.post("/api/v1/playbooks/birthday/enable", json={}, headers=api.headers(api.qimu.agent_key))
    assert agent.status_code == 403


def test_adjacent_categories_come_from_orders_bought_together(api: Api) -> None:
    ingest = api.headers(api.qimu.ingest_key)
    for n, categories in enumerate([("咖啡", "咖啡杯"), ("咖啡", "咖啡杯"), ("咖啡",), ("茶叶",), ("茶叶",)]):
        event = order_paid(n)
        lines = [{"title": f"{c}商品", "quantity": 1, "amount": "10.00", "category": c} for c in categories]
        event["order"] = event["order"] | {"order_id": f"CO-{n}", "lines": lines}
        assert api.client.post("/api/v1/events", json=event, headers=ingest).status_code < 300
    found = api.client.get("/api/v1/playbooks/adjacent-categories", headers=api.headers(api.qimu.admin_key)).json()
    (best,) = found["categories"]["咖啡"]
    assert best["category"] == "咖啡杯" and best["together"] == 2
    assert best["confidence"] == round(2 / 3, 4) and best["lift"] == round((2 / 3) / (2 / 5), 4)
