"""Channel webhooks in, the agent API out: signatures, dedupe, the inbox, notes, replies, masking, tenancy."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from liuyu.services import inbox
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving


def channel_secret(api: Api, workspace_id: int, channel: str = "tmall") -> str:
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        shown = inbox.configure_channel(uow, workspace_id, channel)
        uow.commit()
    return str(shown["secret"])


def post_signed(
    api: Api, secret: str, body: dict[str, Any], *, channel: str = "tmall", slug: str = "qimu"
) -> httpx.Response:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"X-Liuyu-Workspace": slug, inbox.SIGNATURE_HEADER: inbox.sign(secret, raw)}
    return api.client.post(f"/webhooks/{channel}", content=raw, headers=headers)


def chat(n: int, text: str = "在吗", key: str = "buyer-1", **sender: str) -> dict[str, Any]:
    return {
        "message_id": f"msg-{n}",
        "conversation_key": key,
        "text": text,
        "sent_at": f"2026-03-01T10:0{n}:00+08:00",
        "sender": sender or {"tmall_nick": "小鹿", "phone": "13800138000"},
    }


def test_a_signed_webhook_is_stored_once_even_when_delivered_twice(api: Api) -> None:
    secret = channel_secret(api, api.qimu.id)
    first = post_signed(api, secret, chat(1))
    again = post_signed(api, secret, chat(1))
    assert first.status_code == 200, first.text
    assert (first.json()["stored"], again.json()["stored"], again.json()["duplicate"]) == (1, 0, 1)
    listed = api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json()
    assert len(listed["conversations"]) == 1


def test_a_webhook_with_a_bad_signature_is_refused(api: Api) -> None:
    secret = channel_secret(api, api.qimu.id)
    raw = json.dumps(chat(1)).encode()
    forged = {"X-Liuyu-Workspace": "qimu", inbox.SIGNATURE_HEADER: inbox.sign("not-the-secret", raw)}
    assert api.client.post("/webhooks/tmall", content=raw, headers=forged).status_code == 401
    assert api.client.post("/webhooks/tmall", content=raw, headers={"X-Liuyu-Workspace": "qimu"}).status_code == 401
    # a secret of another channel or another workspace does not open this one
    other = channel_secret(api, api.other.id)
    assert post_signed(api, other, chat(1)).status_code == 401
    assert post_signed(api, secret, chat(1), channel="jd").status_code == 401
    assert api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json() == {
        "conversations": []
    }


def test_a_webhook_breaking_the_contract_gets_a_400_naming_the_field(api: Api) -> None:
    secret = channel_secret(api, api.qimu.id)
    response = post_signed(api, secret, {"messages": [chat(1), {**chat(2), "sent_at": "yesterday"}]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "sent_at"
    assert response.json()["error"]["where"] == "messages[1]"


def test_an_agent_sees_the_conversation_with_analysis_and_masked_phones(api: Api) -> None:
    secret = channel_secret(api, api.qimu.id)
    post_signed(api, secret, {"messages": [chat(2, "我的电话13800138000，快点退款！垃圾服务！"), chat(1)]})
    agent, admin = api.headers(api.qimu.agent_key), api.headers(api.qimu.admin_key)
    conversation_id = api.client.get("/api/v1/conversations", headers=agent).json()["conversations"][0]["id"]
    seen = api.client.get(f"/api/v1/conversations/{conversation_id}", headers=agent).json()
    assert [m["text"][:2] for m in seen["messages"]] == ["在吗", "我的"]
    assert "13800138000" not in json.dumps(seen, ensure_ascii=False)
    assert "138****8000" in seen["messages"][1]["text"]
    assert seen["messages"][1]["analysis"]["sentiment"]["label"] == "negative"
    assert seen["customer"]["url"] == f"/console/customers/{seen['customer']['id']}"
    unmasked = api.client.get(f"/api/v1/conversations/{conversation_id}", headers=admin).json()
    assert "13800138000" in unmasked["messages"][1]["text"]


def test_a_phone_number_used_as_a_conversation_key_is_masked_for_agents(api: Api) -> None:
    post_signed(api, channel_secret(api, api.qimu.id, "app"), chat(1, key="13912345678"), channel="app")
    listed = api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json()
    assert listed["conversations"][0]["conversation_key"] == "139****5678"


def test_an_agent_changes_status_adds_a_note_and_replies_once_per_idempotency_key(api: Api) -> None:
    post_signed(api, channel_secret(api, api.qimu.id), chat(1))
    agent = api.headers(api.qimu.agent_key)
    cid = api.client.get("/api/v1/conversations", headers=agent).json()["conversations"][0]["id"]
    changed = api.client.patch(
        f"/api/v1/conversations/{cid}", json={"status": "pending", "assignee": "阿珍"}, headers=agent
    )
    assert changed.json()["conversation"]["status"] == "pending"
    assert api.client.patch(f"/api/v1/conversations/{cid}", json={"status": "lost"}, headers=agent).status_code == 422
    api.client.post(f"/api/v1/conversations/{cid}/notes", json={"text": "老客户，优先处理"}, headers=agent)
    for _ in range(2):
        sent = api.client.post(
            f"/api/v1/conversations/{cid}/replies",
            json={"text": "您好，马上为您查询"},
            headers=agent | {"Idempotency-Key": "r1"},
        )
        assert sent.status_code == 202
    messages = api.client.get(f"/api/v1/conversations/{cid}", headers=agent).json()["messages"]
    assert [(m["direction"], m["delivery_status"]) for m in messages] == [
        ("in", None),
        ("note", None),
        ("out", "queued"),
    ]
    assert api.client.get("/api/v1/conversations?status=pending&assignee=阿珍", headers=agent).json()["conversations"]
    assert not api.client.get("/api/v1/conversations?status=open", headers=agent).json()["conversations"]


def test_another_workspace_can_neither_see_nor_change_a_conversation(api: Api) -> None:
    post_signed(api, channel_secret(api, api.qimu.id), chat(1))
    cid = api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json()["conversations"][0][
        "id"
    ]
    theirs = api.headers(api.other.admin_key)
    assert api.client.get("/api/v1/conversations", headers=theirs).json() == {"conversations": []}
    calls = [
        ("get", f"/api/v1/conversations/{cid}", None),
        ("patch", f"/api/v1/conversations/{cid}", {"status": "resolved"}),
        ("post", f"/api/v1/conversations/{cid}/notes", {"text": "x"}),
        ("post", f"/api/v1/conversations/{cid}/replies", {"text": "x"}),
    ]
    for method, path, body in calls:
        assert api.client.request(method, path, json=body, headers=theirs).status_code == 404, (method, path)
    ingest_only = api.headers(api.qimu.ingest_key)
    assert api.client.get("/api/v1/conversations", headers=ingest_only).status_code == 403


def test_the_stream_tells_a_listening_agent_which_conversation_changed(api: Api) -> None:
    secret = channel_secret(api, api.qimu.id)
    heard: list[str] = []
    with serving(api.client.app) as base:  # type: ignore[arg-type]
        headers = api.headers(api.qimu.agent_key) | {"Accept": "text/event-stream"}
        with httpx.stream(
            "GET", f"{base}/api/v1/conversations/stream?interval=0.2", headers=headers, timeout=20
        ) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 2000"
            poster = threading.Thread(target=lambda: post_signed(api, secret, chat(1)))
            poster.start()
            for line in lines:
                if line.startswith("data:"):
                    heard.append(line)
                    break
            poster.join()
    cid = api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json()["conversations"][0][
        "id"
    ]
    assert json.loads(heard[0].removeprefix("data:"))["ids"] == [cid]


def test_the_stream_refuses_a_client_that_does_not_ask_for_server_sent_events(api: Api) -> None:
    response = api.client.get("/api/v1/conversations/stream", headers=api.headers(api.qimu.agent_key))
    assert response.status_code == 406
