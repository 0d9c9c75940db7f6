"""What every command needs: the wired container, the workspace by name, JSON output, errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console

from liuyu.bootstrap import Container, build
from liuyu.domain.errors import LiuyuError
from liuyu.services.accounts import workspace_id
from liuyu.storage.db import has_schema, upgrade
from liuyu.storage.uow import SqlUnitOfWork

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

WorkspaceOption = typer.Option(None, "--workspace", "-w", envvar="LIUYU_WORKSPACE", help="Workspace name.")


def container(*, create: bool = False) -> Container:
    c = build()
    if not has_schema(c.engine):
        if not create:
            err_console.print("[red]No liuyu database here yet: run `liuyu init` first.[/red]")
            raise typer.Exit(2)
        upgrade(c.engine)
    return c


@contextmanager
def unit_of_work(c: Container) -> Iterator[SqlUnitOfWork]:
    with SqlUnitOfWork(c.engine) as uow:
        yield uow


def resolve_workspace(c: Container, slug: str | None) -> int:
    with SqlUnitOfWork(c.engine) as uow:
        if slug:
            return workspace_id(uow.accounts, slug)
        spaces = uow.accounts.workspaces()
    if len(spaces) == 1:
        return int(spaces[0]["id"])
    err_console.print("[red]Name the workspace with --workspace (or LIUYU_WORKSPACE).[/red]")
    raise typer.Exit(2)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def friendly_errors(func: F) -> F:
    """Show liuyu's own errors as one red line and exit 1, instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LiuyuError as exc:
            err_console.print(f"[red]{type(exc).__name__}: {exc}[/red]")
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]
