"""The messaging API: an admin sets up a provider and a template, an operator records consent and
sends by hand through the guardrails, and every decision is visible on the customer."""

from __future__ import annotations

from sqlalchemy import Engine, select

from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.integration.messaging_fixtures import person

SMS = {
    "kind": "http",
    "name": "短信网关",
    "config": {
        "url": "http://127.0.0.1:9/sms",
        "auth": {"type": "bearer", "token": "sk-live-secret"},
        "body": {"mobile": "{{to}}", "text": "{{text}}"},
        "success": {"status": [200], "field": "code", "equals": [0]},
    },
}


def _customer(api: Api) -> int:
    """One customer of 栖木 with a phone."""
    engine: Engine = api.engine  # type: ignore[assignment]
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, api.qimu.id, [person("alice", phone="13800000001")])
        uow.commit()
    with engine.connect() as conn:
        return int(conn.execute(select(t.customers.c.id).where(t.customers.c.workspace_id == api.qimu.id)).scalar_one())


def test_an_operator_sends_by_hand_through_the_guardrails_and_sees_why_a_send_was_skipped(api: Api) -> None:
    alice = _customer(api)
    admin = api.headers(api.qimu.admin_key)
    put = api.client.put("/api/v1/messaging/providers/sms", json=SMS, headers=admin)
    assert put.status_code == 200 and put.json()["config"]["auth"]["token"] == "****"
    template = {"body": "{{name}}您好，会员日全场八折", "provider_template": "SMS_1"}
    saved = api.client.put("/api/v1/messaging/templates/sms/会员日", json=template, headers=admin).json()
    assert saved["variables"] == ["name"]

    send = {"customer_id": alice, "channel": "sms", "template": "会员日", "variables": {"name": "小鹿"}}
    skipped = api.client.post("/api/v1/messaging/sends", json={**send, "idempotency_key": "a"}, headers=admin).json()
    assert skipped == {"queued": False, "reason": "no_consent", "outbox_id": None, "not_before": None}

    consent = {
        "customer_id": alice,
        "channel": "sms",
        "status": "opt_in",
        "source": "门店登记表",
        "evidence": "顾客签字同意接收优惠短信",
        "at": "2026-03-01T10:00:00+08:00",
    }
    assert api.client.post("/api/v1/messaging/consents", json=consent, headers=admin).status_code == 201
    log = api.client.get(f"/api/v1/messaging/customers/{alice}/consents", headers=admin).json()
    assert log["current"]["sms"] == "opt_in" and log["log"][0]["evidence"] == "顾客签字同意接收优惠短信"

    api.client.patch("/api/v1/messaging/guardrails", json={"quiet_hours": None}, headers=admin)
    queued = api.client.post("/api/v1/messaging/sends", json={**send, "idempotency_key": "b"}, headers=admin).json()
    assert queued["queued"] and queued["outbox_id"]
    again = api.client.post("/api/v1/messaging/sends", json={**send, "idempotency_key": "b"}, headers=admin).json()
    assert again == queued

    sends = api.client.get(f"/api/v1/messaging/customers/{alice}/sends", headers=admin).json()["sends"]
    assert [(s["decision"], s["reason"]) for s in sends] == [("queued", None), ("skipped", "no_consent")]
    assert sends[0]["source"].startswith("manual:")


def test_the_suppression_list_masks_phones_for_agents_and_only_admins_configure_providers(api: Api) -> None:
    admin, agent = api.headers(api.qimu.admin_key), api.headers(api.qimu.agent_key)
    entry = {"kind": "phone", "value": "138 0000 0001", "reason": "客户要求不再联系"}
    added = api.client.post("/api/v1/messaging/suppressions", json=entry, headers=agent)
    assert added.status_code == 201 and added.json()["value"] != "+8613800000001"
    assert api.client.get("/api/v1/messaging/suppressions", headers=admin).json()["suppressions"][0]["value"] == (
        "+8613800000001"
    )
    assert api.client.put("/api/v1/messaging/providers/sms", json=SMS, headers=agent).status_code == 403
    bad = api.client.put("/api/v1/messaging/providers/sms", json={**SMS, "config": {"url": "ftp://x"}}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "config.url"
    assert api.client.delete("/api/v1/messaging/suppressions/phone/13800000001", headers=admin).status_code == 200
    assert api.client.get("/api/v1/messaging/suppressions", headers=admin).json()["suppressions"] == []


def test_another_workspaces_customer_is_not_found(api: Api) -> None:
    alice = _customer(api)
    other = api.headers(api.other.admin_key)
    assert api.client.get(f"/api/v1/messaging/customers/{alice}/sends", headers=other).status_code == 404
    consent = {"customer_id": alice, "channel": "sms", "status": "opt_out", "source": "x"}
    assert api.client.post("/api/v1/messaging/consents", json=consent, headers=other).status_code == 404
