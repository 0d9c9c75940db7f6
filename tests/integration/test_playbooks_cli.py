"""``liuyu playbooks …`` as an operator runs it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from liuyu.cli.main import app
from liuyu.config import get_settings
from liuyu.services import accounts
from liuyu.storage.uow import SqlUnitOfWork

runner = CliRunner()


def test_list_enable_with_values_show_disable_and_adjacent(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIUYU_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    with SqlUnitOfWork(engine) as uow:
        accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    listed = runner.invoke(app, ["playbooks", "list", "-w", "qimu"])
    assert listed.exit_code == 0 and "off second_touch" in listed.output and "首购后十天二次触达" in listed.output
    on = runner.invoke(
        app, ["playbooks", "enable", "dormant_reactivation", "--set", "days=60", "--set", "channel=email", "-w", "qimu"]
    )
    assert on.exit_code == 0 and "on  dormant_reactivation" in on.output and "active" in on.output, on.output
    shown = json.loads(runner.invoke(app, ["playbooks", "show", "dormant_reactivation", "-w", "qimu", "--json"]).output)
    assert shown["params"]["days"] == 60 and shown["document"]["trigger"]["offset_days"] == 60
    journeys = json.loads(runner.invoke(app, ["journeys", "list", "-w", "qimu", "--json"]).output)
    assert [(j["name"], j["status"]) for j in journeys] == [("沉睡客唤醒", "active")]
    bad = runner.invoke(app, ["playbooks", "enable", "dormant_reactivation", "--set", "days", "-w", "qimu"])
    assert bad.exit_code != 0 and "key=value" in bad.output
    off = runner.invoke(app, ["playbooks", "disable", "dormant_reactivation", "-w", "qimu"])
    assert off.exit_code == 0 and "off dormant_reactivation" in off.output and "days=60" in off.output
    journeys = json.loads(runner.invoke(app, ["journeys", "list", "-w", "qimu", "--json"]).output)
    assert journeys[0]["status"] == "paused"
    adjacent = runner.invoke(app, ["playbooks", "adjacent", "-w", "qimu", "--json"])
    assert adjacent.exit_code == 0 and json.loads(adjacent.output) == {}
