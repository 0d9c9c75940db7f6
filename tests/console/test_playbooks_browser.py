"""The playbooks page in a real browser: switch one on with changed values, see it saved, switch it off."""

from __future__ import annotations

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.console.test_console_browser import log_in

pytestmark = pytest.mark.browser


def test_an_operator_switches_a_playbook_on_with_new_values_and_off_again(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "ops@qimu.cn", "黑武士-手柄-2026", "operator")
        uow.commit()
    admin = api.headers(api.qimu.admin_key)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
        log_in(page, url, "ops@qimu.cn")
        page.goto(f"{url}/console/playbooks")
        card = page.locator("#birthday")
        assert "生日关怀" in card.inner_text() and "未开启" in card.inner_text()
        card.get_by_role("switch").check()
        card.locator("input[name=days_before]").fill("5")
        card.locator("select[name=channel]").select_option("email")
        card.get_by_role("button").click()
        page.wait_for_url("**saved=birthday**")
        card = page.locator("#birthday")
        assert "已开启" in card.inner_text() and "已保存" in card.inner_text()
        assert card.locator("input[name=days_before]").input_value() == "5"
        shown = api.client.get("/api/v1/playbooks/birthday", headers=admin).json()
        assert shown["enabled"] and shown["journey"]["status"] == "active"
        assert shown["document"]["trigger"]["offset_days"] == -5
        assert shown["document"]["steps"][1]["send"]["channel"] == "email"

        card.locator("input[name=days_before]").fill("99")  # out of range: the form will not go
        assert card.locator("input[name=days_before]").evaluate("e => e.validity.rangeOverflow")
        card.locator("input[name=days_before]").evaluate("e => e.removeAttribute('max')")
        card.get_by_role("button").click()  # and the server refuses it too, naming the parameter
        assert "days_before" in page.locator("#birthday [role=alert]").inner_text()

        page.goto(f"{url}/console/playbooks")
        page.locator("#birthday").get_by_role("switch").uncheck()
        page.locator("#birthday").get_by_role("button").click()
        page.wait_for_url("**saved=birthday**")
        assert "未开启" in page.locator("#birthday").inner_text()
        assert api.client.get("/api/v1/playbooks/birthday", headers=admin).json()["journey"]["status"] == "paused"
        page.close()
