"""``liuyu init``, workspaces, users, keys, stats, rebuild and serve."""

from __future__ import annotations

import secrets

import typer
from rich.progress import Progress

from liuyu.cli.common import (
    WorkspaceOption,
    console,
    container,
    friendly_errors,
    print_json,
    resolve_workspace,
    unit_of_work,
)
from liuyu.services import accounts, engagement
from liuyu.services.identity import rebuild as rebuild_workspace
from liuyu.storage.customer_queries import workspace_counts
from liuyu.storage.uow import SqlUnitOfWork

workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys and write keys.", no_args_is_help=True)
users_app = typer.Typer(help="Console users.", no_args_is_help=True)


@friendly_errors
def init(
    workspace: str = typer.Option("demo", "--workspace", "-w", help="Name of the first workspace."),
    email: str = typer.Option("admin@liuyu.local", help="The admin's login."),
    password: str | None = typer.Option(None, help="The admin's password (generated when omitted)."),
) -> None:
    """Create the database and a first workspace with an admin user and an API key."""
    c = container(create=True)
    password = password or secrets.token_urlsafe(9)
    with unit_of_work(c) as uow:
        if uow.accounts.workspace_by_slug(workspace):
            console.print(f"Workspace [bold]{workspace}[/bold] exists already; nothing to do.")
            return
        ws = accounts.create_workspace(uow.accounts, workspace)
        accounts.create_user(uow.accounts, ws, email, password, "admin", name="Admin")
        key = accounts.create_api_key(uow.accounts, ws, "api", "admin", name="first admin key")
        uow.commit()
    console.print(f"Database ready at {c.settings.database_url}")
    console.print(f"Workspace: [bold]{workspace}[/bold]")
    console.print(f"Console login: [bold]{email}[/bold] / [bold]{password}[/bold]")
    console.print(f"API key (admin, shown once): [bold]{key}[/bold]")


@workspace_app.command("create")
@friendly_errors
def workspace_create(name: str, title: str | None = typer.Option(None, help="Display name.")) -> None:
    """Create a workspace."""
    c = container(create=True)
    with unit_of_work(c) as uow:
        ws = accounts.create_workspace(uow.accounts, name, title)
        uow.commit()
    console.print(f"Workspace {name} created (id {ws}).")


@keys_app.command("create")
@friendly_errors
def keys_create(
    workspace: str | None = WorkspaceOption,
    source: str = typer.Option(..., help="The source its events are logged under, e.g. web, app, tmall."),
    role: str = typer.Option("ingest", help="ingest (write events only), admin, operator, agent, supervisor, analyst."),
    name: str = typer.Option("", help="What the key is for."),
) -> None:
    """Create an API key; it is printed once and stored hashed."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with unit_of_work(c) as uow:
        key = accounts.create_api_key(uow.accounts, ws, source, role, name=name)
        uow.commit()
    typer.echo(key)


@users_app.command("create")
@friendly_errors
def users_create(
    email: str,
    workspace: str | None = WorkspaceOption,
    role: str = typer.Option("operator"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    name: str = typer.Option(""),
) -> None:
    """Create a console user."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with unit_of_work(c) as uow:
        accounts.create_user(uow.accounts, ws, email, password, role, name=name)
        uow.commit()
    console.print(f"User {email} ({role}) created.")


@friendly_errors
def stats(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts of the workspace: events, customers, identifiers, orders, merges, rejected."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with c.engine.connect() as conn:
        counts = workspace_counts(conn, ws)
    if as_json:
        print_json(counts)
        return
    for name, value in counts.items():
        console.print(f"{name:>20}  {value:,}")


@friendly_errors
def rebuild(workspace: str | None = WorkspaceOption) -> None:
    """Recompute every derived table from the event log."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with c.engine.connect() as conn:
        total = workspace_counts(conn, ws)["events"]
    with Progress(console=console) as progress:
        task = progress.add_task("Replaying the event log", total=total)
        done = rebuild_workspace(lambda: SqlUnitOfWork(c.engine), ws, progress=lambda n: progress.advance(task, n))
    # Scores and rule tags are computed from the rebuilt tables, not replayed: compute them again.
    with SqlUnitOfWork(c.engine) as uow:
        engagement.refresh_traits(uow, ws)
        segments = engagement.refresh_segments(uow, ws)
        uow.commit()
    console.print(f"Rebuilt from {done:,} events; computed traits and {len(segments)} saved segments refreshed.")


def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL only; SQLite wants one)."),
) -> None:
    """Serve the HTTP API and the console."""
    import uvicorn

    container(create=True)
    uvicorn.run("liuyu.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")
