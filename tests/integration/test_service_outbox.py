"""Replies leave through the outbox: signed webhooks and SMTP, retries with backoff, no double send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from liuyu.channels.outbound import default_adapters
from liuyu.services import accounts, inbox
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.server import free_port

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class Receiver(ThreadingHTTPServer):
    """A channel bridge: records every attempt and keeps one message per idempotency key."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.attempts: list[tuple[dict[str, str], bytes]] = []
        self.delivered: dict[str, bytes] = {}
        self.fail_next = 0
        self.hold = threading.Event()  # when set, requests wait for ``release`` before answering
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/replies"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.attempts.append((dict(self.headers), body))
        if self.server.hold.is_set():
            self.server.release.wait(30)
        if self.server.fail_next > 0:
            self.server.fail_next -= 1
            self.send_response(503)
        else:
            self.server.delivered.setdefault(self.headers["Idempotency-Key"], body)
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def setup(
    engine: Engine, target: str, *, channel: str = "tmall", kind: str = "webhook", **sender: str
) -> tuple[int, int, str]:
    """A workspace, a channel sending to ``target``, and one conversation with a queued reply."""
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        shown = inbox.configure_channel(uow, ws, channel, outbound_kind=kind, outbound_target=target)
        line = {
            "channel": channel,
            "message_id": "m1",
            "conversation_key": "buyer-1",
            "text": "发票怎么开？",
            "sent_at": T0.isoformat(),
            "sender": sender or {"tmall_nick": "小鹿"},
        }
        report = inbox.receive_messages(
            uow, ws, [inbox.parse_chat_line(line, "test")], analyzer=lambda t: [None] * len(t)
        )
        reply = inbox.reply(uow, ws, report.conversations[0], "您好，下单时选择电子发票即可", "阿珍", now=T0)
        uow.commit()
    return ws, int(reply["id"]), str(shown["outbound_secret"])


def work(engine: Engine, at: datetime) -> inbox.OutboxReport:
    return inbox.send_outbox(lambda: SqlUnitOfWork(engine), default_adapters(), now=lambda: at)


def statuses(engine: Engine, ws: int) -> tuple[str, str | None]:
    """(outbox status, the delivery status shown on the reply)."""
    with SqlUnitOfWork(engine) as uow:
        row = uow.service.outbox_rows(ws)[0]
        conversation = uow.service.inbox(ws)[0]["id"]
        reply = next(m for m in uow.service.conversation_messages(conversation) if m["id"] == row["message_id"])
    return row["status"], reply["delivery_status"]


def test_a_reply_is_delivered_once_signed_with_the_channels_secret(engine: Engine, receiver: Receiver) -> None:
    ws, _, secret = setup(engine, receiver.url)
    assert work(engine, T0).sent == 1
    assert work(engine, T0 + timedelta(hours=2)).claimed == 0
    [(headers, body)] = receiver.attempts
    assert inbox.signature_ok(secret, body, headers[inbox.SIGNATURE_HEADER])
    assert json.loads(body)["text"] == "您好，下单时选择电子发票即可"
    assert statuses(engine, ws) == ("sent", "sent")


def test_a_failed_send_is_retried_after_a_growing_delay(engine: Engine, receiver: Receiver) -> None:
    ws, _, _ = setup(engine, receiver.url)
    receiver.fail_next = 2
    assert work(engine, T0).retrying == 1
    assert statuses(engine, ws) == ("pending", "retrying")
    assert work(engine, T0 + timedelta(seconds=29)).claimed == 0
    assert work(engine, T0 + timedelta(seconds=31)).retrying == 1
    assert work(engine, T0 + timedelta(seconds=31 + 59)).claimed == 0  # the second delay is twice the first
    assert work(engine, T0 + timedelta(seconds=31 + 61)).sent == 1
    assert len(receiver.attempts) == 3
    assert len(receiver.delivered) == 1
    assert statuses(engine, ws) == ("sent", "sent")


def test_a_send_that_keeps_failing_ends_as_failed_on_the_message(engine: Engine) -> None:
    ws, _, _ = setup(engine, f"http://127.0.0.1:{free_port()}/nobody-listens")
    at = T0
    for _ in range(inbox.RetryPolicy().max_attempts):
        work(engine, at)
        at += timedelta(hours=2)
    assert statuses(engine, ws) == ("failed", "failed")


def test_a_reply_to_an_email_conversation_goes_out_by_smtp(engine: Engine) -> None:
    class Mailbox:
        def __init__(self) -> None:
            self.mails: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.mails.append(envelope)
            return "250 OK"

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ws, _, _ = setup(engine, f"127.0.0.1:{port}", channel="email", kind="smtp", email="li@example.com")
        assert work(engine, T0).sent == 1
    finally:
        controller.stop()
    [mail] = mailbox.mails
    assert mail.rcpt_tos == ["li@example.com"]
    assert "X-Liuyu-Idempotency-Key" in mail.content.decode()
    assert statuses(engine, ws) == ("sent", "sent")


def test_a_worker_killed_between_send_and_mark_never_delivers_twice(
    engine: Engine, db_url: str, receiver: Receiver
) -> None:
    ws, _, _ = setup(engine, receiver.url)
    receiver.hold.set()
    env = {**os.environ, "LIUYU_DATABASE_URL": db_url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "liuyu.cli.main", "service", "send-outbox"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not receiver.attempts and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.kill()  # the bridge has the reply; the worker dies before it can mark it sent
    worker.wait(10)
    receiver.release.set()
    receiver.hold.clear()
    assert statuses(engine, ws)[0] == "sending"
    assert work(engine, datetime.now(UTC)).claimed == 0  # the dead worker's lease still holds
    assert work(engine, datetime.now(UTC) + inbox.RetryPolicy().lease + timedelta(seconds=1)).sent == 1
    keys = [headers["Idempotency-Key"] for headers, _ in receiver.attempts]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert len(receiver.delivered) == 1
    assert statuses(engine, ws) == ("sent", "sent")
