"""``liuyu journeys …`` and ``liuyu worker --once`` as an operator runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from liuyu.cli.main import app
from liuyu.config import get_settings
from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork

runner = CliRunner()

BIRTHDAY = """
name: 生日关怀
trigger: {date: birthday, offset_days: -3}
steps:
  - {key: gift, points: {amount: 200, reason: 生日礼}}
control: 10
"""


def test_apply_list_show_report_pause_and_one_worker_pass(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LIUYU_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    with SqlUnitOfWork(engine) as uow:
        accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    path = tmp_path / "birthday.yaml"
    path.write_text(BIRTHDAY, encoding="utf-8")
    first = runner.invoke(app, ["journeys", "apply", str(path), "-w", "qimu"])
    assert first.exit_code == 0 and "version 1" in first.output, first.output
    again = runner.invoke(app, ["journeys", "apply", str(path), "-w", "qimu"])
    assert "unchanged" in again.output
    listed = json.loads(runner.invoke(app, ["journeys", "list", "-w", "qimu", "--json"]).output)
    assert [(j["name"], j["trigger_kind"], j["status"]) for j in listed] == [("生日关怀", "date", "active")]
    shown = json.loads(runner.invoke(app, ["journeys", "show", "生日关怀", "-w", "qimu", "--json"]).output)
    assert [(s["key"], s["now"]) for s in shown["steps"]] == [("gift", 0)]
    report = runner.invoke(app, ["journeys", "report", "生日关怀", "-w", "qimu"])
    assert "Newcombe-Wilson" in report.output
    assert "paused" in runner.invoke(app, ["journeys", "pause", "生日关怀", "-w", "qimu"]).output
    path.write_text(BIRTHDAY.replace("steps:\n  - {key: gift", "steps:\n  - {key: gift, wait"), encoding="utf-8")
    bad = runner.invoke(app, ["journeys", "apply", str(path), "-w", "qimu"])
    assert bad.exit_code == 1 and "$.steps[0]" in bad.output
    once = runner.invoke(app, ["worker", "--once", "--only", "journey-steps", "--only", "journey-triggers", "--json"])
    assert once.exit_code == 0, once.output
    assert json.loads(once.output) == {"done": {"journey-steps": 0, "journey-triggers": 0}, "failed": {}}
    unknown = runner.invoke(app, ["worker", "--once", "--only", "nap"])
    assert unknown.exit_code == 2 and "Unknown job nap" in unknown.output
