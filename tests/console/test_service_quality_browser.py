"""In a real browser: the reply box warns of listed words as the agent types; the reports page drills
down from a figure to its conversations, exports them as CSV, and opens a conversation's QA, where a
supervisor overrides a score with a reason."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_service_quality_api import seed

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"


def log_in(page, url: str, email: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}{path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**{path}")


def test_the_reply_box_warns_of_a_promise_and_the_reports_drill_down_to_csv(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    cid = seed(api)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", PASSWORD, "agent")
        accounts.create_user(uow.accounts, api.qimu.id, "boss@qimu.cn", PASSWORD, "supervisor")
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "agent@qimu.cn", "/console/inbox")
        page.goto(f"{url}/console/inbox?c={cid}")
        page.fill("#reply-form textarea", "您好，我保证明天就到")
        page.wait_for_selector("#word-warning:not([hidden])")
        assert page.inner_text("#word-warning") == "承诺用语: 保证"
        page.fill("#reply-form textarea", "您好，马上为您查询")
        page.wait_for_selector("#word-warning", state="hidden")
        page.close()

        page = browser.new_page()
        log_in(page, url, "boss@qimu.cn", "/console/service/reports")
        alice = page.locator("#report tr[data-group=alice]")
        assert alice.locator("[data-figure=conversations]").inner_text() == "1"
        assert page.locator("#report-total [data-figure=conversations]").inner_text() == "2"
        alice.locator("[data-figure=qa_avg]").click()
        page.wait_for_selector("#drill")
        assert page.inner_text("#drill-total") == "1"
        assert page.locator(f"#drill tr[data-conversation='{cid}']").count() == 1
        exported = page.request.get(url + page.get_attribute("#export-csv", "href"))
        lines = exported.text().strip().splitlines()
        assert exported.headers["content-type"].startswith("text/csv") and len(lines) == 2
        assert lines[1].startswith(f"{cid},tmall,buyer-1,alice")

        page.click(f"#drill tr[data-conversation='{cid}'] a.qa-link")
        words = page.locator("#qa-scores tr[data-criterion=words]")
        assert "不关我事" in words.inner_text() and words.locator(".score").inner_text().startswith("0")
        before = float(page.inner_text("#qa-total"))
        words.locator("input[name=score]").fill("20")
        words.locator("input[name=reason]").fill("客户先骂人，主管认可")
        words.locator("button").click()
        page.wait_for_selector("#qa-scores tr[data-criterion=words] >> text=客户先骂人，主管认可")
        assert float(page.inner_text("#qa-total")) > before
        page.close()
