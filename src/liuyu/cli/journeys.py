"""``liuyu journeys apply FILE | list | show JOURNEY | report JOURNEY | pause | resume``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.services import journeys
from liuyu.storage.uow import SqlUnitOfWork

app = typer.Typer(help="Journeys: apply definitions, see where customers are, report uplift.", no_args_is_help=True)


@app.command()
@friendly_errors
def apply(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A journey in YAML or JSON."),
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who applies it."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create the journey FILE names, or give it a new version when its definition changed."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        row = journeys.apply_journey(uow, ws, file.read_text(encoding="utf-8"), actor=actor, now=datetime.now(UTC))
        uow.commit()
    if as_json:
        print_json(row)
        return
    what = f"version {row['version']}" if row["changed"] else f"unchanged (version {row['version']})"
    console.print(f"journey {row['id']} [bold]{row['name']}[/bold]: {what}, {row['status']}")


@app.command("list")
@friendly_errors
def list_journeys(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every journey of the workspace with its status and trigger."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        rows = uow.journeys.journeys(ws)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        trigger = f"{row['trigger_kind']}:{row['trigger_name'] or ''}"
        console.print(f"{row['id']:>5}  {row['status']:<7} v{row['version']:<3} {trigger:<28} {row['name']}")


@app.command()
@friendly_errors
def show(journey: str, workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """JOURNEY (id or name): its steps with how many customers are at each and what happened there."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = journeys.show(uow, ws, journeys.resolve(uow, ws, journey)["id"])
    if as_json:
        print_json(view)
        return
    console.print(f"[bold]{view['name']}[/bold] ({view['status']}, version {view['version']})")
    console.print(f"  entry: {view['entry']}")
    for step in view["steps"]:
        outcomes = ", ".join(f"{k} {v}" for k, v in step["outcomes"].items())
        console.print(f"  {step['key']:<16} {step['kind']:<8} now {step['now']:>6}   {outcomes}")
    console.print(f"  goal: {view['goal']}")


@app.command()
@friendly_errors
def report(
    journey: str, workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")
) -> None:
    """Conversion of treatment and control and the uplift with its 95 % interval."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        result = journeys.report(uow, ws, journeys.resolve(uow, ws, journey)["id"])
    if as_json:
        print_json(result)
        return
    u = result["uplift"]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.1f}%"

    console.print(f"[bold]{result['name']}[/bold]")
    console.print(f"  treatment {u['treatment_converted']}/{u['treatment']} = {pct(u['treatment_rate'])}")
    console.print(f"  control   {u['control_converted']}/{u['control']} = {pct(u['control_rate'])}")
    interval = "-" if u["low"] is None else f"{pct(u['low'])} to {pct(u['high'])}"
    verdict = "significant" if u["significant"] else "not significant"
    console.print(f"  uplift {pct(u['uplift'])} (95% CI {interval}, Newcombe-Wilson; {verdict})")


def _status(journey: str, workspace: str | None, status: str) -> None:
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        row = journeys.set_status(uow, ws, journeys.resolve(uow, ws, journey)["id"], status, now=datetime.now(UTC))
        uow.commit()
    console.print(f"journey {row['id']} {row['name']}: {row['status']}")


@app.command()
@friendly_errors
def pause(journey: str, workspace: str | None = WorkspaceOption) -> None:
    """Nobody enters and nobody moves on until resumed (goals are still recorded)."""
    _status(journey, workspace, "paused")


@app.command()
@friendly_errors
def resume(journey: str, workspace: str | None = WorkspaceOption) -> None:
    """Let the journey run again; steps that came due meanwhile run at once."""
    _status(journey, workspace, "active")
