"""Console pages render in Chinese by default and in English on request (in-process; the browser tests
in tests/console drive the same pages in Chromium)."""

from __future__ import annotations

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.test_events_api import order_paid


def login(api: Api, role: str = "admin") -> None:
    with SqlUnitOfWork(api.engine) as uow:
        accounts.create_user(uow.accounts, api.qimu.id, f"{role}@qimu.cn", "黑武士-手柄-2026", role)
        uow.commit()
    response = api.client.post(
        "/console/login", data={"email": f"{role}@qimu.cn", "password": "黑武士-手柄-2026"}, follow_redirects=False
    )
    assert response.status_code == 303


def test_pages_need_a_login(api: Api) -> None:
    response = api.client.get("/console/customers", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")


def test_search_and_360_speak_chinese_then_english(api: Api) -> None:
    api.client.post("/api/v1/events", json=order_paid(1), headers=api.headers(api.qimu.ingest_key))
    login(api)
    page = api.client.get("/console/customers?q=13800138000")
    assert "累计消费" in page.text and "13800138000" in page.text
    cid = page.text.split('href="/console/customers/')[1].split('"')[0]
    detail = api.client.get(f"/console/customers/{cid}")
    assert "身份标识" in detail.text and "黑武士手柄" in detail.text
    api.client.get("/console/lang/en")
    english = api.client.get(f"/console/customers/{cid}")
    assert "Identifiers" in english.text and "身份标识" not in english.text
