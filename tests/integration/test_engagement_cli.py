"""``liuyu segments …`` as an operator runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from liuyu.cli.main import app
from liuyu.config import get_settings
from liuyu.services import accounts
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork

runner = CliRunner()


@pytest.fixture
def shop(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    """Workspace 七木 with three customers, two of them in 上海."""
    monkeypatch.setenv("LIUYU_DATABASE_URL", db_url)
    monkeypatch.setenv("LIUYU_ERROR_DIR", str(tmp_path / "errors"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()  # settings are read once per process; each test has its own database
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    people = [(11, "张爱丽", "上海", 3), (12, "李博", "北京", 1), (13, "王可", "上海", 0)]
    with engine.begin() as conn:
        conn.execute(
            insert(t.customers),
            [{"id": i, "workspace_id": ws, "anchor_seq": i, "name": n, "city": city} for i, n, city, _ in people],
        )
        conn.execute(
            insert(t.customer_traits),
            [
                {"customer_id": i, "workspace_id": ws, "order_count": n, "total_spent_fen": n * 9900, "aov_fen": 9900}
                for i, _, _, n in people
            ],
        )
    yield ws
    get_settings.cache_clear()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_count_and_preview_an_expression(shop: int) -> None:
    assert run("segments", "count", 'city = "上海"', "--workspace", "qimu").strip() == "2"
    shown = run("segments", "preview", 'city = "上海" and order_count >= 1', "--workspace", "qimu")
    assert "张爱丽" in shown and "王可" not in shown and "1 customers" in shown


def test_a_typing_mistake_shows_a_caret_and_fails(shop: int) -> None:
    result = runner.invoke(app, ["segments", "count", "city = 上海", "--workspace", "qimu"])
    assert result.exit_code == 1
    assert "^" in result.output and "position 8" in result.output


def test_save_list_export_and_why(shop: int, tmp_path: Path) -> None:
    assert "2 members" in run("segments", "save", "上海客", 'city = "上海"', "--workspace", "qimu")
    listed = run("segments", "list", "--workspace", "qimu")
    assert "上海客" in listed
    out = tmp_path / "members.csv"
    run("segments", "export", "1", "--workspace", "qimu", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["id"], r["name"]) for r in rows] == [("11", "张爱丽"), ("13", "王可")]
    why = run("segments", "why", "1", "12", "--workspace", "qimu")
    assert "✗" in why and "北京" in why


def test_refresh_reports_who_entered_and_left(shop: int, engine: Engine) -> None:
    run("segments", "save", "买过", "order_count >= 1", "--workspace", "qimu")
    with engine.begin() as conn:
        conn.execute(t.customer_traits.update().where(t.customer_traits.c.customer_id == 12).values(order_count=0))
        conn.execute(t.customer_traits.update().where(t.customer_traits.c.customer_id == 13).values(order_count=2))
    assert "买过: 2 members (+1 -1)" in run("segments", "refresh", "--workspace", "qimu")
    assert "买过: 2 members (+0 -0)" in run("segments", "refresh", "--workspace", "qimu")


def test_exporting_a_missing_segment_fails_without_writing_a_file(shop: int, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    result = runner.invoke(app, ["segments", "export", "99", "--workspace", "qimu", "--output", str(out)])
    assert result.exit_code == 1 and not out.exists()


def test_tag_by_hand_list_and_remove(shop: int) -> None:
    run("tags", "add", "11", "VIP", "--reason", "年消费过万", "--workspace", "qimu")
    assert "VIP" in run("tags", "list", "11", "--workspace", "qimu")
    assert "manual" in run("tags", "list", "--workspace", "qimu")
    run("tags", "remove", "11", "VIP", "--reason", "录错了", "--workspace", "qimu")
    assert "VIP" not in run("tags", "list", "11", "--workspace", "qimu")
    missing = runner.invoke(app, ["tags", "remove", "11", "VIP", "--reason", "again", "--workspace", "qimu"])
    assert missing.exit_code == 1 and "no tag" in missing.output


def test_a_segment_saved_with_a_tag_tags_its_members(shop: int) -> None:
    run("segments", "save", "上海客", 'city = "上海"', "--tag", "魔都", "--workspace", "qimu")
    listed = run("tags", "list", "--workspace", "qimu")
    assert "魔都" in listed and "rule" in listed and listed.split()[-1] == "2"


def test_traits_refresh_scores_every_customer_and_shows_one(shop: int) -> None:
    out = run("traits", "refresh", "--workspace", "qimu")
    assert "Scored 3 customers (0 buyers" in out and "prospect" in out
    assert '"lifecycle": "prospect"' in run("traits", "show", "11", "--workspace", "qimu")
