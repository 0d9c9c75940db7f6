"""Erasure over HTTP reaches the attachment files: DELETE /api/v1/customers/{id} removes them from disk."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.api.conftest import Api
from tests.api.test_conversations_api import channel_secret, chat, post_signed

RECEIPT = b"%PDF-1.4 xiaolu's receipt"


def test_erasing_a_customer_over_http_deletes_their_attachment_file(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    monkeypatch.setenv("LIUYU_ATTACHMENT_DIR", str(folder))
    files = [{"filename": "发票.pdf", "content_type": "application/pdf", "data": base64.b64encode(RECEIPT).decode()}]
    post_signed(api, channel_secret(api, api.qimu.id), chat(1, "发票见附件") | {"attachments": files})
    admin = api.headers(api.qimu.admin_key)
    (conversation,) = api.client.get("/api/v1/conversations", headers=admin).json()["conversations"]
    (listed,) = api.client.get(f"/api/v1/service/conversations/{conversation['id']}/attachments", headers=admin).json()[
        "attachments"
    ]
    assert [p.read_bytes() for p in folder.rglob("*") if p.is_file()] == [RECEIPT]
    customer = api.client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()["customer"]["id"]

    erased = api.client.delete(f"/api/v1/customers/{customer}", headers=admin).json()

    assert (erased["attachments"], erased["attachment_files"]) == (1, 1)
    assert [p for p in folder.rglob("*") if p.is_file()] == [], "the file is gone from disk"
    assert api.client.get(listed["url"], headers=admin).status_code == 404
