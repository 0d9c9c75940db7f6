"""Console pages in a real browser: login, search, customer 360, undo a merge, imports, language."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_events_api import order_paid

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("LIUYU_SCREENSHOTS", "")) if os.environ.get("LIUYU_SCREENSHOTS") else None


def seed(api: Api) -> None:
    h = api.headers(api.qimu.ingest_key)
    api.client.post("/api/v1/events", json=order_paid(1) | {"traits": {"name": "王小明", "city": "杭州"}}, headers=h)
    api.client.post(
        "/api/v1/events", json=order_paid(2) | {"identifiers": {"email": "xm@qimu.cn"}, "verified": []}, headers=h
    )
    link = order_paid(3) | {"identifiers": {"email": "xm@qimu.cn", "phone": "13800138000"}, "verified": []}
    api.client.post("/api/v1/events", json=link, headers=h)
    with SqlUnitOfWork(api.engine) as uow:
        accounts.create_user(uow.accounts, api.qimu.id, "ops@qimu.cn", "黑武士-手柄-2026", "operator")
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", "黑武士-手柄-2026", "agent")
        uow.commit()


def log_in(page, url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/console/customers")
    page.fill("#email", email)
    page.fill("#password", "黑武士-手柄-2026")
    page.click("main button[type=submit]")
    page.wait_for_url("**/console/customers")


def test_an_operator_finds_a_customer_sees_the_360_and_undoes_a_merge(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    seed(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn")
        assert "客户" in page.inner_text("header")
        page.fill("input[name=q]", "13800138000")
        page.click("#search button")
        page.wait_for_selector("#results")
        page.click("#results a")
        page.wait_for_selector("#customer-title")
        assert "王*" in page.inner_text("#customer-title"), "an operator sees names masked"
        assert "138****8000" in page.inner_text("#identifiers")
        assert page.locator("#orders tbody tr, #orders tr").count() >= 3
        if SHOTS:
            page.screenshot(path=str(SHOTS / "customer-360.png"), full_page=True)
        assert page.locator("#merges tr").count() >= 2
        page.click("#merges button")
        page.wait_for_selector("#merges")
        assert "已撤销" in page.inner_text("#merges")
        page.click("#lang-en")
        page.wait_for_selector("text=Identifiers")
        assert "Merge history" in page.inner_text("main")
        page.close()


def test_an_agent_cannot_undo_merges_and_wrong_passwords_are_refused(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    seed(api)
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/login")
        page.fill("#email", "agent@qimu.cn")
        page.fill("#password", "wrong-password")
        page.click("main button[type=submit]")
        assert "邮箱或密码不对" in page.inner_text("[role=alert]")
        log_in(page, url, "agent@qimu.cn")
        page.goto(f"{url}/console/customers?q=xm@qimu.cn")
        page.click("#results a")
        page.wait_for_selector("#merges")
        assert page.locator("#merges button").count() == 0
        page.close()


def test_import_history_links_the_error_report(api: Api, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from liuyu.channels.importers import open_import
    from liuyu.services.imports import run_import

    seed(api)
    bad = tmp_path / "logins.csv"
    source = (Path(__file__).resolve().parents[1] / "data" / "imports" / "app_logins.csv").read_text(encoding="utf-8")
    header, *rows = source.splitlines()
    bad.write_text("\n".join([header, *rows, "u-broken,not-a-phone,dev-9,yesterday,ios,1.0"]) + "\n", encoding="utf-8")
    summary = run_import(
        lambda: SqlUnitOfWork(api.engine),
        api.qimu.id,
        open_import("app-logins", None, bad),
        digest="d" * 64,
        error_dir=tmp_path / "errors",
    )
    assert summary.rejected >= 1
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "ops@qimu.cn")
        page.click("text=导入")
        page.wait_for_selector("#imports")
        assert "logins.csv" in page.inner_text("#imports")
        with page.expect_download() as download:
            page.click("#imports a")
        assert download.value.suggested_filename.endswith(".errors.csv")
        page.close()
