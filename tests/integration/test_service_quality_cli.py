"""``liuyu service qa`` and ``liuyu service report`` as a supervisor runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.integration.test_service_cli import env, liuyu  # noqa: F401


def test_a_supervisor_sets_a_rubric_scores_the_backlog_and_exports_a_report(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    turns = [
        {
            "speaker": "customer",
            "message_id": "c1",
            "text": "在吗，什么时候发货",
            "sent_at": "2026-03-01T10:00:00+08:00",
        },
        {
            "speaker": "agent",
            "message_id": "a1",
            "text": "亲，您好，保证今天发",
            "sent_at": "2026-03-01T10:00:40+08:00",
        },
    ]
    chats = tmp_path / "chats.jsonl"
    chats.write_text(
        "\n".join(
            json.dumps({"channel": "jd", "conversation_key": "s-1", "sender": {"jd_pin": "p1"}, **t}) for t in turns
        ),
        encoding="utf-8",
    )
    assert liuyu(env, "service", "import-chats", str(chats), "--no-analyze").returncode == 0

    bad = tmp_path / "bad.yaml"
    bad.write_text("weights: {greeting: lots}\n", encoding="utf-8")
    refused = liuyu(env, "service", "qa", "rubric", str(bad))
    assert refused.returncode != 0 and "weights.greeting" in refused.stdout + refused.stderr
    good = tmp_path / "rubric.yaml"
    good.write_text("words: {promises: [保证]}\nfirst_response_seconds: 30\n", encoding="utf-8")
    assert liuyu(env, "service", "qa", "rubric", str(good)).returncode == 0

    backlog = liuyu(env, "service", "qa", "score")
    assert json.loads(backlog.stdout)["conversations"] == 1, backlog.stderr
    scored = json.loads(liuyu(env, "service", "qa", "score", "1").stdout)
    assert scored["scores"]["words"]["evidence"][0]["words"] == ["保证"]
    assert scored["scores"]["first_response"]["score"] == 7.5, "40 s against a 30 s target"

    table = liuyu(env, "service", "report", "--by", "channel")
    assert table.returncode == 0 and "jd" in table.stdout
    out = tmp_path / "first.csv"
    exported = liuyu(env, "service", "report", "--metric", "first_response", "--csv", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["channel"], r["first_response_seconds"]) for r in rows] == [("jd", "40")]
