"""Erasing a customer removes their attachments: the rows, and the files nobody else sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from liuyu.services.attachments import IncomingFile, attach
from liuyu.services.privacy import erase_customer
from liuyu.storage.attachment_blobs import DirectoryBlobs
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_knowledge_base import chat, workspace  # noqa: F401  (the fixture)

RECEIPT = IncomingFile("发票-小鹿.pdf", "application/pdf", b"%PDF-1.4 receipt of xiaolu")
MANUAL = IncomingFile("说明书.pdf", "application/pdf", b"%PDF-1.4 the same manual everyone sends")


def with_files(engine: Engine, ws: int, blobs: DirectoryBlobs, key: str, nick: str, files: list[IncomingFile]) -> int:
    conversation_id = chat(engine, ws, key, [("customer", "看一下附件")], status="open", nick=nick)
    with SqlUnitOfWork(engine) as uow:
        (message,) = uow.service.conversation_messages(conversation_id)
        attach(uow, blobs, ws, int(message["id"]), files)
        uow.commit()
    return conversation_id


def test_erasing_a_customer_deletes_their_files_but_keeps_one_another_customer_also_sent(
    engine: Engine,
    workspace: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    blobs = DirectoryBlobs(tmp_path / "files")
    mine = with_files(engine, workspace, blobs, "xiaolu", "小鹿", [RECEIPT, MANUAL])
    theirs = with_files(engine, workspace, blobs, "xiaoman", "小满", [MANUAL])
    with SqlUnitOfWork(engine) as uow:
        receipt, manual = uow.quality.message_attachments(
            workspace, [m["id"] for m in uow.service.conversation_messages(mine)]
        )
    assert blobs.path(receipt["sha256"]).exists() and blobs.path(manual["sha256"]).exists()

    with SqlUnitOfWork(engine) as uow:
        customer = uow.service.conversation(workspace, mine)["customer_id"]
        done = erase_customer(uow, workspace, customer, actor="user:dpo", blobs=blobs)
        uow.commit()

    assert (done["attachments"], done["attachment_files"]) == (2, 1)
    assert not blobs.path(receipt["sha256"]).exists(), "the erased customer's own file is gone from disk"
    assert blobs.path(manual["sha256"]).exists(), "the same content is still another customer's attachment"
    with SqlUnitOfWork(engine) as uow:
        assert uow.quality.attachment(workspace, receipt["id"]) is None
        assert uow.quality.attachment(workspace, manual["id"]) is None
        assert [m["text"] for m in uow.service.conversation_messages(mine)] == ["[erased]"]
        kept = uow.quality.message_attachments(workspace, [m["id"] for m in uow.service.conversation_messages(theirs)])
    assert [a["filename"] for a in kept] == ["说明书.pdf"]

    with SqlUnitOfWork(engine) as uow:
        other = uow.service.conversation(workspace, theirs)["customer_id"]
        done = erase_customer(uow, workspace, other, actor="user:dpo", blobs=blobs)
        uow.commit()
    assert (done["attachments"], done["attachment_files"]) == (1, 1)
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == [], "no file left once nobody refers to it"


def test_liuyu_customers_erase_deletes_the_file_from_the_configured_folder(
    engine: Engine,
    db_url: str,
    workspace: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    blobs = DirectoryBlobs(tmp_path / "files")
    mine = with_files(engine, workspace, blobs, "xiaolu", "小鹿", [RECEIPT])
    with SqlUnitOfWork(engine) as uow:
        customer = uow.service.conversation(workspace, mine)["customer_id"]
    env = {
        **os.environ,
        "LIUYU_DATABASE_URL": db_url,
        "LIUYU_ATTACHMENT_DIR": str(tmp_path / "files"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "liuyu.cli.main", "customers", "erase", str(customer), "--workspace", "qimu", "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "1 attachments, 1 files" in done.stdout
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
