"""The segment builder, a saved segment's detail and the dashboard, in a real browser."""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path

import pytest

from liuyu.services import accounts, engagement
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_segments_api import ALICE, CAROL, _seed

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["LIUYU_SCREENSHOTS"]) if os.environ.get("LIUYU_SCREENSHOTS") else None
PASSWORD = "黑武士-手柄-2026"


def _users(api: Api) -> None:
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        accounts.create_user(uow.accounts, api.qimu.id, "ops@qimu.cn", PASSWORD, "operator")
        accounts.create_user(uow.accounts, api.qimu.id, "boss@qimu.cn", PASSWORD, "admin")
        uow.commit()


def log_in(page, url: str, email: str, target: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}{target}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**{target}")


def test_an_operator_builds_a_segment_with_a_live_count_and_saves_it(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    _seed(api)
    _users(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn", "/console/segments")
        assert "分群" in page.inner_text("header")
        page.type("#expression", 'city = "上海"', delay=20)
        page.wait_for_function("document.getElementById('count').textContent === '2'")
        assert page.locator("#preview tbody tr").count() == 2
        assert "张爱丽" not in page.inner_text("#preview"), "an operator sees names masked"
        page.fill("#expression", "")
        page.type("#expression", "city = 上海", delay=20)
        page.wait_for_selector("#error:not([hidden])")
        assert "8" in page.inner_text("#error") and "^" in page.inner_text("#error")
        assert page.inner_text("#count") == "–"
        page.fill("#expression", 'city = "上海" and order_count >= 1')
        page.wait_for_function("document.getElementById('count').textContent === '1'")
        assert page.is_hidden("#error")
        if SHOTS:
            page.screenshot(path=str(SHOTS / "segment-builder.png"), full_page=True)
        page.fill("#segment-name", "上海买家")
        page.click("#save")
        page.wait_for_selector("#segment-title")
        assert page.inner_text("#segment-title") == "上海买家"
        assert page.inner_text("#member-count") == "1"
        assert page.locator("#members tbody tr").count() == 1
        export = page.request.get(url + page.get_attribute("#export", "href"))
        rows = list(csv.DictReader(io.StringIO(export.text())))
        assert [int(r["id"]) for r in rows] == [ALICE] and "name" not in rows[0]
        page.fill("input[name=why]", str(CAROL))
        page.click("#why-form button")
        page.wait_for_selector("#why")
        why = page.inner_text("#why")
        assert "✗" in why and "order_count >= 1" in why and "0" in why
        if SHOTS:
            page.screenshot(path=str(SHOTS / "segment-detail.png"), full_page=True)
        page.click("#lang-en")
        page.wait_for_selector("text=Why is a customer in this segment?")
        page.close()


def test_the_dashboard_shows_repurchase_rfm_grid_stages_and_the_20_80_curve(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_engagement_traits import NOW, _shop, insert_shop

    _users(api)
    people, orders = _shop(random.Random(7))
    insert_shop(api.engine, api.qimu.id, people, orders)  # type: ignore[arg-type]
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        engagement.refresh_traits(uow, api.qimu.id, now=NOW)
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn", "/console/dashboard")
        assert page.inner_text("#repurchase-rate") == "100.0%"  # every one of the forty bought at least twice
        cells = page.locator("#rfm-grid td")
        assert cells.count() == 25
        assert sum(int(cells.nth(i).inner_text()) for i in range(25)) == 40
        stages = {row.get_attribute("data-stage"): row.inner_text() for row in page.locator("#stages tr").all()}
        assert len(stages) == 8 and stages["dormant"].split()[-1] == "20"
        assert page.locator('#lifecycle-flow tr[data-from="new"] td[data-to="dormant"]').inner_text() == "20"
        assert page.locator("#pareto polyline").count() == 1
        share = float(page.inner_text("#top20").rstrip("%"))
        assert 20 < share < 100
        if SHOTS:
            page.screenshot(path=str(SHOTS / "engagement-dashboard.png"), full_page=True)
        page.close()
