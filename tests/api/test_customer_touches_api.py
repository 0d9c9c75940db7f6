"""The customer card beside a conversation and on the customer 360: open tickets and marketing touches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from liuyu.jobs.outbox import deliver_pass
from tests.api.conftest import Api
from tests.api.test_console_pages import login
from tests.api.test_conversations_api import channel_secret, chat, post_signed
from tests.integration.test_messaging_delivery import Gateway

PHONE = "13800000001"
SMS = {
    "kind": "http",
    "name": "短信网关",
    "config": {"url": "http://127.0.0.1:9/sms", "body": {"mobile": "{{to}}", "text": "{{text}}"}},
}
WINBACK_YAML = """
name: 沉睡唤醒
trigger: {event: went_quiet}
steps:
  - key: wait
    wait: {days: 3}
"""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    """An SMS provider's HTTP API on loopback."""
    server = Gateway()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def seed(api: Api, sms_url: str = "http://127.0.0.1:9/sms") -> dict[str, Any]:
    """小鹿 writes on Tmall, enters a journey, gets one SMS skipped and one queued, and has two tickets."""
    admin = api.headers(api.qimu.admin_key)
    secret = channel_secret(api, api.qimu.id)
    received = post_signed(api, secret, chat(1, "手柄摇杆漂移了", key="xiaolu", tmall_nick="小鹿", phone=PHONE))
    conversation_id = received.json()["conversations"][0]
    view = api.client.get(f"/api/v1/conversations/{conversation_id}", headers=admin).json()
    customer = view["customer"]["id"]

    journey = {"content": WINBACK_YAML.encode(), "headers": admin | {"Content-Type": "application/yaml"}}
    assert api.client.post("/api/v1/journeys", **journey).status_code == 201
    quiet = {
        "type": "track",
        "event": "went_quiet",
        "id": "quiet-1",
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "channel": "app",
        "identifiers": {"phone": PHONE},
    }
    assert api.client.post("/api/v1/events", json=quiet, headers=api.headers(api.qimu.ingest_key)).status_code == 200

    provider = {**SMS, "config": {**SMS["config"], "url": sms_url}}  # type: ignore[dict-item]
    api.client.put("/api/v1/messaging/providers/sms", json=provider, headers=admin)
    api.client.put("/api/v1/messaging/templates/sms/会员日", json={"body": "会员日全场八折"}, headers=admin)
    api.client.patch("/api/v1/messaging/guardrails", json={"quiet_hours": None}, headers=admin)
    send = {"customer_id": customer, "channel": "sms", "template": "会员日"}
    assert (
        api.client.post("/api/v1/messaging/sends", json={**send, "idempotency_key": "a"}, headers=admin).json()[
            "reason"
        ]
        == "no_consent"
    )
    consent = {"customer_id": customer, "channel": "sms", "status": "opt_in", "source": "门店", "evidence": "签字"}
    api.client.post("/api/v1/messaging/consents", json=consent, headers=admin)
    assert api.client.post("/api/v1/messaging/sends", json={**send, "idempotency_key": "b"}, headers=admin).json()[
        "queued"
    ]

    ticket = {"subject": f"摇杆漂移，回电{PHONE}", "category": "质量", "customer_id": customer}
    open_id = api.client.post("/api/v1/tickets", json=ticket, headers=admin).json()["ticket"]["id"]
    done = {"subject": "发票抬头", "category": "财务", "customer_id": customer}
    done_id = api.client.post("/api/v1/tickets", json=done, headers=admin).json()["ticket"]["id"]
    api.client.post(f"/api/v1/tickets/{done_id}/resolve", json={"reason": "已开"}, headers=admin)
    return {"customer": customer, "conversation": conversation_id, "ticket": open_id, "secret": secret}


def test_the_card_shows_open_tickets_and_recent_touches_masked_for_agents(api: Api, gateway: Gateway) -> None:
    seeded = seed(api, gateway.url("/sms"))
    agent = api.headers(api.qimu.agent_key)
    shown = api.client.get(f"/api/v1/customers/{seeded['customer']}/touches", headers=agent)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    [ticket] = body["open_tickets"]  # the resolved one is not open
    assert ticket["id"] == seeded["ticket"] and ticket["queue"] == "质量" and ticket["status"] == "open"
    assert ticket["sla"] == "running" and ticket["sla_due_at"] and ticket["url"] == f"/console/tickets/{ticket['id']}"
    assert "138****0001" in ticket["subject"] and PHONE not in shown.text

    touches = body["touches"]
    sends = [(x["channel"], x["name"], x["outcome"], x["reason"]) for x in touches if x["kind"] == "message"]
    assert sends == [("sms", "会员日", "queued", None), ("sms", "会员日", "skipped", "no_consent")], "newest first"
    [journey] = [x for x in touches if x["kind"] == "journey"]
    assert journey["name"] == "沉睡唤醒" and journey["outcome"] == "active" and journey["group"] == "treatment"

    admin = api.headers(api.qimu.admin_key)
    unmasked = api.client.get(f"/api/v1/customers/{seeded['customer']}/touches", headers=admin).json()
    assert PHONE in unmasked["open_tickets"][0]["subject"]
    limited = api.client.get(f"/api/v1/customers/{seeded['customer']}/touches?limit=1", headers=admin).json()
    assert len(limited["touches"]) == 1 and limited["touches"][0]["outcome"] == "queued"

    card = api.client.get(f"/api/v1/conversations/{seeded['conversation']}", headers=agent).json()["customer"]
    assert card["open_tickets"] == body["open_tickets"] and card["touches"] == body["touches"]

    assert deliver_pass(api.engine, datetime.now(UTC)).sent == 1  # type: ignore[arg-type]
    after = api.client.get(f"/api/v1/customers/{seeded['customer']}/touches?limit=1", headers=agent).json()
    assert after["touches"][0]["outcome"] == "sent" and after["touches"][0]["sent_at"]


def test_touches_keep_to_their_workspace_and_refuse_an_ingestion_key(api: Api) -> None:
    seeded = seed(api)
    url = f"/api/v1/customers/{seeded['customer']}/touches"
    assert api.client.get(url, headers=api.headers(api.other.admin_key)).status_code == 404
    assert api.client.get(url, headers=api.headers(api.qimu.ingest_key)).status_code == 403
    assert (
        api.client.get("/api/v1/customers/999999/touches", headers=api.headers(api.qimu.admin_key)).status_code == 404
    )


def test_the_customer_360_page_lists_them_in_chinese(api: Api) -> None:
    seeded = seed(api)
    login(api, "agent")
    page = api.client.get(f"/console/customers/{seeded['customer']}")
    assert page.status_code == 200, page.text[:300]
    html = page.text
    assert "未结工单" in html and "近期营销触达" in html and "未获同意" in html and "沉睡唤醒" in html
    assert f'href="/console/tickets/{seeded["ticket"]}"' in html and PHONE not in html.split('id="service-touches"')[1]
