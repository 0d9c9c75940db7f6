"""The customer card in a real browser: open tickets and marketing touches beside the conversation,
kept current by the live stream, and the same lists on the customer 360."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_conversations_api import chat, post_signed
from tests.api.test_customer_touches_api import PHONE, seed

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"


def test_an_agent_sees_the_customers_open_tickets_and_touches_beside_the_conversation(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(api)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", PASSWORD, "agent")
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/inbox?c={seeded['conversation']}")
        page.fill("#email", "agent@qimu.cn")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/console/inbox**")
        page.goto(f"{url}/console/inbox?c={seeded['conversation']}")
        page.wait_for_selector("#customer-card #open-tickets")
        ticket = page.locator(f"#customer-card #open-tickets tr[data-ticket='{seeded['ticket']}']")
        assert "质量" in ticket.inner_text() and "138****0001" in ticket.inner_text()
        assert ticket.get_attribute("data-sla") == "running"
        assert page.locator("#customer-card #open-tickets tr[data-ticket]").count() == 1, "resolved ones are not shown"
        touches = page.locator("#customer-card #touches")
        assert "未获同意" in touches.inner_text() and "沉睡唤醒" in touches.inner_text()
        assert touches.locator("tr[data-outcome=skipped]").count() == 1
        assert PHONE not in page.inner_text("#customer-card")

        page.wait_for_selector("#live-state[data-live=on]")
        more = {"subject": "物流查询", "category": "物流", "customer_id": seeded["customer"]}
        api.client.post("/api/v1/tickets", json=more, headers=api.headers(api.qimu.admin_key))
        post_signed(api, seeded["secret"], chat(2, "快递到哪了", key="xiaolu", tmall_nick="小鹿"))
        page.wait_for_function("document.querySelectorAll('#customer-card #open-tickets tr[data-ticket]').length == 2")

        ticket.locator("a").click()
        page.wait_for_url(f"**/console/tickets/{seeded['ticket']}")
        page.goto(f"{url}/console/customers/{seeded['customer']}")
        assert page.locator("#service-touches #open-tickets tr[data-ticket]").count() == 2
        assert "近期营销触达" in page.inner_text("#service-touches")
        page.close()
