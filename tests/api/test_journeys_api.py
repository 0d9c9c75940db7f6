"""The journeys API: apply from YAML or JSON, per-step counts, pause and resume, report with uplift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liuyu.services.journey_runner import JourneyPorts, run_due
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.integration.test_journeys import RecordingSender

WELCOME_YAML = """
name: 关注欢迎
trigger: {event: followed}
steps:
  - key: hello
    send: {channel: wechat_template, template: welcome}
  - key: wait
    wait: {days: 1}
goal: {event: order_paid, within_days: 7}
control: {percent: 20}
"""


def followed(n: int) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return {
        "type": "track",
        "event": "followed",
        "id": f"wx-follow-{n}",
        "timestamp": at,
        "channel": "wechat",
        "identifiers": {"wechat_openid": f"o-{n:05d}"},
    }


def test_a_journey_is_applied_from_yaml_and_shows_live_counts_per_step(api: Api) -> None:
    admin = api.headers(api.qimu.admin_key)
    created = api.client.post(
        "/api/v1/journeys", content=WELCOME_YAML.encode(), headers=admin | {"Content-Type": "application/yaml"}
    )
    assert created.status_code == 201, created.text
    journey_id = created.json()["id"]
    again = api.client.post(
        "/api/v1/journeys", content=WELCOME_YAML.encode(), headers=admin | {"Content-Type": "application/yaml"}
    )
    assert again.status_code == 200 and again.json()["changed"] is False
    api.client.post(
        "/api/v1/events", json={"batch": [followed(n) for n in range(30)]}, headers=api.headers(api.qimu.ingest_key)
    )
    assert api.client.get("/api/v1/journeys/queue", headers=admin).json()["due"] >= 1
    sender = RecordingSender()
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        run_due(uow, datetime.now(UTC), JourneyPorts(send=sender))
        uow.commit()
    shown = api.client.get(f"/api/v1/journeys/{journey_id}", headers=admin).json()
    steps = {s["key"]: s for s in shown["steps"]}
    treated = shown["groups"].get("treatment", {}).get("entered", 0)
    held = shown["groups"].get("control", {}).get("entered", 0)
    assert treated + held == 30 and treated == len(sender.requests)
    assert steps["hello"]["outcomes"] == {"sent": treated}
    assert steps["wait"]["now"] == treated
    report = api.client.get(f"/api/v1/journeys/{journey_id}/report", headers=admin).json()
    assert report["uplift"]["treatment"] == treated and report["uplift"]["control"] == held
    assert {"low", "high", "uplift", "method"} <= set(report["uplift"])
    mine = sender.requests[0].customer_id
    story = api.client.get(f"/api/v1/journeys/customers/{mine}", headers=admin).json()["enrollments"][0]["history"]
    assert [(h["step_key"], h["outcome"]) for h in story] == [
        ("entry", "entered"),
        ("hello", "sent"),
        ("wait", "waiting"),
    ]


def test_json_definitions_errors_and_pausing(api: Api) -> None:
    admin = api.headers(api.qimu.admin_key)
    doc = {"name": "生日", "trigger": {"date": "birthday"}, "steps": [{"key": "w", "wait": {"days": -1}}]}
    bad = api.client.post("/api/v1/journeys", json=doc, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["where"] == "$.steps[0].wait.days"
    doc["steps"] = [{"key": "gift", "points": {"amount": 100}}]
    made = api.client.post("/api/v1/journeys", json=doc, headers=admin)
    assert made.status_code == 201
    journey_id = made.json()["id"]
    assert api.client.post(f"/api/v1/journeys/{journey_id}/pause", headers=admin).json()["status"] == "paused"
    assert api.client.get("/api/v1/journeys", headers=admin).json()["journeys"][0]["status"] == "paused"
    assert api.client.post(f"/api/v1/journeys/{journey_id}/resume", headers=admin).json()["status"] == "active"
    agent = api.client.post(f"/api/v1/journeys/{journey_id}/pause", headers=api.headers(api.qimu.agent_key))
    assert agent.status_code == 403
    theirs = api.client.get(f"/api/v1/journeys/{journey_id}", headers=api.headers(api.other.admin_key))
    assert theirs.status_code == 404
