"""Answer suggestions in a real browser: insert into the reply box, mark helpful, flag a bot answer."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_conversations_api import channel_secret, chat, post_signed
from tests.api.test_knowledge_api import RETURNS_MD, conversation_id, upload

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"


def test_an_agent_inserts_a_suggestion_marks_it_helpful_and_flags_a_wrong_bot_answer(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    upload(api, api.qimu.admin_key, ("returns.md", RETURNS_MD.encode()))
    post_signed(api, channel_secret(api, api.qimu.id), chat(1, "床垫试睡不满意可以退吗"))
    api.client.put("/api/v1/bot/channels/jd", headers=api.headers(api.qimu.admin_key), json={"enabled": True})
    jd = channel_secret(api, api.qimu.id, "jd")
    post_signed(api, jd, chat(2, "七天无理由退货运费险会理赔吗", key="bot-buyer"), channel="jd")
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", PASSWORD, "agent")
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/inbox")
        page.fill("#email", "agent@qimu.cn")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/console/inbox")
        page.goto(f"{url}/console/inbox?c={conversation_id(api)}")
        page.wait_for_selector("#suggestions[data-loaded=yes]")
        first = page.locator("#suggestion-list .suggestion").first
        assert "《售后政策》 售后政策 › 床垫试睡" in first.locator(".suggestion-source").inner_text()
        first.locator("button.insert").click()
        assert "100晚试睡" in page.input_value("#reply-form textarea")
        first.locator("button.helpful").click()
        page.wait_for_selector("#suggestion-list button.helpful[data-recorded=yes]")
        page.click("#send-reply")
        page.wait_for_selector("#messages tr.message-out")
        assert "100晚试睡" in page.inner_text("#messages tr.message-out")

        page.goto(f"{url}/console/inbox?c={conversation_id(api, 'bot-buyer')}")
        page.wait_for_selector("#bot-turns .bot-turn[data-action=answered] button.flag")
        page.click("#bot-turns button.flag")
        page.wait_for_selector("#bot-turns .flagged")
        page.close()
    report = api.client.get("/api/v1/kb/report", headers=api.headers(api.qimu.agent_key)).json()
    assert next(a for a in report["articles"] if a["name"] == "returns.md")["helpful"] == 1
    assert [g["reason"] for g in report["gaps"]] == ["bot_wrong"]
