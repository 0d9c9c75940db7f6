"""Shared by the benchmarks: timing, percentiles, fresh databases, and the result line format."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import Engine, text

from liuyu.storage.db import make_engine, normalize_url
from liuyu.storage.tables import metadata

PG_URL = os.environ.get("LIUYU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def scale(default: int) -> int:
    """Sizes are multiplied by LIUYU_BENCH_SCALE (e.g. 0.1 for a quick run)."""
    return max(1, int(default * float(os.environ.get("LIUYU_BENCH_SCALE", "1"))))


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def report(name: str, figure: float, unit: str, baseline_name: str, baseline: float, note: str = "") -> None:
    ratio = figure / baseline if baseline else float("nan")
    print(f"{name}: {figure:,.1f} {unit} | baseline {baseline_name}: {baseline:,.1f} {unit} | ratio {ratio:.3f} {note}")


@contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def pg_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def fresh_database(kind: str, tmp: str) -> Iterator[Engine]:
    """A new empty liuyu schema: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        path = os.path.join(tmp, f"bench-{uuid.uuid4().hex[:6]}.db")
        engine = make_engine(f"sqlite:///{path}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(normalize_url(PG_URL) + "?options=" + quote(f"-csearch_path={schema}"))
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
