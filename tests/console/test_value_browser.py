"""The dashboard's value view in a real browser: 20/80 by dimension, segments, cohort retention."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_value_api import shop  # noqa: F401  (the fixture: two big Tmall buyers, eight small app buyers)
from tests.console.test_engagement_browser import _users, log_in

pytestmark = pytest.mark.browser


def test_the_dashboard_shows_where_the_value_is_and_how_cohorts_come_back(shop: Api, browser) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    _users(shop)
    saved = shop.client.post(
        "/api/v1/segments",
        json={"name": "大客户", "expression": "total_spent > 1000"},
        headers=shop.headers(shop.qimu.admin_key),
    )
    assert saved.status_code == 201, saved.text
    with serving(shop.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn", "/console/dashboard")
        channels = page.locator("#value-channel tbody tr")
        assert [row.get_attribute("data-key") for row in channels.all()] == ["tmall", "app"]  # biggest first
        assert page.locator('#value-channel tr[data-key="app"] td[data-top]').inner_text() == "20.0%"
        assert page.locator('#value-category tr[data-key="手柄"]').count() == 1
        months = [row.get_attribute("data-key") for row in page.locator("#value-month tbody tr").all()]
        assert months == ["2026-01", "2026-02", "2026-03"]
        assert page.locator('#value-segments tr[data-segment="大客户"] td[data-core]').inner_text() == "100.0%"
        january = page.locator('#cohorts tr[data-cohort="2026-01"] td')
        assert january.nth(0).inner_text() == "2" and january.nth(2).inner_text() == "100%"  # both back in March
        page.close()
