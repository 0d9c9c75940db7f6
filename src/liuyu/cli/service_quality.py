"""``liuyu service qa …`` and ``liuyu service report``: quality inspection and reports from the shell."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.cli.service import app as service_app
from liuyu.domain.errors import InvalidInput

qa_app = typer.Typer(help="Quality inspection (质检): rubric, scoring, overrides, scorecards.", no_args_is_help=True)
service_app.add_typer(qa_app, name="qa")
ACTOR = "cli"


@qa_app.command("rubric")
@friendly_errors
def rubric(
    path: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="YAML or JSON rubric to store."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Show the workspace's rubric, or replace it with the one in PATH (validated first)."""
    import yaml

    from liuyu.services import quality
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        if path is None:
            found, version = quality.rubric_of(uow, ws)
            print_json({"rubric": found.model_dump(mode="json"), "version": version})
            return
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InvalidInput(f"not YAML or JSON: {exc}", where=str(path)) from exc
        saved = quality.save_rubric(uow, ws, data, ACTOR)
        uow.commit()
    print_json({"version": saved["version"]})


@qa_app.command("team")
@friendly_errors
def team(
    agent: str = typer.Argument(..., help="The agent as conversations name them (their login)."),
    name: str = typer.Argument("", help="The team; empty takes the agent out of their team."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Put an agent in a team, for team scorecards and reports."""
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        uow.quality.set_team(ws, agent, name.strip() or None)
        print_json(uow.quality.teams(ws))
        uow.commit()


@qa_app.command("score")
@friendly_errors
def score(
    conversation: int | None = typer.Argument(None, help="One conversation to inspect now (resolved or not)."),
    workspace: str | None = WorkspaceOption,
    limit: int | None = typer.Option(None, help="At most this many conversations from the backlog."),
) -> None:
    """Inspect one conversation, or work through the backlog (every workspace) the way the job does."""
    from liuyu.nlp.llm import provider_from_env
    from liuyu.services import quality
    from liuyu.services.knowledge import shared_cache
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    cache = shared_cache(c.settings.kb_embeddings)
    llm = provider_from_env()  # the rubric's LLM criteria, when LIUYU_LLM_URL/LIUYU_LLM_MODEL are set
    if conversation is not None:
        ws = resolve_workspace(c, workspace)
        with SqlUnitOfWork(c.engine) as uow:
            view = quality.review_conversation(uow, ws, conversation, inspect_now=True, cache=cache, llm=llm)
            uow.commit()
        print_json(view)
        return
    started = datetime.now(UTC)
    done = quality.review_backlog(lambda: SqlUnitOfWork(c.engine), limit=limit, batch=500, cache=cache, llm=llm)
    seconds = (datetime.now(UTC) - started).total_seconds()
    print_json({"conversations": done, "seconds": round(seconds, 1)})


@qa_app.command("override")
@friendly_errors
def override(
    conversation: int = typer.Argument(...),
    criterion: str = typer.Argument(..., help="greeting, first_response, longest_wait, words, empathy, …"),
    points: float = typer.Argument(..., help="The new score, from 0 to the criterion's weight."),
    reason: str = typer.Option(..., "--reason", help="Why: kept beside the score and in the audit log."),
    by: str = typer.Option(ACTOR, help="Who overrides (shown on the score)."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """A supervisor's verdict on one criterion."""
    from liuyu.services import quality
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = quality.override_score(uow, ws, conversation, criterion, points, reason, by)
        uow.commit()
    print_json({"total": view["total"], criterion: view["scores"][criterion]})


@qa_app.command("scorecards")
@friendly_errors
def scorecards(
    by: str = typer.Option("agent", help="agent or team."),
    period: str = typer.Option("week", help="day, week or month."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Average QA score per agent or team per period, with each criterion's share of points."""
    from liuyu.services import quality
    from liuyu.storage.uow import SqlUnitOfWork

    if by not in ("agent", "team") or period not in ("day", "week", "month"):
        raise InvalidInput("--by agent|team and --period day|week|month", field="by/period", value=f"{by}/{period}")
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        cards = quality.qa_scorecards(uow, ws, by=by, period=period, timezone=c.settings.timezone)  # type: ignore[arg-type]
    print_json(cards)


@service_app.command("report")
@friendly_errors
def report(
    by: str = typer.Option("all", help="all, agent, team, channel, intent, day, week or month."),
    since: str | None = typer.Option(None, help="First local date (YYYY-MM-DD), inclusive."),
    until: str | None = typer.Option(None, help="Last local date (YYYY-MM-DD), inclusive."),
    agent: str | None = typer.Option(None),
    team: str | None = typer.Option(None),
    channel: str | None = typer.Option(None),
    intent: str | None = typer.Option(None),
    day: str | None = typer.Option(None, help="Only this day (a drill-down of --by day)."),
    metric: str | None = typer.Option(
        None,
        help="List the conversations behind a figure: conversations, first_response, resolution, sla, "
        "sla_breached, csat, qa, sentiment.",
    ),
    csv_path: Path | None = typer.Option(None, "--csv", help="With --metric: write every conversation to this CSV."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Response and resolution times, % SLA met, CSAT, QA, volume and sentiment; or the list behind one."""
    from liuyu.storage import service_reports
    from liuyu.storage.uow import SqlUnitOfWork

    if by not in service_reports.DIMENSIONS:
        raise InvalidInput(f"use one of {', '.join(service_reports.DIMENSIONS)}", field="by", value=by)
    if metric is not None and metric not in service_reports.METRICS:
        raise InvalidInput(f"use one of {', '.join(service_reports.METRICS)}", field="metric", value=metric)
    c = container()
    ws = resolve_workspace(c, workspace)
    filters = {
        k: v
        for k, v in {"agent": agent, "team": team, "channel": channel, "intent": intent, "day": day}.items()
        if v is not None
    }
    with SqlUnitOfWork(c.engine) as uow:
        if metric is None:
            rows = service_reports.report(uow.conn, ws, by=by, since=since, until=until, filters=filters)
            _table(rows)
            return
        found = service_reports.stream_conversations(
            uow.conn, ws, since=since, until=until, filters=filters, metric=metric
        )
        handle = csv_path.open("w", newline="", encoding="utf-8") if csv_path else sys.stdout
        try:
            writer = csv.DictWriter(handle, fieldnames=service_reports.CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            count = 0
            for row in found:
                writer.writerow({k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()})
                count += 1
        finally:
            if csv_path:
                handle.close()
    if csv_path:
        console.print(f"{count} conversations written to {csv_path}")


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("group", "conversations", "first reply s", "resolution s", "SLA met %", "CSAT", "QA", "sentiment")
    for r in rows:
        table.add_row(
            str(r["key"] or "(none)"),
            str(r["conversations"]),
            *(
                "-" if r[name] is None else str(r[name])
                for name in (
                    "first_response_avg_seconds",
                    "resolution_avg_seconds",
                    "sla_met_pct",
                    "csat_avg",
                    "qa_avg",
                    "sentiment_avg",
                )
            ),
        )
    console.print(table)


@service_app.command("smtp")
@friendly_errors
def smtp(
    port: int = typer.Option(2525, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback: a local relay forwards to it)."),
    analyze: bool = typer.Option(True, help="Read intent, sentiment and entities of each mail."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Receive support mail over SMTP: each mail becomes a message of the email channel, threaded."""
    import signal
    import threading

    from liuyu.channels.email_inbound import serve
    from liuyu.domain.customers.identity import IdentityPolicy
    from liuyu.services.email_inbound import ParsedMail, receive_mail
    from liuyu.services.inbox import nlp_analyzer
    from liuyu.storage.attachment_blobs import blobs_for
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    blobs, limits = blobs_for(c.settings.database_url)
    policy = IdentityPolicy(protect_verified_phones=c.settings.protect_verified_phones)

    def store(mail: ParsedMail) -> dict[str, Any]:
        return receive_mail(
            lambda: SqlUnitOfWork(c.engine),
            blobs,
            ws,
            mail,
            analyzer=nlp_analyzer if analyze else (lambda texts: [None] * len(texts)),
            policy=policy,
        )

    controller = serve(store, limits, host, port)
    console.print(f"listening for mail on {host}:{port} (attachments in {blobs.root})", highlight=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
