"""Tickets in a real browser: open one from a conversation, transfer it, resolve it, see a breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.services import accounts, inbox, tickets
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"


def seed(api: Api) -> int:
    body = {
        "message_id": "m1",
        "conversation_key": "buyer-1",
        "text": "手柄收到就漂移，要换货",
        "sent_at": datetime.now(UTC).isoformat(),
        "sender": {"tmall_nick": "小鹿"},
    }
    quality = {"intent": {"label": "quality_problem", "score": 0.9}, "anger": "none", "escalation": "none"}
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        report = inbox.receive_messages(
            uow, api.qimu.id, [inbox.parse_message("tmall", body)], analyzer=lambda texts: [quality | {"entities": []}]
        )
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", PASSWORD, "agent")
        uow.commit()
    return report.conversations[0]


def test_an_agent_opens_a_ticket_from_a_conversation_transfers_and_resolves_it(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    conversation = seed(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/inbox?c={conversation}")
        page.fill("#email", "agent@qimu.cn")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/console/inbox")
        page.goto(f"{url}/console/inbox?c={conversation}")  # the login keeps the path, not the query
        page.wait_for_selector("#open-ticket-form")
        page.fill("#open-ticket-form input[name=subject]", "摇杆漂移换货")
        page.click("#open-ticket")
        page.wait_for_selector("#ticket")
        assert page.inner_text("#ticket-queue") == "质量"
        assert "quality_problem" in page.inner_text("#routing")
        assert page.locator("#history tr").count() == 2
        assert page.locator("#sla li[data-metric=first_response]").count() == 1

        page.select_option("#transfer-form select", "财务")
        page.fill("#transfer-form input[name=reason]", "客户改为退款")
        page.click("#transfer")
        page.wait_for_selector("#history tr[data-action=transferred]")
        assert page.inner_text("#ticket-queue") == "财务"
        assert "客户改为退款" in page.inner_text("#history tr[data-action=transferred]")

        page.fill("#resolve-form input[name=reason]", "已退款")
        page.click("#resolve")
        page.wait_for_selector("#reopen-form")
        assert page.locator("#history tr").count() == 4

        page.goto(f"{url}/console/tickets?queue=财务&status=")
        assert page.locator("#ticket-list tr[data-ticket]").count() == 1
        page.close()


def test_a_supervisor_sees_a_breached_ticket_and_its_notification(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    seed(api)
    opened = datetime.now(UTC) - timedelta(days=10)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        tickets.open_ticket(
            uow, api.qimu.id, customer_id=None, subject="十天没人管", source="api", actor="api", now=opened
        )
        accounts.create_user(uow.accounts, api.qimu.id, "boss@qimu.cn", PASSWORD, "supervisor")
        uow.commit()
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        assert tickets.escalate_due(uow, datetime.now(UTC)) > 0
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/tickets")
        page.fill("#email", "boss@qimu.cn")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_selector("#ticket-list")
        assert page.get_attribute("#ticket-list tr[data-ticket]", "data-sla") == "breached"
        assert page.locator("#notifications tr[data-notification]").count() == 2
        page.click("#mark-read")
        page.wait_for_selector("#ticket-list")
        assert page.locator("#notifications").count() == 0
        page.close()
