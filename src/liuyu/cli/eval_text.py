"""``liuyu eval sentiment|match|intent``: text models against their baselines.

Every command prints a Rich table (liuyu and the same-run baseline) and ends with exactly one
line ``accuracy=0.XXXX macro_f1=0.XXXX`` holding liuyu's figures.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from liuyu.cli.eval import app

# Shared helpers -----------------------------------------------------------------------------


def scores(gold: Sequence[object], predicted: Sequence[object]) -> tuple[float, float]:
    """(accuracy, macro-F1) over the labels present in ``gold``."""
    from sklearn.metrics import accuracy_score, f1_score

    if not gold:
        return 0.0, 0.0
    labels = sorted(set(gold), key=str)
    return float(accuracy_score(gold, predicted)), float(
        f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)
    )


def print_summary_line(accuracy: float, macro_f1: float) -> None:
    """The fixed last line of every ``liuyu eval`` text command."""
    typer.echo(f"accuracy={accuracy:.4f} macro_f1={macro_f1:.4f}")


# Sentiment -----------------------------------------------------------------------------------

_POSITIVE = {"1", "1.0", "positive", "pos", "正面", "积极", "好评"}
_NEGATIVE = {"0", "0.0", "negative", "neg", "负面", "消极", "差评"}
_TEXT_COLUMNS = ("review", "text", "sentence", "content", "comment")


def read_sentiment_csv(path: Path) -> tuple[list[str], list[int], int]:
    """Texts, 1/0 labels, and how many rows were skipped (no text or an unknown label)."""
    texts: list[str] = []
    labels: list[int] = []
    skipped = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = {name.strip().lower(): name for name in reader.fieldnames or ()}
        text_column = next((fields[c] for c in _TEXT_COLUMNS if c in fields), None)
        label_column = fields.get("label")
        if text_column is None or label_column is None:
            raise typer.BadParameter(
                f"{path}: needs a label column and a text column ({', '.join(_TEXT_COLUMNS)}); "
                f"found {reader.fieldnames}"
            )
        for row in reader:
            raw = (row.get(label_column) or "").strip().lower()
            text = row.get(text_column) or ""
            if raw in _POSITIVE:
                labels.append(1)
            elif raw in _NEGATIVE:
                labels.append(0)
            else:
                skipped += 1
                continue
            texts.append(text)
    return texts, labels, skipped


def snownlp_predict(texts: Sequence[str]) -> list[int]:
    """SnowNLP's packaged sentiment model, positive when its probability is at least 0.5."""
    from snownlp import SnowNLP

    predicted = []
    for text in texts:
        try:
            predicted.append(int(SnowNLP(text).sentiments >= 0.5) if text.strip() else 1)
        except Exception:  # SnowNLP fails on some odd inputs; count them as wrong-ish, positive
            predicted.append(1)
    return predicted


def liuyu_predict(texts: Sequence[str], model_path: Path | None = None) -> list[int]:
    """liuyu's model (the shipped one by default); positive when the calibrated score is at least 0.5."""
    from liuyu.nlp.sentiment import LinearSentimentModel, load_builtin_sentiment_model
    from liuyu.nlp.text import clean

    model = load_builtin_sentiment_model() if model_path is None else LinearSentimentModel.load(model_path)
    predicted: list[int] = []
    for start in range(0, len(texts), 2000):
        batch = [clean(t).text.lower() for t in texts[start : start + 2000]]
        predicted.extend(int(p >= 0.5) for p in model.scores(batch))
    return predicted


def _timed(predict: Callable[[Sequence[str]], list[int]], texts: Sequence[str]) -> tuple[list[int], float]:
    started = time.perf_counter()
    predicted = predict(texts)
    return predicted, time.perf_counter() - started


@app.command("sentiment")
def eval_sentiment(
    file: Annotated[
        Path, typer.Argument(help="CSV with label,review or text,label (labels 1/0 or positive/negative).")
    ],
    baseline: Annotated[bool, typer.Option(help="Also run the SnowNLP baseline (about 1-2 ms per text).")] = True,
    model: Annotated[Path | None, typer.Option(help="A model file to score instead of the shipped one.")] = None,
) -> None:
    """Sentiment accuracy of liuyu's shipped model, beside SnowNLP in the same run."""
    if not file.is_file():
        raise typer.BadParameter(f"{file}: no such file")
    texts, gold, skipped = read_sentiment_csv(file)
    if skipped:
        typer.echo(f"skipped {skipped} row(s) without a 1/0 or positive/negative label", err=True)
    systems: list[tuple[str, list[int], float]] = []
    ours, seconds = _timed(lambda batch: liuyu_predict(batch, model), texts)
    systems.append((f"liuyu (NB-SVM, {'shipped' if model is None else model.name})", ours, seconds))
    if baseline:
        theirs, seconds = _timed(snownlp_predict, texts)
        systems.append(("SnowNLP 0.12 (baseline)", theirs, seconds))
    table = Table(title=f"sentiment on {file.name}: {len(texts)} texts")
    for column in ("system", "accuracy", "macro-F1", "texts/s"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for name, predicted, spent in systems:
        accuracy, macro_f1 = scores(gold, predicted)
        table.add_row(name, f"{accuracy:.4f}", f"{macro_f1:.4f}", f"{len(texts) / max(spent, 1e-9):,.0f}")
    Console().print(table)
    print_summary_line(*scores(gold, ours))
