"""`make bench`: every benchmark in turn; each prints its figure and a same-run baseline ratio.

Sizes follow the issues (1,000,000 events, …); set LIUYU_BENCH_SCALE=0.1 for a quick run.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.ingest",
    "bench.identity",
    "bench.customer360",
    "bench.http_ingest",
    "bench.ingest_sql",
    "bench.segments",
    "bench.segment_upkeep",
    "bench.loyalty",
    "bench.loyalty_http",
    "bench.journeys",
    "bench.copurchase",
    "bench.messaging",
    "bench.nlp_lexical",
    "bench.nlp_retrieval",
    "bench.tickets",
    "bench.service_inbox",
    "bench.customer_card",
    "bench.knowledge_suggest",
]


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        failed += subprocess.run([sys.executable, "-m", module]).returncode != 0
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
