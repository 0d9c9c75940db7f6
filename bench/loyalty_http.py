"""Redemption latency over HTTP: 50 concurrent clients against `liuyu serve` (uvicorn) on PostgreSQL.

Loads MEMBERS members (each paid one order on the mini-program, points available at once) and one
coupon each into a fresh PostgreSQL schema, starts the server in a subprocess, and has 50 client
threads send, in turn and each phase under the same load: `GET /healthz` (the cost of HTTP and the
server itself), `GET /api/v1/members/{id}` (the member card, a read that replays the member),
`POST …/redeem` (spend 1 point; every client on its own members) and `POST /api/v1/coupons/{code}/redeem`;
then one client alone, over HTTP and calling the services in process.
Prints p50 and p95 per phase and the ratio of the redemptions' p95 to the baselines' (target: p95
≤ 30 ms for redemptions).
Run: .venv/bin/python -m bench.loyalty_http [REQUESTS_PER_PHASE]   (default 2,000 × LIUYU_BENCH_SCALE)
     LIUYU_BENCH_LOYALTY_MEMBERS=2000 sets the members loaded; LIUYU_BENCH_SERVER_WORKERS the uvicorn workers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from bench.common import fresh_database, pg_available, scale
from bench.http_ingest import free_port
from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.services import accounts, loyalty
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork

CLIENTS = 50
PACED_RATE = float(os.environ.get("LIUYU_BENCH_LOYALTY_RATE", "100"))  # requests/s from all clients together
HISTORY = 400  # redemptions by one member, in process: does the cost grow with its history?
PROGRAM = """
code: BENCH
return_window_days: 0
tiers: [{code: MEMBER, threshold: 0}, {code: GOLD, threshold: 5000}]
rules: [{id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2020-01-01T00:00:00+08:00"}]
coupon_templates: [{code: TEN, kind: amount_off, amount_off: 10, valid_days: 30}]
"""

Request = Callable[[httpx.Client, int], httpx.Response]


def order_event(n: int, at: datetime) -> Event:
    amount = Decimal(500 + n % 500)
    identifier = make_identifier("phone", f"+86139{n:08d}")
    assert identifier is not None
    snapshot = Order(
        platform="miniprogram",
        order_id=f"MP-{n}",
        status="paid",
        total=amount,
        paid=amount,
        placed_at=at,
        paid_at=at,
        lines=(OrderLine(title="坚果礼盒", sku="NUT-1", category="坚果", amount=amount),),
    )
    return Event(
        source="miniprogram",
        external_id=f"MP-{n}:paid",
        type="order_paid",
        occurred_at=at,
        channel="miniprogram",
        identifiers=(identifier,),
        order=snapshot,
    )


def load(engine: object, members: int) -> tuple[str, list[int], list[str]]:
    """The workspace with its program, members with points, one coupon each; returns an operator key."""
    at = datetime.now(UTC) - timedelta(days=1)
    with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
        ws = uow.accounts.create_workspace("bench", "bench", at)
        key = accounts.create_api_key(uow.accounts, ws, "bench", "operator")
        loyalty.set_program(uow, ws, PROGRAM, actor="bench", at=at)
        uow.commit()
    events = [order_event(n, at) for n in range(members)]
    for start in range(0, members, 1000):
        with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
            ingest_events(uow.ingest, ws, events[start : start + 1000], now=at, projections=uow.projections())
            uow.commit()
    with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
        ids = [m["customer_id"] for m in uow.loyalty.members(ws)]
        made = loyalty.issue_coupons(uow, ws, "TEN", ids, at=at, batch="bench")
        uow.commit()
    return key, ids, [c["code"] for c in made]


def in_process(engine: object, ids: list[int], requests: int) -> dict[str, list[float]]:
    """One client calling the services directly (no HTTP): the figures least moved by the machine's load."""
    at = datetime.now(UTC)
    with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
        ws = uow.accounts.workspace_by_slug("bench")["id"]  # type: ignore[index]
        codes = [c["code"] for c in loyalty.issue_coupons(uow, ws, "TEN", ids, at=at, batch="in-process")]
        uow.commit()

    def points(n: int) -> None:
        with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
            loyalty.redeem(uow, ws, ids[n % len(ids)], points=1, request_id=f"P-{n}", at=datetime.now(UTC))
            uow.commit()

    def coupon(n: int) -> None:
        with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
            loyalty.redeem_coupon(
                uow,
                ws,
                codes[n % len(codes)],
                customer_id=ids[n % len(ids)],
                order_id=f"P-{n}",
                channel="app",
                lines=[(Decimal("99.00"), None)],
                at=datetime.now(UTC),
            )
            uow.commit()

    def one_member(n: int) -> None:  # its history grows by a fact and an entry each time
        with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
            loyalty.redeem(uow, ws, ids[0], points=1, request_id=f"H-{n}", at=datetime.now(UTC))
            uow.commit()

    out: dict[str, list[float]] = {}
    calls = (("redeem points, in process", points), ("redeem coupon, in process", coupon), ("one member", one_member))
    for name, call in calls:
        samples = []
        for n in range(min(requests, len(ids)) if call is not one_member else HISTORY):
            start = time.perf_counter()
            call(n)
            samples.append((time.perf_counter() - start) * 1000)
        out[name] = samples
    out[f"one member's last 50 of {HISTORY}"] = out.pop("one member")[-50:]
    return out


def phase(
    url: str, key: str, requests: int, send: Request, clients: int = CLIENTS, rate: float | None = None
) -> list[float]:
    """Milliseconds per request, ``clients`` threads each sending its share back to back, or, with
    ``rate``, on a fixed schedule adding up to ``rate`` requests/s. A paced request's latency counts
    from when it was due, so a server that falls behind is charged for the wait too."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)  # clients are built (each makes an SSL context) before the clock starts
    begin = 0.0

    def client(i: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
            ready.wait()
            for n in range(i, requests, clients):
                start = time.perf_counter()
                if rate is not None:
                    due = begin + n / rate
                    if due > start:
                        time.sleep(due - start)
                    start = due
                response = send(http, n)
                mine.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    failures.append(response.status_code)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter() + 0.1
    ready.wait()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return latencies


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else scale(2000)
    members = int(os.environ.get("LIUYU_BENCH_LOYALTY_MEMBERS", "2000"))
    workers = os.environ.get("LIUYU_BENCH_SERVER_WORKERS", "1")
    if not pg_available():
        print("loyalty http: skipped (PostgreSQL not reachable)")
        return
    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", tmp) as engine:
        key, ids, codes = load(engine, members)
        port = free_port()
        env = {**os.environ, "LIUYU_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
        cli = [sys.executable, "-m", "liuyu.cli.main", "serve", "--port", str(port), "--workers", workers]
        server = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            cart = {"channel": "app", "lines": [{"amount": "99.00"}]}
            phases: dict[str, Request] = {
                "GET /healthz": lambda http, n: http.get("/healthz"),
                "GET member card": lambda http, n: http.get(f"/api/v1/members/{ids[n % len(ids)]}"),
                "POST redeem points": lambda http, n: http.post(
                    f"/api/v1/members/{ids[n % len(ids)]}/redeem", json={"points": 1, "request_id": f"R-{n}"}
                ),
                "POST redeem coupon": lambda http, n: http.post(
                    f"/api/v1/coupons/{codes[n % len(codes)]}/redeem",
                    json={**cart, "customer_id": ids[n % len(ids)], "order_id": f"O-{n % len(codes)}"},
                ),
            }
            phase(url, key, CLIENTS * 2, phases["GET member card"])  # warm up connections and caches
            results = {name: phase(url, key, requests, send) for name, send in phases.items()}
            paced = {  # the same 50 clients at a steady total rate: latency when the server keeps up
                name: phase(
                    url, key, requests, lambda http, n, send=send: send(http, 2 * requests + n), rate=PACED_RATE
                )
                for name, send in phases.items()
                if name != "GET member card"
            }
            alone = {  # one client: the service time without queueing, for reading the figures above
                name: phase(url, key, 200, lambda http, n, send=send: send(http, requests + n), clients=1)
                for name, send in phases.items()
                if name in ("GET /healthz", "POST redeem points")
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
        alone.update(in_process(engine, ids, 200))
    health = pct(results["GET /healthz"], 95)
    card = pct(results["GET member card"], 95)
    print(
        f"loyalty http (PostgreSQL, {members:,} members, {CLIENTS} clients, {requests:,} requests per phase, "
        f"{workers} uvicorn worker(s)):"
    )
    for name, samples in results.items():
        print(f"  {name:<31} p50 {pct(samples, 50):7.1f} ms  p95 {pct(samples, 95):7.1f} ms")
    for name, samples in paced.items():
        label = f"{name}, {PACED_RATE:.0f}/s"
        print(f"  {label:<31} p50 {pct(samples, 50):7.1f} ms  p95 {pct(samples, 95):7.1f} ms")
    for name, samples in alone.items():
        print(f"  {name + ', 1 client':<31} p50 {pct(samples, 50):7.1f} ms  p95 {pct(samples, 95):7.1f} ms")
    for name in ("POST redeem points", "POST redeem coupon"):
        p = pct(results[name], 95)
        print(
            f"loyalty http {name}: {p:,.1f} ms p95 | ratio to /healthz {p / health:.1f}, "
            f"to the member card {p / card:.2f} | target <= 30 ms: {'met' if p <= 30 else 'not met'} "
            f"(back to back, the server saturated)"
        )
        paced_p = pct(paced[name], 95)
        print(
            f"loyalty http {name} at {PACED_RATE:.0f} requests/s from {CLIENTS} clients: {paced_p:,.1f} ms p95 | "
            f"ratio to /healthz at that rate {paced_p / pct(paced['GET /healthz'], 95):.1f} | "
            f"target <= 30 ms: {'met' if paced_p <= 30 else 'not met'}"
        )


if __name__ == "__main__":
    main()
