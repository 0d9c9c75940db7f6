"""``liuyu import KIND [FORMAT] FILE``: channel exports into the event log, with a progress bar."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from liuyu.cli.common import (
    WorkspaceOption,
    console,
    container,
    err_console,
    friendly_errors,
    print_json,
    resolve_workspace,
)
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.services.imports import run_import
from liuyu.storage.uow import SqlUnitOfWork


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@friendly_errors
def import_file(
    args: list[str] = typer.Argument(..., metavar="KIND [FORMAT] FILE", help="e.g. `orders tmall orders.csv`."),
    workspace: str | None = WorkspaceOption,
    mapping: Path | None = typer.Option(None, help="YAML column mapping for generic CSV/JSONL files."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import a channel export: orders (tmall, jd, douyin, pos, top, jos, doudian), wechat-followers, app-logins,
    or events with --mapping."""
    from liuyu.channels.importers import open_import

    if len(args) not in (2, 3):
        err_console.print("[red]Give KIND [FORMAT] FILE, e.g. `liuyu import orders tmall orders.csv`.[/red]")
        raise typer.Exit(2)
    kind, fmt, file = (args[0], None, args[1]) if len(args) == 2 else (args[0], args[1], args[2])
    path = Path(file)
    if not path.is_file():
        err_console.print(f"[red]No such file: {path}[/red]")
        raise typer.Exit(2)
    c = container()
    ws = resolve_workspace(c, workspace)
    reader = open_import(kind, fmt, path, mapping=mapping)
    policy = IdentityPolicy(protect_verified_phones=c.settings.protect_verified_phones)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=as_json) as progress:
        task = progress.add_task(f"{path.name} ({reader.kind} {reader.fmt}, {reader.encoding})", total=reader.total())
        summary = run_import(
            lambda: SqlUnitOfWork(c.engine),
            ws,
            reader,
            digest=file_digest(path),
            error_dir=Path(c.settings.error_dir),
            batch_size=c.settings.import_batch_size,
            policy=policy,
            on_rows=lambda n: progress.advance(task, n),
        )
    result = {
        **summary.counts(),
        "import_id": summary.import_id,
        "customers_created": summary.customers_created,
        "merges": summary.merges,
        "error_file": summary.error_file,
    }
    if as_json:
        print_json(result)
        return
    console.print(
        f"read {summary.read:,}  stored {summary.stored:,}  duplicate {summary.duplicate:,}  "
        f"rejected {summary.rejected:,}"
    )
    for err in summary.errors[:10]:
        console.print(f"  [yellow]line {err['line']}[/yellow] {err['field']}: {err['reason']} ({err['value']!r})")
    if summary.error_file:
        console.print(f"Rejected rows are in {summary.error_file}")
