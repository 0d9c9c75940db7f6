"""Inbound email through a real SMTP listener on loopback: threads, dedupe, HTML bodies, attachments."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from liuyu.channels.email_inbound import serve
from liuyu.services import accounts, inbox
from liuyu.services.attachments import AttachmentLimits
from liuyu.services.email_inbound import ParsedMail, receive_mail
from liuyu.storage.attachment_blobs import DirectoryBlobs
from liuyu.storage.uow import SqlUnitOfWork

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def quiet(texts: list[str]) -> list[dict[str, Any] | None]:
    return [None for _ in texts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def listener(engine: Engine, tmp_path: Path) -> Iterator[tuple[int, int, DirectoryBlobs]]:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    blobs = DirectoryBlobs(tmp_path / "attachments")

    def store(mail: ParsedMail) -> dict[str, Any]:
        return receive_mail(lambda: SqlUnitOfWork(engine), blobs, ws, mail, analyzer=quiet)

    port = free_port()
    controller = serve(store, AttachmentLimits(max_bytes=1024), "127.0.0.1", port)
    yield ws, port, blobs
    controller.stop()


def send(port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail)


def first_mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "小鹿 <XiaoLu@Example.com>"
    mail["To"] = "service@qimu.cn"
    mail["Subject"] = "椅子坏了"
    mail["Message-ID"] = "<m1@example.com>"
    mail["Date"] = "Sun, 01 Mar 2026 10:00:00 +0800"
    mail.set_content("收到的椅子腿断了，照片见附件")
    mail.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="椅子.jpg")
    mail.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="look.html")
    return mail


def conversation(engine: Engine, ws: int) -> dict[str, Any]:
    with SqlUnitOfWork(engine) as uow:
        rows = uow.service.inbox(ws)
        assert len(rows) == 1, rows
        view = inbox.conversation_view(uow, ws, rows[0]["id"])
        view["attachments"] = uow.quality.message_attachments(ws, [m["id"] for m in view["messages"]])
        return view


def test_a_mail_becomes_one_message_with_its_attachment_even_when_delivered_twice(engine: Engine, listener) -> None:  # type: ignore[no-untyped-def]
    ws, port, blobs = listener
    send(port, first_mail())
    send(port, first_mail())
    view = conversation(engine, ws)
    (message,) = view["messages"]
    assert message["text"] == "椅子坏了\n\n收到的椅子腿断了，照片见附件"
    assert message["external_id"] == "m1@example.com"
    assert view["conversation"]["reply_to"] == "xiaolu@example.com"
    assert view["conversation"]["customer_id"] is not None
    (photo,) = view["attachments"]  # the HTML file was refused, the photo kept once
    assert (photo["filename"], photo["content_type"], photo["size"]) == ("椅子.jpg", "image/jpeg", len(JPEG))
    assert blobs.path(photo["sha256"]).read_bytes() == JPEG


def test_a_reply_to_our_answer_joins_the_thread_and_html_is_read_as_text(engine: Engine, listener) -> None:  # type: ignore[no-untyped-def]
    ws, port, _ = listener
    send(port, first_mail())
    conversation_id = conversation(engine, ws)["conversation"]["id"]
    with SqlUnitOfWork(engine) as uow:
        inbox.reply(uow, ws, conversation_id, "抱歉，已为您补发", "alice", idempotency_key="r1")
        uow.commit()
    answer = EmailMessage()
    answer["From"] = "xiaolu@example.com"
    answer["To"] = "service@qimu.cn"
    answer["Subject"] = "Re: 椅子坏了"
    answer["Message-ID"] = "<m2@example.com>"
    answer["In-Reply-To"] = f"<{ws}.r1@liuyu>"  # the Message-ID our SMTP adapter gave the reply
    answer.set_content(
        "<html><head><style>p{}</style></head><body><p>好的，谢谢</p><script>x()</script></body></html>", subtype="html"
    )
    send(port, answer)
    view = conversation(engine, ws)
    assert [m["text"] for m in view["messages"] if m["direction"] == "in"] == [
        "椅子坏了\n\n收到的椅子腿断了，照片见附件",
        "好的，谢谢",
    ]


def test_a_mail_without_a_sender_address_is_refused_with_a_reason(engine: Engine, listener) -> None:  # type: ignore[no-untyped-def]
    _, port, _ = listener
    mail = EmailMessage()
    mail["From"] = "nobody"
    mail["To"] = "service@qimu.cn"
    mail["Message-ID"] = "<m9@example.com>"
    mail.set_content("hello")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, mail)
    assert refused.value.smtp_code == 550 and b"From" in refused.value.smtp_error


def test_liuyu_service_smtp_listens_until_stopped(engine: Engine, db_url: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    port = free_port()
    env = {**os.environ, "LIUYU_DATABASE_URL": db_url, "LIUYU_WORKSPACE": "qimu"}
    env["LIUYU_ATTACHMENT_DIR"] = str(tmp_path / "files")
    command = [sys.executable, "-m", "liuyu.cli.main", "service", "smtp", "--port", str(port), "--no-analyze"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        assert "listening for mail" in server.stdout.readline()
        send(port, first_mail())
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert conversation(engine, ws)["attachments"][0]["filename"] == "椅子.jpg"
    assert len(list((tmp_path / "files").rglob("*"))) == 2, "one directory, one file"
