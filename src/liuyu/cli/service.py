"""``liuyu service channel|import-chats|import-wecom-archive|send-outbox``: the service hub from the command line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.errors import InvalidInput

if TYPE_CHECKING:
    from liuyu.services.inbox import InboundMessage

app = typer.Typer(help="The service hub: channels, chat-log imports, the outbox worker.", no_args_is_help=True)


@app.command()
@friendly_errors
def channel(
    name: str = typer.Argument(..., help="tmall, jd, douyin, wechat, wecom, web, app, email or hotline."),
    workspace: str | None = WorkspaceOption,
    outbound: str | None = typer.Option(None, help="Where replies go: a webhook URL, or host:port of an SMTP relay."),
    kind: str | None = typer.Option(None, help="webhook (default) or smtp."),
    rotate: bool = typer.Option(False, help="Issue new secrets; the old ones stop working at once."),
) -> None:
    """Set up a channel; its signing secrets are shown once, when created or rotated."""
    from liuyu.services.inbox import configure_channel
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        shown = configure_channel(uow, ws, name, rotate=rotate, outbound_kind=kind, outbound_target=outbound)
        uow.commit()
    print_json(shown)
    if "secret" in shown:
        console.print("[yellow]Store these secrets now; liuyu will not show them again.[/yellow]")


@app.command("import-chats")
@friendly_errors
def import_chats(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL: one message (speaker turn) a line."),
    workspace: str | None = WorkspaceOption,
    analyze: bool = typer.Option(True, help="Read intent, sentiment and entities of customer turns."),
) -> None:
    """Import chat logs: each line is the webhook contract plus ``channel`` and ``speaker`` (customer | agent).

    Bad lines are reported with their line number and skipped; running the import again stores nothing twice.
    """
    from liuyu.services.inbox import parse_chat_line

    _import_lines(path, workspace, analyze, parse_chat_line)


@app.command("import-wecom-archive")
@friendly_errors
def import_wecom_archive(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL: one decrypted 会话存档 message a line."),
    workspace: str | None = WorkspaceOption,
    analyze: bool = typer.Option(True, help="Read intent, sentiment and entities of the contacts' messages."),
) -> None:
    """Import WeCom conversation-archive messages (decrypted) for inspection, as ``wecom`` conversations.

    One-to-one chats between staff and external contacts; recalls and switches are counted as skipped,
    media become a placeholder like [图片], bad lines are reported; msgid keeps a re-run from storing twice.
    """
    from liuyu.services.inbox import parse_wecom_archive_line

    _import_lines(path, workspace, analyze, parse_wecom_archive_line)


def _import_lines(
    path: Path, workspace: str | None, analyze: bool, parse: Callable[[Any, str], InboundMessage | None]
) -> None:
    """Parse a JSONL file line by line (None = skip), store the good messages in batches, print the counts."""
    from liuyu.domain.customers.identity import IdentityPolicy
    from liuyu.services.inbox import analyze_messages, bulk_nlp_analyzer, receive_messages
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    ws = resolve_workspace(c, workspace)
    good: list[InboundMessage] = []
    bad: list[str] = []
    skipped = 0
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                message = parse(json.loads(line), where)
            except json.JSONDecodeError as exc:
                bad.append(f"{where}: not JSON ({exc.msg})")
            except InvalidInput as exc:
                bad.append(str(exc))
            else:
                if message is None:
                    skipped += 1
                else:
                    good.append(message)
    policy = IdentityPolicy(protect_verified_phones=c.settings.protect_verified_phones)
    stored = duplicate = 0
    conversations: set[int] = set()
    for start in range(0, len(good), 500):
        batch = good[start : start + 500]
        analyses = analyze_messages(batch, bulk_nlp_analyzer if analyze else (lambda texts: [None] * len(texts)))
        with SqlUnitOfWork(c.engine) as uow:
            report = receive_messages(uow, ws, batch, analyses=analyses, policy=policy)
            uow.commit()
        stored, duplicate = stored + report.stored, duplicate + report.duplicate
        conversations.update(report.conversations)
    for problem in bad[:20]:
        console.print(f"[red]{problem}[/red]")
    print_json(
        {"lines": len(good) + len(bad) + skipped, "stored": stored, "duplicate": duplicate, "rejected": len(bad)}
        | {"skipped": skipped, "conversations": len(conversations)}
    )
    if bad:
        raise typer.Exit(1)


@app.command("send-outbox")
@friendly_errors
def send_outbox(
    loop: bool = typer.Option(False, help="Keep polling (a long-running worker) instead of one pass."),
    interval: float = typer.Option(2.0, help="Seconds between passes when looping."),
    limit: int = typer.Option(100, help="Rows claimed per pass."),
) -> None:
    """Deliver queued replies through each channel's adapter, with retries and backoff."""
    from liuyu.channels.outbound import default_adapters
    from liuyu.services.inbox import send_outbox as deliver
    from liuyu.storage.uow import SqlUnitOfWork

    c = container()
    adapters = default_adapters()
    while True:
        report = deliver(lambda: SqlUnitOfWork(c.engine), adapters, limit=limit)
        print_json(vars(report))
        if not loop:
            return
        time.sleep(interval)
