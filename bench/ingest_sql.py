"""SQL statements and CPU per ingestion batch, the path `POST /api/v1/events` takes (figures that a
loaded machine does not blur).

Ingests warm-up batches, then batches of 100 and 1,000 typical events (liuyu.demo.bench_events)
through a unit of work with the registered projections, counting statements with the engine's
before_cursor_execute event and CPU with time.process_time. The baseline is the same batch stored
with no projections. Run: .venv/bin/python -m bench.ingest_sql [ROUNDS] [--show]
"""

from __future__ import annotations

import collections
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from bench.common import fresh_database, pg_available, report, scale
from liuyu.demo import bench_events
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork


def measure(engine: Any, workspace_id: int, batches: list[list[Any]], projected: bool) -> tuple[float, float, Any]:
    """Statements per batch, CPU µs per event, and the statements seen (first words) over ``batches``."""
    seen: collections.Counter[str] = collections.Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen[" ".join(statement.split()[:4])[:70]] += 1

    event.listen(engine, "before_cursor_execute", count)
    start = time.process_time()
    for events in batches:
        with SqlUnitOfWork(engine) as uow:
            ingest_events(uow.ingest, workspace_id, events, projections=uow.projections() if projected else ())
            uow.commit()
    cpu = time.process_time() - start
    event.remove(engine, "before_cursor_execute", count)
    n = sum(len(b) for b in batches)
    return sum(seen.values()) / len(batches), cpu / n * 1e6, seen


def run(kind: str, tmp: str, rounds: int, show: bool) -> None:
    with fresh_database(kind, tmp) as engine:
        with SqlUnitOfWork(engine) as uow:
            workspace_id = uow.accounts.create_workspace("bench", "Bench", datetime.now(UTC))
            uow.commit()
        events = list(bench_events(2_000 + rounds * 1_100 * 2, seed=7))
        warm, rest = events[:2_000], events[2_000:]
        measure(engine, workspace_id, [warm[i : i + 500] for i in range(0, len(warm), 500)], True)
        for size in (100, 1_000):
            plain, rest = rest[: size * rounds], rest[size * rounds :]
            full, rest = rest[: size * rounds], rest[size * rounds :]
            b_stmts, b_cpu, _ = measure(
                engine, workspace_id, [plain[i : i + size] for i in range(0, len(plain), size)], False
            )
            stmts, cpu, seen = measure(
                engine, workspace_id, [full[i : i + size] for i in range(0, len(full), size)], True
            )
            note = f"({stmts:.1f} statements/batch, {b_stmts:.1f} without projections)"
            report(f"ingest_sql {kind} batch {size}", cpu, "CPU µs/event", "no projections", b_cpu, note)
            if show:
                for text, k in seen.most_common():
                    print(f"   {k / rounds:6.1f}  {text}")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = int(args[0]) if args else scale(5)
    show = "--show" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", tmp, rounds, show)
        if pg_available():
            run("postgresql", tmp, rounds, show)


if __name__ == "__main__":
    main()
