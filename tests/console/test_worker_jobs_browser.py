"""The journeys page's worker panel in a real browser: each job's last run, a failed one with its error."""

from __future__ import annotations

import pytest

from liuyu.jobs.schedule import SCHEDULE
from liuyu.jobs.worker import Worker
from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.console.test_engagement_browser import PASSWORD, _users, log_in
from tests.integration.test_worker_runs import _jobs

pytestmark = pytest.mark.browser


def test_an_operator_sees_which_job_failed_and_why(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    _users(api)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "data@qimu.cn", PASSWORD, "analyst")
        uow.commit()
    Worker(api.engine, _jobs([True])).run_once()  # type: ignore[arg-type]
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn", "/console/journeys")
        broken = page.locator('#worker-jobs tr[data-job="broken"]')
        assert broken.get_attribute("data-ok") == "no"
        assert broken.locator(".error").inner_text() == "failed (details for admins)"  # jobs serve every workspace
        fine = page.locator('#worker-jobs tr[data-job="fine"]')
        assert (
            fine.get_attribute("data-ok") == "yes"
            and "分钟前" in fine.inner_text()
            and fine.locator("td").nth(2).inner_text() == "3"
        )
        never = page.locator(f'#worker-jobs tr[data-job="{SCHEDULE[0].name}"]')
        assert never.get_attribute("data-ok") == "never" and "从未运行" in never.inner_text()
        page.close()

        analyst = browser.new_page()
        log_in(analyst, url, "data@qimu.cn", "/console/journeys")
        assert analyst.is_visible("#worker") and analyst.locator("#worker-jobs").count() == 0
        analyst.close()
