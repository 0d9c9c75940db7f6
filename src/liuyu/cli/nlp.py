"""``liuyu nlp …``: train, analyze and inspect the text models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Text understanding: train models, analyze texts.", no_args_is_help=True)
train_app = typer.Typer(help="Train the shipped text models from ../shared/datasets.", no_args_is_help=True)
app.add_typer(train_app, name="train")


@app.command("analyze")
def analyze_command(
    text: Annotated[str | None, typer.Argument(help="A text to analyze.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="One text per line.", exists=True)] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Product names, one per line (or `sku,name` CSV lines).", exists=True)
    ] = None,
    competitor: Annotated[list[str] | None, typer.Option(help="A competitor brand (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    fast: Annotated[
        bool, typer.Option(help="Bulk mode: lexical sentiment and intent models only (no e5 sentence vectors).")
    ] = False,
) -> None:
    """Read texts: sentiment, anger and escalation, intent, entities, suggestions and aspects."""
    from liuyu.nlp.analyze import AnalyzeOptions, CatalogItem, analyze

    texts: list[str] = []
    if text is not None:
        texts.append(text)
    if file is not None:
        texts.extend(line.rstrip("\n") for line in file.read_text(encoding="utf-8-sig").splitlines() if line.strip())
    if not texts:
        raise typer.BadParameter("give a TEXT or --file FILE")
    items: list[CatalogItem] = []
    if catalog is not None:
        for line in catalog.read_text(encoding="utf-8-sig").splitlines():
            if line.strip():
                sku, _, name = line.partition(",") if "," in line else (line, "", line)
                items.append(CatalogItem(sku.strip(), name.strip()))
    options = AnalyzeOptions(competitors=tuple(competitor or ()), fast_intent=fast, accurate_sentiment=not fast)
    insights = analyze(texts, catalog=items, options=options)
    if as_json:
        for insight in insights:
            typer.echo(json.dumps(insight.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"liuyu nlp analyze: {len(insights)} text(s)", show_lines=True)
    for column in ("text", "sentiment", "signals", "intent", "entities", "suggestion / aspects"):
        table.add_column(column, overflow="fold")
    for insight in insights:
        signals = insight.signals
        triggers = ", ".join(f"{t.text}({t.kind})" for t in signals.triggers)
        entities = "\n".join(f"{e.type}: {e.text} → {_show(e.value)}" for e in insight.entities)
        aspects = "\n".join(f"{a.aspect}: {a.sentiment} ({a.text})" for a in insight.aspects)
        suggestion = f"suggestion: {insight.suggestion_text}\n" if insight.suggestion else ""
        intent = "-" if insight.intent is None else f"{insight.intent.label} {insight.intent.score:.2f}"
        table.add_row(
            insight.text[:200] + ("…" if insight.truncated or len(insight.text) > 200 else ""),
            f"{insight.sentiment.label} {insight.sentiment.score:.2f}",
            f"anger {signals.anger}\nescalation {signals.escalation}" + (f"\n{triggers}" if triggers else ""),
            intent,
            entities or "-",
            (suggestion + aspects) or "-",
        )
    Console().print(table)


def _show(value: object) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items() if v is not None)
    return str(value)


@train_app.command("sentiment")
def train_sentiment_command(
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the corpora (default: $LIUYU_DATASETS or ../shared/datasets).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: the packaged file).")] = None,
    holdout_only: Annotated[
        bool, typer.Option(help="Ship the model fitted on the training part only (default: refit on all rows).")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Use only this many reviews (quick trials).")] = None,
    embeddings: Annotated[
        bool, typer.Option(help="Also learn the e5 head of the accurate path (embeds up to 2,000 reviews).")
    ] = True,
    embedding_cache: Annotated[
        Path | None, typer.Option(help="File that keeps review vectors between runs (default under ~/.cache/liuyu).")
    ] = None,
) -> None:
    """Train the sentiment model on the review corpora, validate it on the hash split, write it."""
    from liuyu.nlp.sentiment import MODEL_PATH
    from liuyu.nlp.train_sentiment import CachedReviewEmbedder, default_data_dir, default_embedding_cache, train

    source = data_dir or default_data_dir()
    if not source.is_dir():
        typer.echo(f"data folder not found: {source} (set --data-dir or LIUYU_DATASETS)", err=True)
        raise typer.Exit(2)
    embedder = CachedReviewEmbedder(embedding_cache or default_embedding_cache()) if embeddings else None
    report = train(
        source, out or MODEL_PATH, holdout_only=holdout_only, limit=limit, embedder=embedder, progress=typer.echo
    )
    for corpus, accuracy in report.accuracy.items():
        typer.echo(f"{corpus}: validation accuracy {accuracy:.4f}")
