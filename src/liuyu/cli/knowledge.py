"""``liuyu kb import|articles|mine|report|gaps|ask|bot|bot-report``: the knowledge base and the bot."""

from __future__ import annotations

from pathlib import Path

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.errors import InvalidInput

app = typer.Typer(help="The knowledge base: documents, FAQ pairs, suggestions, gaps, bot first.", no_args_is_help=True)


def _cache(c):  # type: ignore[no-untyped-def]
    from liuyu.services.knowledge import shared_cache

    return shared_cache(c.settings.kb_embeddings)


def _files(paths: list[Path]) -> list[Path]:
    """Files as given, and the readable files under directories (sorted)."""
    from liuyu.nlp.documents import KINDS

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KINDS))
        else:
            found.append(path)
    return found


@app.command("import")
@friendly_errors
def import_documents(
    paths: list[Path] = typer.Argument(..., help="Files (.md .txt .html .docx .pdf) or folders holding them."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Import documents as articles: each is split into chunks under its headings and embedded once.

    A file already imported with the same content is skipped; a changed one replaces its article.
    A file that cannot be read is reported and the others are kept (exit code 1).
    """
    from liuyu.services.knowledge import prepare_document, store_document
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    embedder = _cache(c).get_embedder()
    results, bad = [], []
    for path in _files(paths):
        try:
            if not path.is_file():
                raise InvalidInput("no such file", field="file", value=str(path))
            doc = prepare_document(path.name, path.read_bytes(), embedder=embedder)
        except InvalidInput as exc:
            bad.append(f"{path}: {exc}")
            continue
        with SqlUnitOfWork(c.engine) as uow:
            results.append(store_document(uow, ws, doc))
            uow.commit()
    for problem in bad:
        console.print(f"[red]{problem}[/red]")
    print_json({"articles": results, "rejected": len(bad)})
    if bad:
        raise typer.Exit(1)


@app.command("articles")
@friendly_errors
def articles(
    workspace: str | None = WorkspaceOption,
    stale_days: int = typer.Option(180, help="An article not updated for this many days is stale."),
) -> None:
    """Articles with their chunks, use (inserted, helpful, unhelpful) and whether they are stale."""
    from liuyu.services.knowledge import knowledge_report
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        found = knowledge_report(uow, ws, stale_days=stale_days, gap_limit=0)["articles"]
    keys = ("id", "name", "title", "kind", "chunk_count", "used", "helpful", "unhelpful", "stale_reasons", "updated_at")
    print_json([{k: a[k] for k in keys} for a in found])


@app.command("mine")
@friendly_errors
def mine(
    workspace: str | None = WorkspaceOption,
    limit: int = typer.Option(5000, help="Resolved conversations read per run."),
) -> None:
    """Mine FAQ pairs (question -> the agent answer that closed it) from resolved conversations."""
    from liuyu.services.knowledge import mine_faqs
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    report = mine_faqs(lambda: SqlUnitOfWork(c.engine), ws, embedder=_cache(c).get_embedder(), limit=limit)
    print_json(vars(report))


@app.command("report")
@friendly_errors
def report(
    workspace: str | None = WorkspaceOption,
    stale_days: int = typer.Option(180, help="An article not updated for this many days is stale."),
    gaps: int = typer.Option(20, help="How many recent gaps to list."),
) -> None:
    """Used and stale articles, the most supported FAQ pairs and the latest gaps."""
    from liuyu.services.knowledge import knowledge_report
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        found = knowledge_report(uow, ws, stale_days=stale_days, gap_limit=gaps)
    print_json(
        {
            "articles": len(found["articles"]),
            "stale": [{"name": a["name"], "why": a["stale_reasons"]} for a in found["articles"] if a["stale"]],
            "most_used": [
                {"name": a["name"], "used": a["used"]}
                for a in sorted(found["articles"], key=lambda a: -a["used"])[:10]
                if a["used"]
            ],
            "faqs": [{k: f[k] for k in ("id", "question", "support", "used")} for f in found["faqs"][:10]],
            "gaps": [{k: g[k] for k in ("reason", "question", "conversation_id", "created_at")} for g in found["gaps"]],
        }
    )


@app.command("ask")
@friendly_errors
def ask(
    question: str = typer.Argument(..., help="A customer's question."),
    workspace: str | None = WorkspaceOption,
    k: int = typer.Option(3, help="How many suggestions."),
) -> None:
    """The suggestions an agent would see for a question, with sources and confidence."""
    from liuyu.services.knowledge import suggest
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        found = suggest(_cache(c), uow, ws, question, k)
    print_json([{"confidence": s.confidence, "source": s.citation(), "text": s.text} for s in found])


@app.command("bot")
@friendly_errors
def bot(
    channel: str = typer.Argument(
        ..., help="The channel (tmall, jd, douyin, wechat, wecom, web, app, email, hotline)."
    ),
    workspace: str | None = WorkspaceOption,
    on: bool | None = typer.Option(None, "--on/--off", help="Turn the bot on or off for this channel."),
    threshold: float | None = typer.Option(None, help="Confidence (0-1) the bot needs to answer by itself."),
) -> None:
    """Show or change a channel's bot-first setting."""
    from liuyu.services.bot_first import configure_bot
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        shown = configure_bot(uow, ws, channel, enabled=on, threshold=threshold)
        uow.commit()
    print_json(shown)


@app.command("bot-report")
@friendly_errors
def bot_report(
    workspace: str | None = WorkspaceOption,
    days: int = typer.Option(30, help="Conversations the bot took part in over this many days."),
) -> None:
    """Containment and hand-off rates per channel."""
    from liuyu.services.bot_first import bot_report as report_for
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        print_json(report_for(uow, ws, days=days))
