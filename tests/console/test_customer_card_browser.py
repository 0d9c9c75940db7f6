"""The customer card in a real browser: tier, points and the last orders beside the conversation,
an order's new status arriving with the live stream, and the link to the customer 360."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_conversations_api import chat, post_signed
from tests.api.test_customer_card_api import NOW, PHONE, days, ingest, order_event, seed_card

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"


def test_an_agent_sees_tier_points_and_orders_and_a_status_change_without_reloading(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    seeded = seed_card(api)
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
        page.wait_for_selector("#customer-card #card-orders")
        assert page.get_attribute("#customer-card #member-tier", "data-tier") == "GOLD"
        assert page.inner_text("#customer-card #member-tier") == "金卡"
        assert int(page.inner_text("#customer-card #points-available")) > 0
        orders = page.locator("#customer-card #card-orders tr[data-order]")
        assert orders.count() == 5
        assert [orders.nth(i).get_attribute("data-order") for i in range(5)] == ["TM-3", "TM-2", "DY-1", "JD-1", "TM-1"]
        assert "已退款" in page.inner_text("#card-orders tr[data-order='DY-1']")
        assert page.get_attribute("#card-orders tr[data-order='TM-1']", "data-status") == "shipped"
        assert PHONE not in page.inner_text("#customer-card")

        page.wait_for_selector("#live-state[data-live=on]")
        ingest(api, [order_event("tmall", "TM-1", "completed", "99.00", days(5), NOW)])
        post_signed(api, seeded["secret"], chat(3, "收到了", key="xiaolu", tmall_nick="小鹿", phone=PHONE))
        page.wait_for_selector("#card-orders tr[data-order='TM-1'][data-status=completed]")
        assert "已完成" in page.inner_text("#card-orders tr[data-order='TM-1']")

        page.click("#card-orders tr[data-order='TM-1'] a")
        page.wait_for_url("**/console/customers/*#orders")
        assert "TM-1" in page.inner_text("#orders") and "MP-1" in page.inner_text("#orders")

        page.goto(f"{url}/console/inbox?c={seeded['stranger']}")
        assert page.get_attribute("#customer-card #member-summary", "data-member") == "no"
        assert "非会员" in page.inner_text("#customer-card #member-summary")
        page.close()
