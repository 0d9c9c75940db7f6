"""``liuyu kb``: import a folder of documents, ask, turn the bot on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_knowledge_base import INSTALL_HTML, RETURNS_MD


def liuyu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liuyu.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def env(engine: Engine, db_url: str) -> dict[str, str]:
    with SqlUnitOfWork(engine) as uow:
        accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    # BM25 alone keeps this test quick; the embeddings path is covered by the API tests.
    return {**os.environ, "LIUYU_DATABASE_URL": db_url, "LIUYU_WORKSPACE": "qimu", "LIUYU_KB_EMBEDDINGS": "false"}


def test_a_folder_of_documents_is_imported_and_answers_questions(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "returns.md").write_text(RETURNS_MD, encoding="utf-8")
    (tmp_path / "install.html").write_text(INSTALL_HTML, encoding="utf-8")
    (tmp_path / "broken.docx").write_bytes(b"not a zip")
    (tmp_path / "ignored.xlsx").write_bytes(b"x")

    first = liuyu(env, "kb", "import", str(tmp_path))
    assert first.returncode == 1 and "broken.docx" in first.stdout, first.stderr
    stored = json.loads(first.stdout[first.stdout.index("{") :])
    assert sorted(a["status"] for a in stored["articles"]) == ["created", "created"]

    asked = liuyu(env, "kb", "ask", "床垫试睡不满意可以退吗")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)[0]["source"] == "《售后政策》 售后政策 › 床垫试睡"

    on = liuyu(env, "kb", "bot", "tmall", "--on", "--threshold", "0.7")
    assert json.loads(on.stdout) == {"channel": "tmall", "enabled": True, "threshold": 0.7}
