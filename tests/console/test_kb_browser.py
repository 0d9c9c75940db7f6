"""The knowledge base page in a real browser: a supervisor uploads documents and sees each file's
result and the new article, a question without an answer shows up as a gap linked to its
conversation, and the bot is switched on for a channel."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_conversations_api import channel_secret, chat, post_signed
from tests.api.test_knowledge_api import RETURNS_MD, conversation_id
from tests.console.test_console_browser import log_in

pytestmark = pytest.mark.browser


def test_a_supervisor_uploads_a_document_sees_a_gap_and_switches_the_bot_on(api: Api, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "lead@qimu.cn", "黑武士-手柄-2026", "supervisor")
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", "黑武士-手柄-2026", "agent")
        uow.commit()
    (tmp_path / "售后政策.md").write_text(RETURNS_MD, encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-broken")
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page(locale="zh-CN")
        log_in(page, url, "lead@qimu.cn")
        page.goto(f"{url}/console/kb")
        assert "还没有文章" in page.inner_text("#articles")
        page.set_input_files("#upload input[type=file]", [str(tmp_path / "售后政策.md"), str(tmp_path / "broken.pdf")])
        page.click("#upload button[type=submit]")
        page.wait_for_selector("#upload-result")
        added = page.locator("#upload-result tr.uploaded")
        assert added.count() == 1 and "售后政策.md" in added.inner_text() and "已新增" in added.inner_text()
        assert "broken.pdf" in page.inner_text("#upload-result tr.upload-error")  # named, the other kept
        article = page.locator("#articles tr.article[data-name='售后政策.md']")
        assert article.count() == 1 and "售后政策" in article.inner_text()
        assert article.get_attribute("data-stale") == "no"

        post_signed(api, channel_secret(api, api.qimu.id), chat(1, "你们公司老板叫什么名字"))
        cid = conversation_id(api)
        agent = api.headers(api.qimu.agent_key)
        assert api.client.get(f"/api/v1/conversations/{cid}/suggestions", headers=agent).json()["gap"] is True
        page.goto(f"{url}/console/kb")
        gap = page.locator("#gaps tr.gap")
        assert gap.count() == 1 and "你们公司老板叫什么名字" in gap.inner_text() and "没有好答案" in gap.inner_text()
        gap.get_by_role("link").click()
        page.wait_for_url(f"**/console/inbox?c={cid}")

        page.goto(f"{url}/console/kb")
        jd = page.locator("#bot tr.bot-channel[data-channel=jd]")
        jd.get_by_role("switch").check()
        jd.locator("input[name=threshold]").fill("0.7")
        jd.get_by_role("button").click()
        page.wait_for_url("**saved=jd**")
        jd = page.locator("#bot tr.bot-channel[data-channel=jd]")
        assert "已开启" in jd.inner_text() and jd.locator("input[name=threshold]").input_value() == "0.7"
        assert "全部渠道" in page.inner_text("#containment")
        page.close()

        page = browser.new_page(locale="zh-CN")
        log_in(page, url, "agent@qimu.cn")
        page.goto(f"{url}/console/kb")
        assert page.locator("#upload").count() == 0  # agents read the knowledge base, they do not upload
        assert page.locator("#bot tr.bot-channel[data-channel=jd] input[name=threshold]").is_disabled()
        page.close()
    channels = api.client.get("/api/v1/bot/channels", headers=agent).json()["channels"]
    assert [(c["channel"], c["enabled"], c["threshold"]) for c in channels] == [("jd", True, 0.7)]
