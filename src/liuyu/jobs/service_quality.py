"""Job ``service-qa``: inspect conversations when they are resolved and keep the report facts fresh.

One worker at a time runs a pass (a PostgreSQL advisory lock; SQLite has one writer anyway), so two
workers never inspect the same conversation at once. Each batch is its own transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

from liuyu.config import get_settings
from liuyu.nlp.llm import OpenAICompatibleProvider, provider_from_env
from liuyu.services.knowledge import shared_cache
from liuyu.services.quality import review_backlog
from liuyu.storage.uow import SqlUnitOfWork

LOCK_KEY = 0x6C79_5161  # "lyQa": the advisory lock of this job
PASS_LIMIT = 5_000  # per run; the worker comes back for the rest


def run(engine: Engine, now: datetime, limit: int | None = PASS_LIMIT) -> int:
    """Inspect and refresh up to ``limit`` conversations; returns how many were handled. The rubric's
    LLM criteria are asked only when ``LIUYU_LLM_URL`` and ``LIUYU_LLM_MODEL`` configure a provider."""
    llm = provider_from_env()
    try:
        return _run(engine, now, limit, llm)
    finally:
        if llm is not None:
            llm.close()


def _run(engine: Engine, now: datetime, limit: int | None, llm: OpenAICompatibleProvider | None) -> int:
    cache = shared_cache(get_settings().kb_embeddings)  # answers compared with the knowledge base
    if engine.dialect.name != "postgresql":
        return review_backlog(lambda: SqlUnitOfWork(engine), now=now, limit=limit, cache=cache, llm=llm)
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
            return 0
        try:
            return review_backlog(lambda: SqlUnitOfWork(engine), now=now, limit=limit, cache=cache, llm=llm)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.commit()
