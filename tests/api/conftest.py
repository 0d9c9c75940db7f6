"""An app per test on SQLite and PostgreSQL, with two workspaces and their keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from liuyu.api import deps
from liuyu.api.app import create_app
from liuyu.bootstrap import build
from liuyu.config import Settings
from liuyu.services import accounts
from liuyu.storage.db import make_engine
from liuyu.storage.uow import SqlUnitOfWork


@dataclass
class Tenant:
    id: int
    admin_key: str
    agent_key: str
    ingest_key: str


@dataclass
class Api:
    client: TestClient
    qimu: Tenant
    other: Tenant
    engine: object

    def headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


def _tenant(uow: SqlUnitOfWork, slug: str) -> Tenant:
    ws = accounts.create_workspace(uow.accounts, slug)
    return Tenant(
        id=ws,
        admin_key=accounts.create_api_key(uow.accounts, ws, "api", "admin"),
        agent_key=accounts.create_api_key(uow.accounts, ws, "api", "agent"),
        ingest_key=accounts.create_api_key(uow.accounts, ws, "app", "ingest"),
    )


@pytest.fixture
def api(db_url: str, tmp_path) -> Iterator[Api]:
    engine = make_engine(db_url)
    with SqlUnitOfWork(engine) as uow:
        qimu, other = _tenant(uow, "qimu"), _tenant(uow, "other")
        uow.commit()
    deps._KEY_CACHE.clear()
    container = build(Settings(database_url=db_url, error_dir=str(tmp_path / "errors")), engine=engine)
    with TestClient(create_app(container)) as client:
        yield Api(client=client, qimu=qimu, other=other, engine=engine)
    engine.dispose()
