"""HTTP ingestion through uvicorn on loopback, batches of 100 events.

Starts `liuyu serve` on a fresh SQLite database in a subprocess, sends batches from client threads,
and prints events/s and p95 latency, with the ratio to an empty `/healthz` round trip measured in
the same run (the cost of HTTP itself). Run: .venv/bin/python -m bench.http_ingest [BATCHES]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx

from bench.common import p95, report, scale

CLIENTS = 4
BATCH = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def batch(n: int) -> dict[str, object]:
    return {
        "batch": [
            {
                "type": "track",
                "event": "product_viewed" if k % 4 else "order_paid",
                "id": f"b{n}-{k}",
                "timestamp": "2026-11-11T10:00:00+08:00",
                "channel": "app",
                "identifiers": {"app_user_id": f"u{(n * BATCH + k) % 20000}"},
                "properties": {"sku": "NUT-30"},
                **({} if k % 4 else {"order": {"order_id": f"o{n}-{k}", "total": "99.00"}}),
            }
            for k in range(BATCH)
        ]
    }


def main() -> None:
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else scale(1000)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LIUYU_DATABASE_URL": f"sqlite:///{tmp}/http.db"}
        cli = [sys.executable, "-m", "liuyu.cli.main"]
        subprocess.run(
            [*cli, "init", "--workspace", "bench", "--password", "bench-bench"],
            env=env,
            check=True,
            capture_output=True,
        )
        key = subprocess.run(
            [*cli, "keys", "create", "--workspace", "bench", "--source", "app"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        port = free_port()
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            payloads = [batch(n) for n in range(batches)]
            latencies: list[float] = []
            lock = threading.Lock()

            def worker(part: list[dict[str, object]]) -> None:
                with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                    for body in part:
                        start = time.perf_counter()
                        response = client.post(f"{url}/api/v1/events", json=body)
                        took = time.perf_counter() - start
                        response.raise_for_status()
                        with lock:
                            latencies.append(took * 1000)

            threads = [threading.Thread(target=worker, args=(payloads[i::CLIENTS],)) for i in range(CLIENTS)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            health = []
            with httpx.Client() as client:
                for _ in range(200):
                    start = time.perf_counter()
                    client.get(f"{url}/healthz")
                    health.append((time.perf_counter() - start) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"http ingest: {batches * BATCH / elapsed:,.0f} events/s over {batches:,} batches of {BATCH} "
        f"from {CLIENTS} clients"
    )
    report("http ingest latency", p95(latencies), "ms p95 per batch", "/healthz round trip", p95(health))


if __name__ == "__main__":
    main()
