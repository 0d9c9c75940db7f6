"""Export and erasure on request: personal data goes, counts stay, the log still replays."""

from __future__ import annotations

from sqlalchemy import select

from liuyu.services.identity import rebuild
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.test_events_api import order_paid


def test_erasing_a_customer_removes_personal_data_and_keeps_the_counts(api: Api) -> None:
    h = api.headers(api.qimu.ingest_key)
    api.client.post(
        "/api/v1/events", json=order_paid(1) | {"traits": {"name": "王小明", "address": "文三路 1 号"}}, headers=h
    )
    api.client.post("/api/v1/events", json=order_paid(2), headers=h)
    admin = api.headers(api.qimu.admin_key)
    cid = api.client.get("/api/v1/customers?q=13800138000", headers=admin).json()["customers"][0]["id"]
    exported = api.client.get(f"/api/v1/customers/{cid}/export", headers=admin).json()
    assert exported["customer"]["name"] == "王小明" and len(exported["timeline"]) == 2
    before = api.client.get("/api/v1/stats", headers=admin).json()

    assert api.client.delete(f"/api/v1/customers/{cid}", headers=admin).status_code == 200

    after = api.client.get("/api/v1/stats", headers=admin).json()
    assert after == before
    assert api.client.get("/api/v1/customers?q=13800138000", headers=admin).json() == {"customers": []}
    view = api.client.get(f"/api/v1/customers/{cid}", headers=admin).json()
    assert view["customer"]["name"] is None and view["customer"]["address"] is None
    assert all(i["value"].startswith("erased:") for i in view["identifiers"])
    assert view["traits"]["total_spent_fen"] == 39800
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        payloads = conn.execute(select(t.events.c.payload)).scalars().all()
        actions = conn.execute(select(t.audit_log.c.action)).scalars().all()
    assert "13800138000" not in str(payloads) and "王小明" not in str(payloads)
    assert {"customer.export", "customer.erase"} <= set(actions)
    rebuild(lambda: SqlUnitOfWork(api.engine), api.qimu.id)  # type: ignore[arg-type]
    assert api.client.get("/api/v1/stats", headers=admin).json() == before


def test_only_admins_export_or_erase(api: Api) -> None:
    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.qimu.ingest_key))
    agent = api.headers(api.qimu.agent_key)
    cid = api.client.get("/api/v1/customers?q=13800138000", headers=agent).json()["customers"][0]["id"]
    assert api.client.get(f"/api/v1/customers/{cid}/export", headers=agent).status_code == 403
    assert api.client.delete(f"/api/v1/customers/{cid}", headers=agent).status_code == 403


def test_erasure_reaches_the_service_inbox(api: Api) -> None:
    from liuyu.storage.service_tables import messages as service_messages
    from tests.api.test_conversations_api import channel_secret, chat, post_signed

    secret = channel_secret(api, api.qimu.id)
    post_signed(api, secret, {"messages": [chat(1, "我是王小明，电话13800138000，地址文三路1号")]})
    admin = api.headers(api.qimu.admin_key)
    cid = api.client.get("/api/v1/customers?q=13800138000", headers=admin).json()["customers"][0]["id"]
    result = api.client.delete(f"/api/v1/customers/{cid}", headers=admin).json()
    assert result["messages"] == 1
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        texts = conn.execute(select(service_messages.c.text)).scalars().all()
    assert texts == ["[erased]"]
