"""The member center's console pages in a real browser: a member's card and ledger, and the program overview."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_loyalty_api import member_with_points, operator_key
from tests.console.test_console_browser import log_in

pytestmark = pytest.mark.browser


def seed(api: Api) -> int:
    """A gold member with 800 points who spent 300 of them, and an operator who can log in."""
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    api.client.post(f"/api/v1/members/{customer}/redeem", json={"points": 300, "request_id": "POS-1"}, headers=h)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "ops@qimu.cn", "黑武士-手柄-2026", "operator")
        uow.commit()
    return customer


def test_the_member_page_shows_the_card_and_filters_the_ledger(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    customer = seed(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn")
        page.goto(f"{url}/console/members/{customer}")
        page.wait_for_selector("#member-card")
        assert page.inner_text("#tier") == "金卡"
        assert page.inner_text("#available") == "500"
        assert page.locator("#ledger tbody tr").count() == 2
        page.select_option("#ledger-filter select", "redeem")
        page.click("#ledger-filter button")
        page.wait_for_url("**kind=redeem**")
        assert page.locator("#ledger tbody tr").count() == 1
        assert "300" in page.inner_text("#ledger tbody")
        page.close()


def test_the_program_overview_shows_members_by_tier_and_the_points_still_owed(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    seed(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn")
        page.click("header >> text=会员")
        page.wait_for_selector("#by-tier")
        assert page.inner_text("#member-count") == "1"
        assert page.inner_text("#liability") == "500"
        gold = page.locator("#by-tier tr", has_text="金卡")
        assert gold.inner_text().strip().endswith("1")
        assert page.locator("#by-month tr").count() >= 2
        page.close()
