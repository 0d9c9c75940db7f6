"""``liuyu eval intent|match`` and ``liuyu nlp train-intent|train-match|ask`` on small files."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import liuyu.cli.nlp_knowledge  # noqa: F401  (registers train-intent, train-match and ask)
from liuyu.cli.main import app
from liuyu.nlp.intent import load_intent_model

runner = CliRunner()
LAST_LINE = re.compile(r"^accuracy=\d\.\d{4} macro_f1=\d\.\d{4}$")

INTENT_ROWS = [
    ("where is my parcel", "shipping"), ("has my order shipped yet", "shipping"), ("tracking number", "shipping"),
    ("when will it arrive", "shipping"), ("parcel is late", "shipping"), ("delivery status", "shipping"),
    ("i want my money back", "refund"), ("refund my order", "refund"), ("how do i return this", "refund"),
    ("send it back for a refund", "refund"), ("refund status", "refund"), ("return and refund", "refund"),
    ("my card was declined", "payment"), ("payment failed", "payment"), ("can i pay by card", "payment"),
    ("charged twice", "payment"), ("pay with wallet", "payment"), ("payment error", "payment"),
]  # fmt: skip
PAIRS = [
    ("多久发货", "什么时候发货", 1), ("可以开发票吗", "能不能开发票", 1), ("花呗怎么提额", "怎样提高花呗额度", 1),
    ("退货运费谁出", "退回的邮费谁承担", 1), ("能用花呗吗", "支持花呗支付吗", 1), ("怎么改地址", "地址填错了怎么改", 1),
    ("多久发货", "多久退款", 0), ("可以开发票吗", "发票抬头错了", 0), ("花呗怎么提额", "花呗怎么还款", 0),
    ("退货运费谁出", "换货运费谁出", 0), ("能用花呗吗", "花呗逾期怎么办", 0), ("怎么改地址", "怎么改密码", 0),
]  # fmt: skip


def _csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _last_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def test_eval_intent_trains_on_train_scores_file_and_ends_with_the_summary_line(tmp_path: Path) -> None:
    train = _csv(tmp_path / "train.csv", ["text", "label"], INTENT_ROWS)
    test = _csv(
        tmp_path / "test.csv",
        ["text", "label"],
        [("where is my parcel now", "shipping"), ("please refund me", "refund"), ("card payment failed", "payment")],
    )
    result = runner.invoke(app, ["eval", "intent", str(test), "--train", str(train), "--no-embeddings"])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "liuyu" in result.output
    assert LAST_LINE.match(_last_line(result.output))
    assert _last_line(result.output) == "accuracy=1.0000 macro_f1=1.0000"


def test_eval_intent_builtin_prints_per_intent_and_confusion_tables(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "intent", "--builtin", "--no-embeddings"])
    assert result.exit_code == 0, result.output
    assert "return_refund" in result.output and "退货退款" in result.output
    assert "confusion" in result.output
    assert LAST_LINE.match(_last_line(result.output))


def test_eval_intent_without_files_explains_what_it_needs() -> None:
    result = runner.invoke(app, ["eval", "intent"])
    assert result.exit_code != 0
    assert "--builtin" in result.output


@pytest.fixture(scope="module")
def match_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("match")
    pairs = _csv(folder / "pairs.csv", ["text_a", "text_b", "label"], PAIRS * 3)
    out = folder / "match.joblib"
    result = runner.invoke(app, ["nlp", "train-match", "--data", str(pairs), "--out", str(out), "--iterations", "30"])
    assert result.exit_code == 0, result.output
    assert "validation pairs.csv: accuracy=" in result.output or "validating on 0" in result.output
    return out


def test_eval_match_prints_liuyu_and_the_tfidf_baseline_and_ends_with_the_summary_line(
    tmp_path: Path, match_model: Path
) -> None:
    pairs = _csv(tmp_path / "pairs.csv", ["text_a", "text_b", "label"], PAIRS)
    result = runner.invoke(app, ["eval", "match", str(pairs), "--model", str(match_model)])
    assert result.exit_code == 0, result.output
    assert "TF-IDF cosine (baseline)" in result.output
    assert LAST_LINE.match(_last_line(result.output))


def test_eval_match_with_a_missing_model_names_the_rebuild_command(tmp_path: Path) -> None:
    pairs = _csv(tmp_path / "pairs.csv", ["text_a", "text_b", "label"], PAIRS)
    result = runner.invoke(app, ["eval", "match", str(pairs), "--model", str(tmp_path / "none.joblib")])
    assert result.exit_code == 1
    assert "none.joblib: not found" in result.output
    assert "liuyu nlp train-match" in result.output


def test_train_intent_merges_workspace_examples_into_a_new_model(tmp_path: Path) -> None:
    own = _csv(
        tmp_path / "own.csv",
        ["text", "label"],
        [("新品什么时候开始预约", "preorder"), ("预约名额还有吗", "preorder"), ("想预约下个月的新款", "preorder")],
    )
    out = tmp_path / "intent.joblib"
    result = runner.invoke(app, ["nlp", "train-intent", "--data", str(own), "--out", str(out), "--no-embeddings"])
    assert result.exit_code == 0, result.output
    model = load_intent_model(out)
    assert "preorder" in model.labels and "return_refund" in model.labels


def test_ask_lists_the_passage_that_answers_the_question(tmp_path: Path) -> None:
    passages = tmp_path / "kb.txt"
    passages.write_text(
        "七天无理由退货：签收后7天内可申请退货。\n发货时间：付款后48小时内发出。\n\n会员积分每年12月31日清零。\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["nlp", "ask", "积分什么时候清零", "--passages", str(passages), "--no-embeddings"])
    assert result.exit_code == 0, result.output
    assert "12月31日清零" in result.output
    assert "among 3 passages" in result.output
