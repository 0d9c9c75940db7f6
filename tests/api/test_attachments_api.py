"""Attachments over HTTP: carried by webhooks in base64, checked, stored once outside the database,
downloaded only as inert files, and only by their own workspace."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.api.conftest import Api
from tests.api.test_conversations_api import channel_secret, chat, post_signed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture(autouse=True)
def attachment_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "files"
    monkeypatch.setenv("LIUYU_ATTACHMENT_DIR", str(folder))
    monkeypatch.setenv("LIUYU_ATTACHMENT_MAX_BYTES", "1000")
    return folder


def with_file(n: int, name: str, kind: str, data: bytes) -> dict[str, object]:
    files = [{"filename": name, "content_type": kind, "data": base64.b64encode(data).decode()}]
    return chat(n, "图片里是破损的地方", key="buyer-1") | {"attachments": files}


def test_a_webhook_attachment_is_stored_once_and_served_as_a_download(api: Api, attachment_dir: Path) -> None:
    secret = channel_secret(api, api.qimu.id)
    first = post_signed(api, secret, with_file(1, "破损.png", "image/png", PNG))
    again = post_signed(api, secret, with_file(1, "破损.png", "image/png", PNG))
    assert (first.json()["attachments"], again.json()["attachments"]) == (1, 0)
    mine = api.headers(api.qimu.agent_key)
    cid = api.client.get("/api/v1/conversations", headers=mine).json()["conversations"][0]["id"]
    (listed,) = api.client.get(f"/api/v1/service/conversations/{cid}/attachments", headers=mine).json()["attachments"]
    assert (listed["filename"], listed["content_type"], listed["size"]) == ("破损.png", "image/png", len(PNG))
    assert len([p for p in attachment_dir.rglob("*") if p.is_file()]) == 1, "bytes live on disk, once"

    got = api.client.get(listed["url"], headers=mine)
    assert got.content == PNG
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    theirs = api.headers(api.other.admin_key)
    assert api.client.get(listed["url"], headers=theirs).status_code == 404
    assert api.client.get(f"/api/v1/service/conversations/{cid}/attachments", headers=theirs).status_code == 404


@pytest.mark.parametrize(
    ("name", "kind", "data", "field"),
    [
        ("page.html", "text/html", b"<script>alert(1)</script>", "content_type"),
        ("setup.exe", "application/pdf", b"MZ....", "filename"),
        ("big.png", "image/png", PNG * 30, "data"),
    ],
)
def test_a_forbidden_or_oversized_attachment_is_refused_naming_the_file(
    api: Api, name: str, kind: str, data: bytes, field: str
) -> None:
    secret = channel_secret(api, api.qimu.id)
    refused = post_signed(api, secret, with_file(1, name, kind, data))
    assert refused.status_code == 400
    assert refused.json()["error"]["where"] == "messages[0].attachments[0]"
    assert refused.json()["error"]["field"] == field
    assert (
        api.client.get("/api/v1/conversations", headers=api.headers(api.qimu.agent_key)).json()["conversations"] == []
    )
