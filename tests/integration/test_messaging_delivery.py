"""Queued sends leave through real local servers: an SMS gateway and a WeChat template API over the
generic HTTP adapter, a signed webhook, SMTP; retries, failures, and a worker killed mid-send."""

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
from sqlalchemy import Engine, select

from liuyu.jobs.outbox import deliver_pass
from liuyu.services import inbox, messaging_setup
from liuyu.services.inbox import RetryPolicy
from liuyu.storage.service_tables import outbox
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.server import free_port
from tests.integration.messaging_fixtures import T0, Shop, open_shop


class Gateway(ThreadingHTTPServer):
    """A provider's HTTP API: records every call, answers from a script, keeps one per idempotency key."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.calls: list[tuple[str, dict[str, str], Any]] = []
        self.delivered: dict[str, Any] = {}
        self.answers: list[tuple[int, dict[str, Any]]] = []  # consumed first; then 200 {"Code": "OK"}
        self.hold = threading.Event()
        self.release = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.loads(raw)
        self.server.calls.append((self.path, dict(self.headers), body))
        if self.server.hold.is_set():
            self.server.release.wait(30)
        status, answer = self.server.answers.pop(0) if self.server.answers else (200, {"Code": "OK", "errcode": 0})
        if status == 200 and answer.get("Code", "OK") == "OK":
            self.server.delivered.setdefault(self.headers["Idempotency-Key"], (raw, dict(self.headers)))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(engine: Engine, gateway: Gateway) -> Shop:
    shop = open_shop(engine, sms_url=gateway.url("/sms"))
    shop.opt_in(shop.alice)
    return shop


def deliver(engine: Engine, at: datetime) -> inbox.OutboxReport:
    return deliver_pass(engine, at)


def status_of(shop: Shop, customer: int) -> list[tuple[str | None, str | None]]:
    return [(s["delivery_status"], s["last_error"]) for s in shop.sends(customer)]


def test_an_sms_goes_through_the_providers_http_api_with_its_body_mapping_and_key(shop: Shop, gateway: Gateway) -> None:
    decision = shop.send(shop.alice, "k1")
    assert deliver(shop.engine, T0).sent == 1
    assert deliver(shop.engine, T0 + timedelta(hours=1)).claimed == 0
    [(path, headers, body)] = gateway.calls
    assert path == "/sms" and headers["X-Api-Key"] == "sk-test"
    assert body == {"phone": "13800000001", "template": "SMS_1001", "params": {"name": "小鹿"}}
    assert headers["Idempotency-Key"] == f"{shop.ws}:send:{shop.sends(shop.alice)[0]['id']}"
    assert status_of(shop, shop.alice) == [("sent", None)]
    assert shop.sends(shop.alice)[0]["outbox_id"] == decision.outbox_id


def test_a_throttled_send_is_retried_with_backoff_and_a_refused_one_fails_with_the_reason(
    shop: Shop, gateway: Gateway
) -> None:
    shop.send(shop.alice, "k1")
    gateway.answers = [(200, {"Code": "Throttling"}), (503, {})]
    assert deliver(shop.engine, T0).retrying == 1
    assert status_of(shop, shop.alice)[0][0] == "retrying"
    assert deliver(shop.engine, T0 + timedelta(seconds=29)).claimed == 0
    assert deliver(shop.engine, T0 + timedelta(seconds=31)).retrying == 1
    assert deliver(shop.engine, T0 + timedelta(seconds=31 + 61)).sent == 1
    assert len(gateway.calls) == 3 and len(gateway.delivered) == 1
    shop.send(shop.alice, "k2", purpose="transactional")
    gateway.answers = [(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL"})]
    assert deliver(shop.engine, T0 + timedelta(minutes=5)).failed == 1
    [failed, sent] = shop.sends(shop.alice)
    assert failed["delivery_status"] == "failed" and "MOBILE_NUMBER_ILLEGAL" in failed["last_error"]
    assert sent["delivery_status"] == "sent"


def test_a_deferred_send_waits_for_the_end_of_quiet_hours(shop: Shop, gateway: Gateway) -> None:
    late = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    decision = shop.send(shop.alice, "late", now=late)
    assert decision.not_before is not None
    assert deliver(shop.engine, decision.not_before - timedelta(minutes=1)).claimed == 0
    assert deliver(shop.engine, decision.not_before).sent == 1


def test_a_wechat_template_message_fills_the_template_ids_data(engine: Engine, gateway: Gateway) -> None:
    shop = open_shop(engine)
    with SqlUnitOfWork(engine) as uow:
        messaging_setup.configure_provider(
            uow,
            shop.ws,
            "wechat_template",
            kind="http",
            name="公众号模板消息",
            config={
                "url": gateway.url("/cgi-bin/message/template/send?access_token=TOKEN"),
                "auth": {"type": "basic", "username": "relay", "password": "pw"},
                "body": {
                    "touser": "{{to}}",
                    "template_id": "{{template_code}}",
                    "data": {"thing1": {"value": "{{product}}"}, "time2": {"value": "{{expires}}"}},
                },
                "success": {"status": [200], "field": "errcode", "equals": [0]},
            },
        )
        messaging_setup.save_template(
            uow, shop.ws, "wechat_template", "积分到期", body="{{product}} {{expires}}", provider_template="TPL-88"
        )
        uow.commit()
    decision = shop.send(
        shop.alice,
        "w1",
        channel="wechat_template",
        template="积分到期",
        purpose="service",
        product="坚果礼盒",
        expires="3月31日",
    )
    assert decision.queued
    assert deliver(engine, T0).sent == 1
    [(path, headers, body)] = gateway.calls
    assert path.startswith("/cgi-bin/message/template/send") and headers["Authorization"].startswith("Basic ")
    assert body == {
        "touser": "oAlice",
        "template_id": "TPL-88",
        "data": {"thing1": {"value": "坚果礼盒"}, "time2": {"value": "3月31日"}},
    }


def test_a_webhook_send_is_signed_with_the_providers_secret(engine: Engine, gateway: Gateway) -> None:
    shop = open_shop(engine)
    with SqlUnitOfWork(engine) as uow:
        shown = messaging_setup.configure_provider(
            uow, shop.ws, "webhook", kind="webhook", name="CRM", config={"url": gateway.url("/hooks/liuyu")}
        )
        messaging_setup.save_template(uow, shop.ws, "webhook", "复购提醒", body="{{name}}该复购了")
        uow.commit()
    shop.opt_in(shop.bob, "webhook")
    assert shop.send(shop.bob, "h1", channel="webhook", name="阿布").queued
    assert deliver(engine, T0).sent == 1
    [(raw, headers)] = gateway.delivered.values()
    assert inbox.signature_ok(shown["secret"], raw, headers[inbox.SIGNATURE_HEADER])
    assert json.loads(raw)["customer_id"] == shop.bob and json.loads(raw)["text"] == "阿布该复购了"


def test_an_email_goes_out_by_smtp_with_its_subject(engine: Engine) -> None:
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
        shop = open_shop(engine, smtp_port=port)
        shop.opt_in(shop.alice, "email")
        assert shop.send(shop.alice, "e1", channel="email").queued
        assert deliver(engine, T0).sent == 1
    finally:
        controller.stop()
    [mail] = mailbox.mails
    text = mail.content.decode()
    assert mail.rcpt_tos == ["alice@example.com"] and "X-Liuyu-Idempotency-Key" in text
    assert status_of(shop, shop.alice) == [("sent", None)]


def test_two_workers_share_the_queue_and_send_each_message_once(shop: Shop, gateway: Gateway) -> None:
    with SqlUnitOfWork(shop.engine) as uow:
        messaging_setup.change_guardrails(uow, shop.ws, {"caps": []})
        uow.commit()
    for n in range(12):
        assert shop.send(shop.alice, f"k{n}").queued
    reports: list[inbox.OutboxReport] = []
    workers = [
        threading.Thread(target=lambda: reports.append(deliver_pass(shop.engine, T0, limit=3))) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    while deliver(shop.engine, T0).claimed:
        pass
    keys = [headers["Idempotency-Key"] for _, headers, _ in gateway.calls]
    assert len(keys) == 12 and len(set(keys)) == 12
    assert {s for s, _ in status_of(shop, shop.alice)} == {"sent"}


def test_a_worker_killed_between_send_and_mark_never_sends_twice_nor_drops_the_message(
    shop: Shop, gateway: Gateway, db_url: str
) -> None:
    with SqlUnitOfWork(shop.engine) as uow:
        messaging_setup.change_guardrails(uow, shop.ws, {"quiet_hours": None})  # the worker runs on the wall clock
        uow.commit()
    shop.send(shop.alice, "k1", now=datetime.now(UTC))
    gateway.hold.set()
    env = {**os.environ, "LIUYU_DATABASE_URL": db_url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "liuyu.cli.main", "messaging", "deliver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not gateway.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.kill()  # the gateway has the message; the worker dies before it can mark it sent
    worker.wait(10)
    gateway.release.set()
    gateway.hold.clear()
    with shop.engine.connect() as conn:
        assert conn.execute(select(outbox.c.status)).scalar_one() == "sending"
    assert deliver(shop.engine, datetime.now(UTC)).claimed == 0  # the dead worker's lease still holds
    assert deliver(shop.engine, datetime.now(UTC) + RetryPolicy().lease + timedelta(seconds=1)).sent == 1
    keys = [headers["Idempotency-Key"] for _, headers, _ in gateway.calls]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert len(gateway.delivered) == 1
    assert status_of(shop, shop.alice) == [("sent", None)]
