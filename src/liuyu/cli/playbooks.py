"""``liuyu playbooks list | show NAME | enable NAME [--set key=value] | disable NAME | adjacent``."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.errors import InvalidInput
from liuyu.services import playbooks
from liuyu.storage.uow import SqlUnitOfWork

app = typer.Typer(help="Built-in playbooks: ready-made journeys to switch on and adjust.", no_args_is_help=True)


def _values(pairs: list[str]) -> dict[str, str]:
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("expected key=value", field="--set", value=pair)
        given[key.strip()] = value
    return given


def _line(row: dict) -> str:  # type: ignore[type-arg]
    state = "on " if row["enabled"] else "off"
    values = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in row["params"].items())
    return f"{state} {row['name']:<22} {row['title']}  [{values}]"


@app.command("list")
@friendly_errors
def list_playbooks(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every playbook: on or off here, and its current values."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        rows = playbooks.list_playbooks(uow, ws)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(_line(row), markup=False)


@app.command()
@friendly_errors
def show(name: str, workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """NAME: what it does, its parameters, and the journey its values give."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = playbooks.show(uow, ws, name)
    if as_json:
        print_json(view)
        return
    console.print(_line(view), markup=False)
    console.print(view["description"], markup=False)
    for p in view["parameters"]:
        console.print(f"  {p['name']:<18} {p['type']:<6} {p['label']}", markup=False)
    console.print(view["source"], markup=False)


@app.command()
@friendly_errors
def enable(
    name: str,
    values: list[str] = typer.Option([], "--set", help="A parameter: key=value (repeatable)."),
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who switches it on."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Switch NAME on (or change its values): its journey is created or given a new version, and runs."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = playbooks.enable(uow, ws, name, _values(values), actor=actor, now=datetime.now(UTC))
        uow.commit()
    if as_json:
        print_json(view)
        return
    console.print(_line(view), markup=False)
    if view["journey"]:
        j = view["journey"]
        console.print(f"journey {j['id']} version {j['version']}, {j['status']}")


@app.command()
@friendly_errors
def disable(name: str, workspace: str | None = WorkspaceOption, actor: str = typer.Option("cli")) -> None:
    """Switch NAME off: its journey is paused (its values are kept for next time)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = playbooks.disable(uow, ws, name, actor=actor, now=datetime.now(UTC))
        uow.commit()
    console.print(_line(view), markup=False)


@app.command()
@friendly_errors
def adjacent(
    workspace: str | None = WorkspaceOption,
    min_together: int = typer.Option(2, help="Orders a pair needs to count."),
    top: int = typer.Option(3, help="Neighbours per category."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Per category, the categories bought in the same orders more often than chance (lift)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        found = playbooks.adjacent(uow, ws, min_together=min_together, top=top)
    if as_json:
        print_json(found)
        return
    for category, items in found.items():
        shown = ", ".join(
            f"{a['category']} (lift {a['lift']:.2f}, P {a['confidence']:.0%}, {a['together']})" for a in items
        )
        console.print(f"{category}: {shown}", markup=False)
