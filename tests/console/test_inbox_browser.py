"""The agent workspace in a real browser: angry customers first, masked phones, reply, note, live updates."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_conversations_api import channel_secret, chat, post_signed

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"


def seed(api: Api) -> str:
    secret = channel_secret(api, api.qimu.id)
    post_signed(api, secret, chat(1, "请问有没有大一号的", key="calm-buyer", tmall_nick="安静"))
    post_signed(api, secret, chat(2, "我的电话13800138000，你们这是欺诈！我要投诉到消协！", key="angry-buyer"))
    with SqlUnitOfWork(api.engine) as uow:
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", PASSWORD, "agent")
        uow.commit()
    return secret


def test_an_agent_works_the_inbox_and_sees_new_messages_without_reloading(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    secret = seed(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/inbox")
        page.fill("#email", "agent@qimu.cn")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/console/inbox")
        rows = page.locator("#inbox-list tr[data-conversation]")
        assert rows.count() == 2
        assert "angry-buyer" in rows.nth(0).inner_text(), "the angry customer comes first"
        rows.nth(0).locator("a").click()
        page.wait_for_selector("#conversation")
        assert "138****8000" in page.inner_text("#messages")
        assert "13800138000" not in page.content()
        assert page.get_attribute("#customer-card a", "href").startswith("/console/customers/")

        page.fill("#reply-form textarea", "非常抱歉，马上为您处理")
        page.click("#send-reply")
        page.wait_for_selector("#messages tr.message-out")
        assert "非常抱歉" in page.inner_text("#messages tr.message-out")
        page.fill("#reply-form textarea", "已升级主管")
        page.click("#add-note")
        page.wait_for_selector("#messages tr.message-note")

        page.wait_for_selector("#live-state[data-live=on]")
        post_signed(api, secret, chat(3, "还在等你们回复", key="angry-buyer"))
        page.wait_for_selector("#messages >> text=还在等你们回复", timeout=15_000)

        page.click("#status-form button[value=resolved]")
        page.wait_for_selector("#conversation-status")
        assert page.inner_text("#conversation-status") == "已解决"
        page.close()
