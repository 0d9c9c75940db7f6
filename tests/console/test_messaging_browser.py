"""The messaging page in a real browser: sends deferred for quiet hours and skipped for an opt-out
are listed with their reason in Chinese and counted, the list filters by reason, a customer's
consent log shows, and an agent sees the suppression list masked while a supervisor does not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from liuyu.services import accounts
from liuyu.services import messaging_setup as setup
from liuyu.services.ingest import ingest_events
from liuyu.services.messaging import SendRequest, request_send
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_messaging_api import SMS
from tests.console.test_console_browser import log_in
from tests.integration.messaging_fixtures import person

pytestmark = pytest.mark.browser


def _decisions(engine: Engine, ws: int) -> tuple[int, int]:
    """Alice opted in and is written to at 22:00 Beijing time (deferred); Bob opted out (skipped)."""
    late = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)  # 22:00 in Asia/Shanghai
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, ws, [person("alice", phone="13800000001"), person("bob", phone="13900000002")])
        uow.commit()
    with engine.connect() as conn:
        rows = conn.execute(select(t.customers.c.id).where(t.customers.c.workspace_id == ws).order_by(t.customers.c.id))
        alice, bob = rows.scalars().all()
    with SqlUnitOfWork(engine) as uow:
        setup.configure_provider(uow, ws, "sms", kind=SMS["kind"], name=SMS["name"], config=SMS["config"])
        setup.save_template(uow, ws, "sms", "会员日", body="{{name}}您好，会员日全场八折")
        setup.record_consent(uow, ws, alice, "sms", "opt_in", source="门店登记表", evidence="顾客签字同意", actor="t")
        setup.record_consent(uow, ws, bob, "sms", "opt_out", source="短信回复TD", evidence="TD", actor="t")
        setup.suppress(uow, ws, "phone", "138 0000 0009", reason="客户要求不再联系", actor="t")
        for who, key in ((alice, "a"), (bob, "b")):
            request = SendRequest(ws, who, "sms", "会员日", {"name": "小鹿"}, "marketing", "journey:1:step:x", key)
            request_send(uow, request, now=late)
        uow.commit()
    return alice, bob


def test_skipped_and_deferred_sends_are_listed_with_reasons_and_agents_see_masked_entries(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    engine: Engine = api.engine  # type: ignore[assignment]
    alice, bob = _decisions(engine, api.qimu.id)
    with SqlUnitOfWork(engine) as uow:
        accounts.create_user(uow.accounts, api.qimu.id, "lead@qimu.cn", "黑武士-手柄-2026", "supervisor")
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", "黑武士-手柄-2026", "agent")
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page(locale="zh-CN")
        log_in(page, url, "lead@qimu.cn")
        page.goto(f"{url}/console/messaging")
        quiet = page.locator("#decisions tr.decision[data-reason=quiet_hours]")
        assert quiet.count() == 1 and "免打扰时段" in quiet.inner_text()
        opted = page.locator("#decisions tr.decision[data-reason=opted_out]")
        assert opted.count() == 1 and "已退订" in opted.inner_text() and "已跳过" in opted.inner_text()
        assert page.inner_text("#skipped-counts [data-reason=opted_out] .value") == "1"
        assert page.inner_text("#skipped-counts [data-reason=quiet_hours] .value") == "1"
        assert "+8613800000009" in page.inner_text("#suppressions")  # a supervisor may see phones
        assert "sk-live-secret" not in page.content() and "短信网关" in page.inner_text("#providers")
        assert "21:00–08:00" in page.inner_text("#guardrails")

        page.select_option("#reason-filter select", "opted_out")
        page.click("#reason-filter button")
        page.wait_for_url("**reason=opted_out**")
        assert [r.get_attribute("data-reason") for r in page.locator("#decisions tr.decision").all()] == ["opted_out"]

        page.locator(f"#decisions tr.decision a[href$='customer={bob}']").click()
        page.wait_for_url(f"**customer={bob}")
        assert "短信回复TD" in page.inner_text("#consent-log")
        assert "已退订" in page.inner_text("#consent-now [data-channel=sms]")
        assert page.locator("#customer-sends tr[data-reason=opted_out]").count() == 1
        page.close()

        page = browser.new_page(locale="zh-CN")
        log_in(page, url, "agent@qimu.cn")
        page.goto(f"{url}/console/messaging?customer=13800000001")
        entry = page.inner_text("#suppressions tr.suppression .value")
        assert "+8613800000009" not in entry and "0009" in entry  # masked, still recognisable
        assert page.locator("#providers").count() == 0  # agents do not see provider settings
        assert f"#{alice}" in page.inner_text("#customer-lookup h3")  # the lookup found Alice by her phone
        assert "门店登记表" in page.inner_text("#consent-log")
        assert "1380000" not in page.inner_text("#customer-lookup")
        page.close()
