"""The journey list and flow view in a real browser: apply a definition, customers enter through
the event API, the worker takes their steps, and the counts move on the open page without a reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from liuyu.jobs.schedule import SCHEDULE
from liuyu.jobs.worker import Worker
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_journeys_api import followed
from tests.console.test_engagement_browser import _users, log_in

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["LIUYU_SCREENSHOTS"]) if os.environ.get("LIUYU_SCREENSHOTS") else None

WELCOME = """name: 关注欢迎
trigger: {event: followed}
steps:
  - key: bought
    branch: {if: "order_count >= 1", then: end, else: hello}
  - key: hello
    send: {channel: wechat_template, template: welcome}
  - key: later
    wait: {days: 1}
goal: {event: order_paid, within_days: 7}
control: {percent: 20}
"""


def _count(page, step: str, name: str) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text(f'[data-step="{step}"] [data-count="{name}"]')


def test_an_operator_applies_a_journey_and_watches_its_counts_move(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    _users(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn", "/console/journeys")
        assert "旅程" in page.inner_text("header") and page.is_visible("#no-journeys")
        page.fill("#source", WELCOME.replace("{days: 1}", "{days: three}"))
        page.click("#apply")
        page.wait_for_selector("#apply-error")
        assert page.inner_text("#error-where") == "$.steps[2].wait.days"
        assert "three" in page.inner_text("#apply-error")
        assert "three" in page.input_value("#source"), "the operator's text is kept for fixing"
        page.fill("#source", WELCOME)
        page.click("#apply")
        page.wait_for_selector("#flow")
        assert page.inner_text("#journey-title").startswith("关注欢迎")
        assert [page.locator(".flow .node").nth(i).get_attribute("data-step") for i in range(1, 4)] == [
            "bought",
            "hello",
            "later",
        ]
        assert "hello" in page.inner_text('[data-step="bought"] .edge.no')
        assert page.inner_text("#entered") == "0"
        page.evaluate("window.notReloaded = true")

        sent = api.client.post(
            "/api/v1/events",
            json={"batch": [followed(n) for n in range(30)]},
            headers=api.headers(api.qimu.ingest_key),
        )
        assert sent.status_code < 300, sent.text
        page.wait_for_function("document.getElementById('entered').textContent === '30'")
        treated, held = int(page.inner_text("#entered-treatment")), int(page.inner_text("#entered-control"))
        assert treated + held == 30 and held > 0
        assert _count(page, "hello", "skipped") == "0"

        queue = browser.new_page()
        log_in(queue, url, "ops@qimu.cn", "/console/journeys")
        assert int(queue.inner_text("#queue-due")) == treated
        row = queue.locator("#journeys tbody tr").first
        assert row.locator(".enrolled").inner_text() == "30"

        Worker(api.engine, [job for job in SCHEDULE if job.name.startswith("journey-")]).run_once()  # type: ignore[arg-type]
        page.wait_for_function(
            f"document.querySelector('[data-step=\"hello\"] [data-count=\"skipped\"]').textContent === '{treated}'"
        )
        assert _count(page, "bought", "no") == str(treated) and _count(page, "bought", "yes") == "0"
        assert _count(page, "later", "now") == str(treated)
        assert "无模板" in page.inner_text('[data-step="hello"] .reasons'), "a skipped send says why"
        assert page.evaluate("window.notReloaded === true"), "the counts moved without a reload"
        assert page.inner_text("#treatment-size") == str(treated) and page.inner_text("#control-size") == str(held)
        assert page.inner_text("#verdict").startswith("尚不显著")
        queue.wait_for_function("document.getElementById('queue-due').textContent === '0'")
        if SHOTS:
            page.screenshot(path=str(SHOTS / "journey-flow.png"), full_page=True)
            queue.screenshot(path=str(SHOTS / "journeys.png"), full_page=True)

        page.click("#toggle")
        page.wait_for_selector("#journey-status.masked")
        assert page.inner_text("#journey-status") == "已暂停"
        page.close()
        queue.close()


def test_an_analyst_reads_journeys_but_cannot_apply_or_pause(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    from liuyu.services import accounts
    from liuyu.storage.uow import SqlUnitOfWork
    from tests.console.test_engagement_browser import PASSWORD

    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "data@qimu.cn", PASSWORD, "analyst")
        uow.commit()
    made = api.client.post(
        "/api/v1/journeys",
        content=WELCOME.encode(),
        headers=api.headers(api.qimu.admin_key) | {"Content-Type": "application/yaml"},
    )
    journey_id = made.json()["id"]
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "data@qimu.cn", "/console/journeys")
        assert page.locator("#journeys tbody tr").count() == 1
        assert page.locator("#apply-form").count() == 0 and page.locator("#journeys form").count() == 0
        answer = page.request.post(f"{url}/console/journeys/{journey_id}/pause")
        assert answer.status == 403
        refused = page.request.post(f"{url}/console/journeys", form={"source": WELCOME.replace("关注欢迎", "另一个")})
        assert refused.status == 403
        listed = api.client.get("/api/v1/journeys", headers=api.headers(api.qimu.admin_key)).json()["journeys"]
        assert [j["name"] for j in listed] == ["关注欢迎"], "nothing was applied"
        page.goto(f"{url}/console/journeys/{journey_id}")
        assert page.locator("#toggle").count() == 0 and page.inner_text("#journey-status") == "启用中"
        page.click("#lang-en")
        page.wait_for_selector("text=Conversion against the control group")
        assert page.inner_text("#verdict") == "Not enough customers in both groups yet to compare."
        page.close()
