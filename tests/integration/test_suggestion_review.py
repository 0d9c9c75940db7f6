"""Accepting a merge suggestion merges for good: rebuilds keep it, an undo separates again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.errors import Conflict
from liuyu.domain.eventlog import Event
from liuyu.services.identity import rebuild, unmerge
from liuyu.services.suggestions import accept_suggestion, reject_suggestion
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_ingest import T0, ingest, workspace


def buyer(ext: str, kind: str, value: str, days: int) -> Event:
    return Event(
        source=kind.split("_")[0],
        external_id=ext,
        type="identify",
        occurred_at=T0 + timedelta(days=days),
        identifiers=(make_identifier(kind, value),),
        traits={"name": "张**", "city": "杭州"},
    )


def suggest(engine: Engine, ws: int) -> int:
    with engine.begin() as conn:
        a, b = sorted(conn.execute(select(t.customers.c.id)).scalars())
        return int(
            conn.execute(
                insert(t.merge_suggestions)
                .values(
                    workspace_id=ws,
                    customer_a=a,
                    customer_b=b,
                    probability=0.97,
                    evidence={"name": "exact"},
                    status="pending",
                    created_at=T0,
                )
                .returning(t.merge_suggestions.c.id)
            ).scalar_one()
        )


def live(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(t.customers).where(t.customers.c.merged_into.is_(None))
        ).scalar_one()


def test_an_accepted_suggestion_merges_and_survives_a_rebuild(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [buyer("t1", "tmall_nick", "小鹿", 0), buyer("j1", "jd_pin", "xiaolu", 1)])
    sid = suggest(engine, ws)
    with SqlUnitOfWork(engine) as uow:
        result = accept_suggestion(uow, ws, sid, actor="user:ops@qimu.cn", now=T0)
        uow.commit()
    assert live(engine) == 1 and result["merge_id"]
    ingest(engine, ws, [buyer("j2", "jd_pin", "xiaolu", 2)])
    with SqlUnitOfWork(engine) as uow:
        before = uow.replay.digest(ws)
    rebuild(lambda: SqlUnitOfWork(engine), ws, now=T0)
    with SqlUnitOfWork(engine) as uow:
        assert uow.replay.digest(ws) == before
    assert live(engine) == 1
    with engine.connect() as conn:  # a rebuild writes merge records anew
        merge_id = conn.execute(select(t.merges.c.id).where(t.merges.c.rule == "operator_link")).scalar_one()
    with SqlUnitOfWork(engine) as uow:
        unmerge(uow, ws, merge_id, actor="user:ops@qimu.cn", now=T0)
        uow.commit()
    assert live(engine) == 2


def test_a_decided_suggestion_cannot_be_decided_again(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [buyer("t1", "tmall_nick", "小鹿", 0), buyer("j1", "jd_pin", "xiaolu", 1)])
    sid = suggest(engine, ws)
    with SqlUnitOfWork(engine) as uow:
        reject_suggestion(uow, ws, sid, actor="user:ops@qimu.cn", now=T0)
        uow.commit()
    with SqlUnitOfWork(engine) as uow, pytest.raises(Conflict):
        accept_suggestion(uow, ws, sid, actor="user:ops@qimu.cn", now=T0)
    assert live(engine) == 2
