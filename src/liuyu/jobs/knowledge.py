"""Job ``kb-mine-faqs``: mine FAQ pairs from conversations resolved since the last pass, in every workspace.

One worker at a time (a PostgreSQL advisory lock; SQLite has one writer), so two workers never mine
the same conversation; ``kb_mined`` keeps a conversation from being mined twice across passes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

from liuyu.config import get_settings
from liuyu.services.knowledge import mine_faqs, shared_cache
from liuyu.storage.uow import SqlUnitOfWork

EVERY_SECONDS = 600
LOCK_KEY = 0x6C79_4B42  # "lyKB": the advisory lock of this job
PASS_LIMIT = 5_000  # conversations per workspace and pass; the next pass takes the rest


def _mine_all(engine: Engine, now: datetime) -> int:
    with SqlUnitOfWork(engine) as uow:
        workspaces = [int(w["id"]) for w in uow.accounts.workspaces()]
    embedder = shared_cache(get_settings().kb_embeddings).get_embedder()
    done = 0
    for ws in workspaces:
        report = mine_faqs(lambda: SqlUnitOfWork(engine), ws, embedder=embedder, limit=PASS_LIMIT, now=now)
        done += report.conversations
    return done


def mine_everywhere(engine: Engine, now: datetime) -> int:
    """Mine every workspace; returns how many conversations were read."""
    if engine.dialect.name != "postgresql":
        return _mine_all(engine, now)
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
            return 0
        try:
            return _mine_all(engine, now)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.commit()
