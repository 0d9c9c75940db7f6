"""``liuyu tickets``: open, transfer, show the audit trail, settings from YAML, the reminder report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from liuyu.cli.main import app
from liuyu.config import get_settings
from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork

runner = CliRunner()


class Ran:
    def __init__(self, result: Any) -> None:
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr


def liuyu(_env: object, *args: str) -> Ran:
    """In process (a subprocess per call costs seconds of imports); the settings come from the environment."""
    return Ran(runner.invoke(app, ["tickets", *args]))


@pytest.fixture
def env(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LIUYU_DATABASE_URL", db_url)
    monkeypatch.setenv("LIUYU_WORKSPACE", "qimu")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    with SqlUnitOfWork(engine) as uow:
        accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    yield None
    get_settings.cache_clear()


def test_an_operator_runs_a_ticket_from_the_command_line(env: None, tmp_path: Path) -> None:
    opened = liuyu(env, "open", "快递显示签收但没收到", "--intent", "shipping_logistics")
    assert opened.returncode == 0, opened.stderr
    ticket = json.loads(opened.stdout)
    assert ticket["queue"] == "物流" and "shipping_logistics" in ticket["routing"]
    moved = liuyu(env, "transfer", str(ticket["id"]), "财务", "--reason", "丢件理赔")
    assert json.loads(moved.stdout)["queue"] == "财务"
    shown = json.loads(liuyu(env, "show", str(ticket["id"])).stdout)
    assert [h["action"] for h in shown["history"]] == ["created", "routed", "transferred"]
    assert shown["history"][2]["reason"] == "丢件理赔"

    bad = tmp_path / "settings.yaml"
    bad.write_text("hours:\n  mon-fri: '9点到6点'\n", encoding="utf-8")
    refused = liuyu(env, "settings", "--file", str(bad))
    assert refused.returncode == 1 and "hours.mon-fri" in refused.stderr
    good = tmp_path / "good.yaml"
    good.write_text("hours:\n  mon-sun: '08:00-22:00'\nsupervisor: 王主管\n", encoding="utf-8")
    assert "王主管" in liuyu(env, "settings", "--file", str(good)).stdout

    assert json.loads(liuyu(env, "reminders").stdout) == {"sent": 0, "paid_after": 0, "conversion": 0.0}
    assert liuyu(env, "transfer", "999", "物流", "--reason", "x").returncode == 1
