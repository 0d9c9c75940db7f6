"""Attachments in the agent's conversation view, in a real browser: name, size, an inert download."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.api.test_conversations_api import channel_secret, chat, post_signed

pytestmark = pytest.mark.browser
PASSWORD = "黑武士-手柄-2026"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x07" * 2040  # 2,048 bytes: "2.0 kB"


def test_an_agent_sees_a_customers_photo_with_its_size_and_downloads_it(
    api: Api,
    browser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("LIUYU_ATTACHMENT_DIR", str(tmp_path / "files"))
    secret = channel_secret(api, api.qimu.id)
    files = [{"filename": "手柄破损.png", "content_type": "image/png", "data": base64.b64encode(PHOTO).decode()}]
    stored = post_signed(api, secret, chat(1, "收到的手柄是坏的，看图", key="photo-buyer") | {"attachments": files})
    assert stored.json()["attachments"] == 1
    post_signed(api, secret, chat(2, "还有一个问题", key="photo-buyer"))
    with SqlUnitOfWork(api.engine) as uow:
        accounts.create_user(uow.accounts, api.qimu.id, "agent@qimu.cn", PASSWORD, "agent")
        uow.commit()

    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        page.goto(f"{url}/console/inbox")
        page.fill("#email", "agent@qimu.cn")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/console/inbox")
        page.locator("#inbox-list tr[data-conversation] a").first.click()
        page.wait_for_selector("#conversation")

        files_shown = page.locator("#messages .attachment")
        assert files_shown.count() == 1, "only the message that carried the file shows one"
        row = page.locator("#messages tr", has=page.locator(".attachment"))
        assert "收到的手柄是坏的" in row.inner_text()
        assert "手柄破损.png" in files_shown.inner_text()
        assert "2.0 kB" in files_shown.inner_text()

        with page.expect_download() as clicked:
            files_shown.locator("a").click()
        download = clicked.value
        assert download.suggested_filename == "手柄破损.png"
        assert Path(download.path()).read_bytes() == PHOTO

        served = page.request.get(url + (files_shown.locator("a").get_attribute("href") or ""))
        assert served.headers["content-type"] == "application/octet-stream", "never rendered in the console's origin"
        assert served.headers["x-content-type-options"] == "nosniff"
        page.close()
