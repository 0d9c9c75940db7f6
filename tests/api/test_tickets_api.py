"""The tickets API over HTTP on SQLite and PostgreSQL: the agent's whole round, roles, masking, errors."""

from __future__ import annotations

from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.test_console_pages import login


def test_an_agent_opens_transfers_resolves_and_reopens_a_ticket_with_its_audit_trail(api: Api) -> None:
    agent = api.headers(api.qimu.agent_key)
    made = api.client.post(
        "/api/v1/tickets",
        json={"subject": "摇杆漂移，客户电话13800138000", "category": "质量", "fields": {"批次号": "B2026-11"}},
        headers=agent,
    )
    assert made.status_code == 201, made.text
    ticket = made.json()["ticket"]
    assert ticket["queue"] == "质量" and ticket["routing_rule"] == "质量类工单"
    assert "138****8000" in ticket["subject"] and "13800138000" not in made.text
    assert ticket["sla"] == "running" and ticket["first_response_due_at"]
    tid = ticket["id"]

    listed = api.client.get("/api/v1/tickets?queue=质量&status=open", headers=agent).json()
    assert [t["id"] for t in listed["tickets"]] == [tid]
    assert {"queue": "质量", "open": 1, "late": 0} in listed["queues"]

    changed = api.client.patch(f"/api/v1/tickets/{tid}", json={"assignee": "user:q", "priority": "high"}, headers=agent)
    assert changed.json()["ticket"]["priority"] == "high"
    moved = api.client.post(
        f"/api/v1/tickets/{tid}/transfer", json={"to_queue": "财务", "reason": "退款"}, headers=agent
    )
    assert moved.json()["ticket"]["queue"] == "财务" and moved.json()["ticket"]["assignee"] is None
    assert api.client.post(f"/api/v1/tickets/{tid}/resolve", json={"reason": "已退"}, headers=agent).status_code == 200
    reopened = api.client.post(f"/api/v1/tickets/{tid}/reopen", json={"reason": "没收到"}, headers=agent)
    assert reopened.json()["ticket"]["status"] == "open"
    assert api.client.post(f"/api/v1/tickets/{tid}/reopen", json={}, headers=agent).status_code == 409

    shown = api.client.get(f"/api/v1/tickets/{tid}", headers=agent).json()
    actions = [h["action"] for h in shown["history"]]
    assert actions == [
        "created", "routed", "priority", "assigned", "transferred", "assigned", "status", "status",
    ]  # fmt: skip
    assert {c["metric"] for c in shown["sla"]} == {"first_response", "resolution"}
    admin = api.client.get(f"/api/v1/tickets/{tid}", headers=api.headers(api.qimu.admin_key)).json()
    assert "13800138000" in admin["ticket"]["subject"]


def test_roles_workspaces_and_bad_input_get_clear_answers(api: Api) -> None:
    agent = api.headers(api.qimu.agent_key)
    tid = api.client.post("/api/v1/tickets", json={"subject": "发票抬头"}, headers=agent).json()["ticket"]["id"]
    assert api.client.get("/api/v1/tickets", headers=api.headers(api.qimu.ingest_key)).status_code == 403
    theirs = api.headers(api.other.admin_key)
    assert api.client.get(f"/api/v1/tickets/{tid}", headers=theirs).status_code == 404
    assert api.client.post(f"/api/v1/tickets/{tid}/resolve", json={}, headers=theirs).status_code == 404
    assert api.client.get("/api/v1/tickets", headers=theirs).json()["tickets"] == []

    bad = api.client.post("/api/v1/tickets", json={"subject": "x", "category": "火星"}, headers=agent)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "category"
    bad = api.client.post(
        "/api/v1/tickets", json={"subject": "x", "category": "财务", "fields": {"退款金额": "十块"}}, headers=agent
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "退款金额"
    assert (
        api.client.post("/api/v1/tickets", json={"subject": "x", "customer_id": 999}, headers=agent).status_code == 404
    )
    no_reason = api.client.post(
        f"/api/v1/tickets/{tid}/transfer", json={"to_queue": "物流", "reason": " "}, headers=agent
    )
    assert no_reason.status_code == 400

    assert api.client.put("/api/v1/tickets/settings", json={}, headers=agent).status_code == 403
    admin = api.headers(api.qimu.admin_key)
    wrong = api.client.put(
        "/api/v1/tickets/settings", json={"sla": {"name": "x", "targets": {"resolution_minutes": -5}}}, headers=admin
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "sla.targets.resolution_minutes"
    hours = api.client.put("/api/v1/tickets/settings", json={"hours": {"mon-sun": "00:00-24:00"}}, headers=admin)
    assert hours.status_code == 200 and hours.json()["hours"] == {"mon-sun": "00:00-24:00"}


def test_reminder_report_parcel_feed_and_openapi(api: Api) -> None:
    report = api.client.get("/api/v1/tickets/reminders", headers=api.headers(api.qimu.agent_key)).json()
    assert report == {"sent": 0, "paid_after": 0, "conversion": 0.0}
    feed = {
        "parcels": [
            {"order_id": "NOPE", "tracking_no": "SF1", "status": "returned", "last_update_at": "2026-11-20T10:00:00Z"}
        ]
    }
    refused = api.client.post("/api/v1/parcels", json=feed, headers=api.headers(api.qimu.ingest_key))
    assert refused.status_code == 400 and refused.json()["error"]["where"] == "parcels[0]"
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/tickets", "/api/v1/tickets/{ticket_id}", "/api/v1/tickets/{ticket_id}/transfer",
                 "/api/v1/tickets/{ticket_id}/resolve", "/api/v1/tickets/{ticket_id}/reopen",
                 "/api/v1/tickets/reminders", "/api/v1/parcels"):  # fmt: skip
        assert path in paths


def test_console_ticket_pages_speak_chinese_and_keep_to_their_workspace(api: Api) -> None:
    theirs = api.client.post(
        "/api/v1/tickets", json={"subject": "别家的工单"}, headers=api.headers(api.other.agent_key)
    )
    mine = api.client.post("/api/v1/tickets", json={"subject": "发票抬头"}, headers=api.headers(api.qimu.agent_key))
    login(api, "agent")
    queue = api.client.get("/console/tickets")
    assert "工单" in queue.text and "发票抬头" in queue.text and "别家的工单" not in queue.text
    assert "操作记录" in api.client.get(f"/console/tickets/{mine.json()['ticket']['id']}").text
    assert api.client.get(f"/console/tickets/{theirs.json()['ticket']['id']}").status_code == 404
    refused = api.client.post(
        f"/console/tickets/{theirs.json()['ticket']['id']}", data={"action": "resolve"}, follow_redirects=False
    )
    assert refused.status_code == 400
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        assert uow.tickets.ticket(api.other.id, theirs.json()["ticket"]["id"])["status"] == "open"


def test_erasing_a_customer_blanks_their_tickets(api: Api) -> None:
    from tests.api.test_events_api import order_paid

    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.qimu.ingest_key))
    admin = api.headers(api.qimu.admin_key)
    cid = api.client.get("/api/v1/customers?q=13800138000", headers=admin).json()["customers"][0]["id"]
    body = {"subject": "王小明 13800138000 要退款", "customer_id": cid, "category": "财务", "fields": {"退款金额": 99}}
    tid = api.client.post("/api/v1/tickets", json=body, headers=admin).json()["ticket"]["id"]
    api.client.patch(f"/api/v1/tickets/{tid}", json={"reason": "王小明来电", "priority": "high"}, headers=admin)
    assert api.client.delete(f"/api/v1/customers/{cid}", headers=admin).json()["tickets"] == 1
    shown = api.client.get(f"/api/v1/tickets/{tid}", headers=admin)
    assert "王小明" not in shown.text and "13800138000" not in shown.text
    assert shown.json()["ticket"]["subject"] == "[erased]" and shown.json()["ticket"]["fields"] == {}
