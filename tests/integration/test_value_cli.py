"""``liuyu segments value|cohorts`` and ``liuyu tags rules`` as an operator runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert

from liuyu.cli.main import app
from liuyu.storage import tables as t
from tests.integration.test_engagement_cli import run, runner, shop  # noqa: F401  (the fixture)


def _orders(engine: Engine, ws: int) -> None:
    """张爱丽 (11) buys big on Tmall in January and again in February; 李博 (12) once, small, on JD."""
    rows = [(11, "tmall", 1, 90000), (11, "tmall", 2, 90000), (12, "jd", 1, 9900)]
    with engine.begin() as conn:
        conn.execute(
            insert(t.orders),
            [
                {
                    "workspace_id": ws, "platform": channel, "order_id": f"O{cid}-{month}", "customer_id": cid,
                    "status": "paid", "total_fen": fen, "paid_fen": fen, "refunded_fen": 0, "channel": channel,
                    "placed_at": datetime(2026, month, 10, 4, tzinfo=UTC), "last_seq": 1,
                }
                for cid, channel, month, fen in rows
            ],
        )  # fmt: skip


def test_value_by_channel_and_cohorts_from_the_command_line(shop: int, engine: Engine) -> None:  # noqa: F811
    _orders(engine, shop)
    shown = run("segments", "value", "--by", "channel", "--workspace", "qimu")
    assert "2 buyers, revenue 1899.00" in shown and "tmall" in shown and "jd" in shown
    view = json.loads(run("segments", "value", "--json", "--workspace", "qimu"))
    assert [row["channel"] for row in view["by"]["channel"]] == ["tmall", "jd"]
    cohorts = json.loads(run("segments", "cohorts", "--horizon", "2", "--json", "--workspace", "qimu"))
    assert [(c["month"], c["customers"], c["retained"]) for c in cohorts["cohorts"]] == [("2026-01", 2, [0.5, 0.0])]


def test_tag_rules_from_a_yaml_file_with_a_bad_field_named(shop: int, tmp_path: Path) -> None:  # noqa: F811
    good = tmp_path / "rules.yaml"
    good.write_text(
        "- tag: 王者荣耀玩家\n  words: [王者, 上分]\n- tag: 公众号粉丝\n  from: event\n  events: [followed]\n"
    )
    set_rules = json.loads(run("tags", "rules", str(good), "--workspace", "qimu").split("\n", 1)[1])
    assert [r["tag"] for r in set_rules] == ["王者荣耀玩家", "公众号粉丝"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- tag: 好评\n  sentiment: happy\n")
    result = runner.invoke(app, ["tags", "rules", str(bad), "--workspace", "qimu"])
    assert result.exit_code != 0 and "tag_rules[0].sentiment" in result.output
    assert [r["tag"] for r in json.loads(run("tags", "rules", "--workspace", "qimu"))] == ["王者荣耀玩家", "公众号粉丝"]
