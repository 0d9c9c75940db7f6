"""``liuyu nlp analyze``, ``liuyu nlp train sentiment`` and ``liuyu eval sentiment``."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

from typer.testing import CliRunner

from liuyu.cli.main import app

runner = CliRunner()


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


REVIEWS = [
    (1, "质量很好,物流很快,非常满意"),
    (1, "东西不错,会回购的,好评"),
    (0, "太差了,用了两天就坏了,再也不买了"),
    (0, "质量很差,客服也不理人,失望"),
]


def test_analyze_prints_a_table_with_the_sentiment_and_the_signals() -> None:
    result = runner.invoke(app, ["nlp", "analyze", "你们这帮骗子!再不退款我就打12315投诉"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "negative" in result.output
    assert "escalation high" in result.output


def test_analyze_reads_a_file_and_prints_json_lines(tmp_path: Path) -> None:
    file = tmp_path / "texts.txt"
    file.write_text("质量很好\n\n订单号123456789012345678还没发货\n", encoding="utf-8")
    result = runner.invoke(app, ["nlp", "analyze", "--file", str(file), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["text"] for line in lines] == ["质量很好", "订单号123456789012345678还没发货"]
    assert lines[1]["entities"][0]["type"] == "order_number"


def test_analyze_without_text_or_file_is_an_error() -> None:
    result = runner.invoke(app, ["nlp", "analyze"])
    assert result.exit_code != 0


def test_eval_sentiment_ends_with_the_accuracy_line(tmp_path: Path) -> None:
    file = _csv(tmp_path / "reviews.csv", ["label", "review"], [list(r) for r in REVIEWS])
    result = runner.invoke(app, ["eval", "sentiment", str(file)])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"accuracy=\d\.\d{4} macro_f1=\d\.\d{4}", last)
    assert "SnowNLP" in result.output
    assert float(last.split()[0].split("=")[1]) == 1.0


def test_eval_sentiment_accepts_text_label_and_word_labels(tmp_path: Path) -> None:
    rows = [[text, "positive" if label else "negative"] for label, text in REVIEWS]
    file = _csv(tmp_path / "reviews.csv", ["text", "label"], rows)
    result = runner.invoke(app, ["eval", "sentiment", str(file), "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "accuracy=1.0000 macro_f1=1.0000"


def test_eval_sentiment_accepts_the_category_column(tmp_path: Path) -> None:
    rows = [["手机", label, text] for label, text in REVIEWS]
    file = _csv(tmp_path / "reviews.csv", ["cat", "label", "review"], rows)
    result = runner.invoke(app, ["eval", "sentiment", str(file), "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("accuracy=")


def test_eval_sentiment_names_the_missing_columns(tmp_path: Path) -> None:
    file = _csv(tmp_path / "bad.csv", ["a", "b"], [["1", "x"]])
    result = runner.invoke(app, ["eval", "sentiment", str(file)])
    assert result.exit_code != 0
    assert "label" in result.output


def test_train_sentiment_writes_the_model_where_asked(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "waimai_10k"
    folder.mkdir(parents=True)
    # Distinct reviews: a corpus of one template with numbers would be all near-duplicates.
    good = ["好吃", "新鲜", "快", "热乎", "满意", "实惠", "干净", "香"]
    bad = ["难吃", "凉了", "慢", "贵", "失望", "脏", "咸", "少"]
    rng = random.Random(0)
    rows = [[1, "".join(rng.sample(good, 4))] for _ in range(40)]
    rows += [[0, "".join(rng.sample(bad, 4))] for _ in range(40)]
    _csv(folder / "waimai_10k.csv", ["label", "review"], rows)
    out = tmp_path / "sentiment.joblib"
    result = runner.invoke(app, ["nlp", "train", "sentiment", "--data-dir", str(tmp_path / "data"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert out.with_suffix(".json").is_file()


def test_train_sentiment_with_a_missing_data_folder_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["nlp", "train", "sentiment", "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "not found" in result.output
