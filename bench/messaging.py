"""Messaging: marketing send decisions per second through every guardrail, and delivered sends per
second through the outbox worker to a local HTTP SMS gateway.

Seeds N customers (default 1,000 × LIUYU_BENCH_SCALE) with a phone, an SMS opt-in and one earlier
marketing send, then
- decides one marketing SMS per customer with ``request_send``, 100 per transaction, one call a
  send; then, on a second database seeded the same, with ``request_send_many`` in batches of 500
  (one batch a transaction, as a journey step does) (baseline for both: inserting the same number
  of outbox rows directly, the floor of any queue);
- delivers them with the outbox job in passes of 100 to a local HTTP server (baseline: the same
  number of bare POSTs to that server through one httpx client, the floor of any HTTP delivery).
Run: .venv/bin/python -m bench.messaging [N]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import Engine, insert

from bench.common import fresh_database, pg_available, report, scale
from liuyu.jobs.outbox import deliver_pass
from liuyu.services import accounts, messaging_setup
from liuyu.services.messaging import SendRequest, request_send, request_send_many
from liuyu.storage import tables as t
from liuyu.storage.messaging_tables import messaging_consents, messaging_sends
from liuyu.storage.service_tables import outbox
from liuyu.storage.uow import SqlUnitOfWork

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, outside quiet hours
PER_TRANSACTION = 100
BATCH = 500


class Gateway(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"Code": "OK"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def seed(engine: Engine, n: int, url: str) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "bench", now=NOW)
        messaging_setup.configure_provider(
            uow,
            ws,
            "sms",
            kind="http",
            name="gateway",
            config={"url": url, "body": {"phone": "{{to}}", "text": "{{text}}"}, "success": {"status": [200]}},
            now=NOW,
        )
        messaging_setup.save_template(uow, ws, "sms", "复购", body="{{name}}您好，送您优惠券", now=NOW)
        uow.commit()
    ids = range(1, n + 1)
    week_ago = NOW - timedelta(days=3)
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            chunk = ids[start : start + 5000]
            conn.execute(insert(t.customers), [{"id": i, "workspace_id": ws, "anchor_seq": i} for i in chunk])
            conn.execute(
                insert(t.identifiers),
                [
                    {
                        "workspace_id": ws,
                        "kind": "phone",
                        "value": f"+86138{i:08d}",
                        "customer_id": i,
                        "verified": True,
                        "first_seq": i,
                    }
                    for i in chunk
                ],
            )
            conn.execute(
                insert(messaging_consents),
                [
                    {
                        "workspace_id": ws,
                        "customer_id": i,
                        "channel": "sms",
                        "status": "opt_in",
                        "at": NOW - timedelta(days=30),
                        "source": "bench",
                        "evidence": "☑",
                        "recorded_by": "bench",
                        "recorded_at": NOW,
                    }
                    for i in chunk
                ],
            )
            conn.execute(
                insert(messaging_sends),
                [
                    {
                        "workspace_id": ws,
                        "customer_id": i,
                        "channel": "sms",
                        "template": "复购",
                        "purpose": "marketing",
                        "source": "bench",
                        "idempotency_key": f"old-{i}",
                        "decision": "queued",
                        "detail": "",
                        "delivery_status": "sent",
                        "decided_at": week_ago,
                    }
                    for i in chunk
                ],
            )
    return ws


def decide_all(engine: Engine, ws: int, n: int) -> float:
    start = time.perf_counter()
    for first in range(1, n + 1, PER_TRANSACTION):
        with SqlUnitOfWork(engine) as uow:
            for customer in range(first, min(first + PER_TRANSACTION, n + 1)):
                request = SendRequest(
                    ws, customer, "sms", "复购", {"name": "小鹿"}, "marketing", "bench", f"k{customer}"
                )
                assert request_send(uow, request, now=NOW).queued
            uow.commit()
    return time.perf_counter() - start


def decide_batches(engine: Engine, ws: int, n: int) -> float:
    start = time.perf_counter()
    for first in range(1, n + 1, BATCH):
        requests = [
            SendRequest(ws, customer, "sms", "复购", {"name": "小鹿"}, "marketing", "bench", f"k{customer}")
            for customer in range(first, min(first + BATCH, n + 1))
        ]
        with SqlUnitOfWork(engine) as uow:
            assert all(d.queued for d in request_send_many(uow, requests, now=NOW))
            uow.commit()
    return time.perf_counter() - start


def insert_outbox_rows(engine: Engine, ws: int, n: int) -> float:
    start = time.perf_counter()
    for first in range(0, n, PER_TRANSACTION):
        with engine.begin() as conn:
            for i in range(first, min(first + PER_TRANSACTION, n)):
                conn.execute(
                    insert(outbox).values(
                        workspace_id=ws,
                        route="baseline",
                        channel="sms",
                        idempotency_key=f"baseline-{i}",
                        payload={"to": f"+86138{i:08d}", "text": "您好"},
                        status="pending",
                        attempts=0,
                        next_attempt_at=NOW,
                        created_at=NOW,
                    )
                )
    return time.perf_counter() - start


def run(kind: str, n: int, tmp: str, url: str) -> None:
    with fresh_database(kind, tmp) as engine:
        ws = seed(engine, n, url)
        decided = decide_all(engine, ws, n)
        floor = insert_outbox_rows(engine, ws, n)
        report(f"messaging decide [{kind}, {n:,}]", n / decided, "sends/s", "outbox insert", n / floor)
        with fresh_database(kind, tmp) as other:
            batched = decide_batches(other, seed(other, n, url), n)
        report(
            f"messaging decide, batches of {BATCH} [{kind}, {n:,}]", n / batched, "sends/s", "outbox insert", n / floor
        )
        start = time.perf_counter()
        sent = 0
        while (done := deliver_pass(engine, NOW + timedelta(seconds=1))).claimed:
            sent += done.sent
        delivered = time.perf_counter() - start
        assert sent == n, (sent, n)
        start = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            for i in range(n):
                client.post(url, json={"phone": f"+86138{i:08d}", "text": "您好"})
        bare = time.perf_counter() - start
        report(f"messaging deliver [{kind}, {n:,}]", n / delivered, "sends/s", "bare POST, one client", n / bare)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else scale(1_000)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", n, tmp, url)
        if pg_available():
            run("postgresql", n, tmp, url)
        else:
            print("messaging [postgresql]: skipped, PostgreSQL not reachable")
    server.shutdown()


if __name__ == "__main__":
    main()
