"""``liuyu members|points|coupons …`` as an operator runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from liuyu.cli.main import app
from liuyu.config import get_settings
from liuyu.services import accounts
from liuyu.services.engagement import read_expression, save_segment
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.test_loyalty_api import PROGRAM, paid_order
from tests.integration.test_loyalty_projection import T0

runner = CliRunner()


@pytest.fixture
def member(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    """Workspace heiwushi with the program set from a file and one member who paid 800 yuan on the mini-program."""
    monkeypatch.setenv("LIUYU_DATABASE_URL", db_url)
    monkeypatch.setenv("LIUYU_ERROR_DIR", str(tmp_path / "errors"))
    monkeypatch.setenv("LIUYU_WORKSPACE", "heiwushi")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "heiwushi")
        uow.commit()
    program = tmp_path / "program.yaml"
    program.write_text(PROGRAM, encoding="utf-8")
    assert run("members", "program", "set", str(program)).exit_code == 0
    with SqlUnitOfWork(engine) as uow:
        ingest_events(
            uow.ingest, ws, [paid_order("MP-9", "+8613900000009", "800.00", T0)], projections=uow.projections()
        )
        customer = uow.loyalty.members(ws)[0]["customer_id"]
        uow.commit()
    yield customer
    get_settings.cache_clear()


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


def card(customer: int) -> dict:
    result = run("members", "show", str(customer), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_points_are_redeemed_once_per_request_and_adjusted_with_a_reason(member: int) -> None:
    assert run("points", "redeem", str(member), "200", "--request-id", "CLI-1").exit_code == 0
    assert run("points", "redeem", str(member), "200", "--request-id", "CLI-1").exit_code == 0
    assert run("points", "adjust", str(member), "50", "--reason", "客服补偿").exit_code == 0
    refused = run("points", "redeem", str(member), "5000", "--request-id", "CLI-2")
    assert refused.exit_code == 1 and "InsufficientPoints" in refused.output
    assert card(member)["points"]["available"] == 800 - 200 + 50


def test_the_expiry_job_expires_lots_that_are_due(member: int) -> None:
    later = (T0 + timedelta(days=400)).isoformat()
    result = run("points", "expire", "--at", later, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["expired"] == 800
    assert card(member)["points"]["available"] == 0


def test_a_coupon_is_issued_and_redeemed_once(member: int) -> None:
    issued = run("coupons", "issue", "GOLD-30", str(member), "--json")
    code = json.loads(issued.output)[0]["code"]
    args = ["coupons", "redeem", code, "--customer", str(member), "--channel", "store", "--amount", "260.00"]
    first = run(*args, "--order", "S-1")
    second = run(*args, "--order", "S-2")
    assert first.exit_code == 0 and "¥30.00" in first.output
    assert second.exit_code == 1 and "already redeemed" in second.output


def test_a_bad_program_file_names_the_field(member: int, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROGRAM.replace("points_per_yuan: 1", "points_per_yuan: -1"), encoding="utf-8")
    result = run("members", "program", "set", str(bad))
    assert result.exit_code == 1 and "rules.0.points_per_yuan" in result.output


def test_coupons_are_issued_to_a_saved_segment_once_per_run_key(member: int, engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.workspace_by_slug("heiwushi")["id"]
        save_segment(uow, ws, name="大客户", tree=read_expression("total_spent >= 500"), actor="cli")
        uow.commit()
    first = run("coupons", "issue", "GOLD-30", "--segment", "大客户")
    again = run("coupons", "issue", "GOLD-30", "--segment", "大客户", "--json")
    assert first.exit_code == 0 and "1 coupons issued" in first.output, first.output
    assert (json.loads(again.output)["issued"], json.loads(again.output)["already_held"]) == (0, 1)
    assert [c["template"] for c in card(member)["coupons"]] == ["GOLD-30"]
    neither = run("coupons", "issue", "GOLD-30")
    assert neither.exit_code == 1 and "--segment" in neither.output


def test_a_batch_code_is_claimed_once_per_member(member: int, tmp_path: Path) -> None:
    program = tmp_path / "claims.yaml"
    program.write_text(PROGRAM.replace("kind: threshold,", "kind: threshold, batch_codes: [VIP888],"), encoding="utf-8")
    assert run("members", "program", "set", str(program)).exit_code == 0
    first = run("coupons", "claim", "vip888", "--customer", str(member))
    second = run("coupons", "claim", "VIP888", "--customer", str(member))
    assert first.exit_code == 0 and "claimed VIP888" in first.output, first.output
    assert second.exit_code == 1 and "already claimed" in second.output
    assert [c["batch"] for c in card(member)["coupons"]] == ["VIP888"]
