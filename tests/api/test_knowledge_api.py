"""The knowledge base over HTTP: uploads, suggestions with sources, feedback, the report, bot first."""

from __future__ import annotations

from typing import Any

from liuyu.services import inbox, knowledge
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.test_conversations_api import channel_secret, chat, post_signed

RETURNS_MD = """# 售后政策

## 七天无理由退货

签收后7天内，商品完好可以申请七天无理由退货，运费险会自动理赔。

## 床垫试睡

床垫支持100晚试睡，不满意可以退，需要保留原包装。
"""
INSTALL_HTML = "<h1>上门安装</h1><p>家具到货后48小时内，安装师傅会电话联系您预约上门时间。</p>"


def upload(api: Api, key: str, *files: tuple[str, bytes]) -> Any:
    return api.client.post(
        "/api/v1/kb/articles",
        headers=api.headers(key),
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def conversation_id(api: Api, key: str = "buyer-1") -> int:
    rows = api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json()["conversations"]
    return int(next(r["id"] for r in rows if r["conversation_key"] == key))


def test_documents_are_uploaded_and_a_bad_one_is_named_while_the_rest_are_kept(api: Api) -> None:
    first = upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()), ("bad.pdf", b"%PDF-broken"))
    assert first.status_code == 201, first.text
    assert [a["status"] for a in first.json()["articles"]] == ["created"]
    assert first.json()["errors"][0]["name"] == "bad.pdf"
    again = upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()))
    assert again.json()["articles"][0]["status"] == "unchanged"
    assert upload(api, api.qimu.agent_key, ("install.html", INSTALL_HTML.encode())).status_code == 403
    listed = api.client.get("/api/v1/kb/articles", headers=api.headers(api.qimu.agent_key)).json()["articles"]
    assert [(a["name"], a["chunk_count"]) for a in listed] == [("returns.md", 2)]
    theirs = api.client.get("/api/v1/kb/articles", headers=api.headers(api.other.admin_key)).json()
    assert theirs == {"articles": []}


def test_an_agent_gets_suggestions_with_sources_and_marks_one_helpful(api: Api) -> None:
    upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()), ("install.html", INSTALL_HTML.encode()))
    secret = channel_secret(api, api.qimu.id)
    post_signed(api, secret, chat(1, "床垫试睡不满意可以退吗？我的电话13800138000"))
    cid = conversation_id(api)
    agent = api.headers(api.qimu.agent_key)
    found = api.client.get(f"/api/v1/conversations/{cid}/suggestions", headers=agent)
    assert found.status_code == 200, found.text
    body = found.json()
    top = body["suggestions"][0]
    assert (top["source"], top["title"], top["heading"]) == ("chunk", "售后政策", "售后政策 › 床垫试睡")
    assert "100晚试睡" in top["text"] and 0.5 <= top["confidence"] <= 1
    assert len(body["suggestions"]) <= 3 and not body["gap"]
    assert "138****8000" in body["message"]["text"], "the question is masked for agents"
    marked = {"message_id": body["message"]["id"], "source": "chunk", "source_id": top["source_id"]}
    for action in ("inserted", "helpful"):
        response = api.client.post(
            f"/api/v1/conversations/{cid}/suggestions/feedback", headers=agent, json={**marked, "action": action}
        )
        assert response.json() == {"recorded": True}
    report = api.client.get("/api/v1/kb/report", headers=agent).json()
    returns = next(a for a in report["articles"] if a["name"] == "returns.md")
    assert (returns["inserted"], returns["helpful"], returns["used"]) == (1, 1, 2)
    assert (
        api.client.get(f"/api/v1/conversations/{cid}/suggestions", headers=api.headers(api.other.agent_key)).status_code
        == 404
    )


def test_a_question_without_a_good_answer_becomes_a_gap(api: Api) -> None:
    upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()))
    post_signed(api, channel_secret(api, api.qimu.id), chat(1, "你们公司老板叫什么名字"))
    cid = conversation_id(api)
    agent = api.headers(api.qimu.agent_key)
    assert api.client.get(f"/api/v1/conversations/{cid}/suggestions", headers=agent).json()["gap"] is True
    api.client.get(f"/api/v1/conversations/{cid}/suggestions", headers=agent)
    gaps = api.client.get("/api/v1/kb/gaps", headers=agent).json()["gaps"]
    assert [(g["reason"], g["question"]) for g in gaps] == [("no_suggestion", "你们公司老板叫什么名字")]


def test_faq_pairs_mined_from_a_resolved_conversation_are_suggested(api: Api) -> None:
    post_signed(api, channel_secret(api, api.qimu.id), chat(1, "电子发票在哪里申请"))
    cid = conversation_id(api)
    admin = api.headers(api.qimu.admin_key)
    api.client.post(
        f"/api/v1/conversations/{cid}/replies", headers=admin, json={"text": "在订单详情页点申请开票就可以啦"}
    )
    api.client.patch(f"/api/v1/conversations/{cid}", headers=admin, json={"status": "resolved"})
    mined = api.client.post("/api/v1/kb/faqs/mine", headers=admin).json()
    assert mined == {"conversations": 1, "pairs": 1, "new": 1}
    post_signed(api, channel_secret(api, api.qimu.id, "jd"), chat(2, "电子发票怎么申请", key="buyer-2"), channel="jd")
    found = api.client.get(f"/api/v1/conversations/{conversation_id(api, 'buyer-2')}/suggestions", headers=admin).json()
    assert found["suggestions"][0]["source"] == "faq"
    assert found["suggestions"][0]["text"] == "在订单详情页点申请开票就可以啦"


def test_a_bot_channel_answers_with_citations_hands_off_on_request_and_an_agent_flags_it(api: Api) -> None:
    upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()))
    admin, agent = api.headers(api.qimu.admin_key), api.headers(api.qimu.agent_key)
    secret = channel_secret(api, api.qimu.id)
    assert api.client.put("/api/v1/bot/channels/tmall", headers=agent, json={"enabled": True}).status_code == 403
    saved = api.client.put("/api/v1/bot/channels/tmall", headers=admin, json={"enabled": True, "threshold": 0.6})
    assert saved.json() == {"channel": "tmall", "enabled": True, "threshold": 0.6}
    post_signed(api, secret, chat(1, "床垫试睡不满意可以退吗", key="calm"))
    post_signed(api, secret, chat(2, "转人工", key="person"))
    calm = api.client.get(f"/api/v1/conversations/{conversation_id(api, 'calm')}", headers=agent).json()
    answer = next(m for m in calm["messages"] if m["direction"] == "out")
    assert answer["sender"] == knowledge.BOT_ACTOR and "参考：《售后政策》" in answer["text"]
    assert calm["conversation"]["status"] == "resolved"
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        queued = [r["payload"]["text"] for r in uow.service.outbox_rows(api.qimu.id)]
    assert any("100晚试睡" in text for text in queued), "the bot's answer leaves through the outbox"
    person = api.client.get(f"/api/v1/conversations/{conversation_id(api, 'person')}", headers=agent).json()
    assert [m["direction"] for m in person["messages"]] == ["in", "out", "note"]
    assert person["messages"][2]["text"].startswith("转人工：客户要求转人工")
    assert person["conversation"]["status"] == "open"

    report = api.client.get("/api/v1/bot/report", headers=agent).json()
    assert report["channels"][0]["handed_off"] == 1 and report["channels"][0]["undecided"] == 1
    flagged = api.client.post(
        f"/api/v1/conversations/{calm['conversation']['id']}/bot-answers/{answer['id']}/flag",
        headers=agent,
        json={"note": "顾客问的是枕头"},
    )
    assert flagged.status_code == 200, flagged.text
    gaps = api.client.get("/api/v1/kb/gaps?reason=bot_wrong", headers=agent).json()["gaps"]
    assert gaps[0]["question"] == "床垫试睡不满意可以退吗" and gaps[0]["detail"]["note"] == "顾客问的是枕头"
    wrong = api.client.post(
        f"/api/v1/conversations/{calm['conversation']['id']}/bot-answers/999999/flag", headers=agent, json={}
    )
    assert wrong.status_code == 404


def test_a_channel_without_the_bot_is_left_to_people(api: Api) -> None:
    upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()))
    post_signed(api, channel_secret(api, api.qimu.id), chat(1, "床垫试睡不满意可以退吗"))
    seen = api.client.get(f"/api/v1/conversations/{conversation_id(api)}", headers=api.headers(api.qimu.agent_key))
    assert [m["direction"] for m in seen.json()["messages"]] == ["in"]
    assert inbox.STATUSES[0] == seen.json()["conversation"]["status"]
    remembered = knowledge.shared_cache(True)._questions
    assert "床垫试睡不满意可以退吗" in remembered, "the question was embedded ahead of the agent"
