"""``liuyu segments count|preview|save|list|export|why|refresh``, ``liuyu tags …`` and ``liuyu traits …``."""

from __future__ import annotations

import csv
import sys
from contextlib import nullcontext
from pathlib import Path

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.engagement.segment import Node, SegmentSyntaxError, from_json
from liuyu.services import engagement, text_tags, value
from liuyu.storage import segments as sql_segments
from liuyu.storage.uow import SqlUnitOfWork

app = typer.Typer(help="Count, preview, save, export and refresh segments.", no_args_is_help=True)

EXPORT_COLUMNS = ("id", "name", "province", "city", "order_count", "total_spent", "last_order_at", "entered_at")


def _tree(expression: str) -> Node:
    """Parse, showing a caret under a typing mistake before the error line."""
    try:
        return engagement.read_expression(expression)
    except SegmentSyntaxError as exc:
        console.print(exc.pointer(), markup=False, highlight=False)
        raise


@app.command()
@friendly_errors
def count(expression: str, workspace: str | None = WorkspaceOption) -> None:
    """How many live customers match EXPRESSION now."""
    c = container()
    ws = resolve_workspace(c, workspace)
    typer.echo(sql_segments.count(c.engine, ws, _tree(expression)))


@app.command()
@friendly_errors
def preview(
    expression: str,
    workspace: str | None = WorkspaceOption,
    limit: int = typer.Option(20, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The count and the first members of EXPRESSION."""
    c = container()
    ws = resolve_workspace(c, workspace)
    tree = _tree(expression)
    total = sql_segments.count(c.engine, ws, tree)
    rows = sql_segments.preview(c.engine, ws, tree, limit=limit)
    if as_json:
        print_json({"count": total, "rows": rows})
        return
    console.print(f"[bold]{total}[/bold] customers")
    for row in rows:
        console.print(
            f"{row['id']:>8}  {row['name'] or '-':<10} {row['city'] or '-':<6} orders {row['order_count']:>3} "
            f"spent ¥{row['total_spent']:>10}"
        )


@app.command()
@friendly_errors
def save(
    name: str,
    expression: str,
    workspace: str | None = WorkspaceOption,
    tag: str | None = typer.Option(None, help="Tag the members with this (source rule)."),
    actor: str = typer.Option("cli", help="Who saves it."),
) -> None:
    """Save EXPRESSION as segment NAME and compute its members."""
    c = container()
    ws = resolve_workspace(c, workspace)
    tree = _tree(expression)
    with SqlUnitOfWork(c.engine) as uow:
        saved = engagement.save_segment(uow, ws, name=name, tree=tree, actor=actor, tag=tag)
        uow.commit()
    console.print(f"Saved segment {saved['id']} {saved['name']!r}: {saved['member_count']} members.")


@app.command("list")
@friendly_errors
def list_segments(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """The saved segments with their member counts."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        found = uow.engagement.segments(ws)
    if as_json:
        print_json(found)
        return
    for seg in found:
        console.print(f"{seg['id']:>5}  {seg['name']:<20} {seg['member_count']:>8}  {seg['expression']}", markup=False)


@app.command()
@friendly_errors
def refresh(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Recompute every saved segment, recording who entered and who left."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        results = engagement.refresh_segments(uow, ws)
        uow.commit()
    if as_json:
        print_json([{k: r[k] for k in ("id", "name", "member_count", "entered", "exited")} for r in results])
        return
    for r in results:
        console.print(f"{r['name']}: {r['member_count']} members (+{r['entered']} -{r['exited']})", markup=False)


@app.command()
@friendly_errors
def export(
    segment_id: int,
    workspace: str | None = WorkspaceOption,
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV file to write (default: standard output)."),
) -> None:
    """Write the members of a saved segment as CSV, one row per customer."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        uow.engagement.segment(ws, segment_id)  # a missing segment fails before any file is written
        with output.open("w", newline="", encoding="utf-8") if output else nullcontext(sys.stdout) as f:
            writer = csv.DictWriter(f, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            after = 0
            while rows := uow.engagement.members(ws, segment_id, after=after, limit=5000):
                writer.writerows(rows)
                after = rows[-1]["id"]


@app.command()
@friendly_errors
def why(segment_id: int, customer_id: int, workspace: str | None = WorkspaceOption) -> None:
    """Why a customer is in a saved segment or not: every clause with the customer's value."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        segment = uow.engagement.segment(ws, segment_id)
    explanation = sql_segments.explain_customer(c.engine, ws, customer_id, from_json(segment["expression_json"]))
    console.print("\n".join(explanation.lines()), markup=False, highlight=False)


tags_app = typer.Typer(help="Tag customers by hand and see the tags in use.", no_args_is_help=True)


@tags_app.command("add")
@friendly_errors
def add_tag(
    customer_id: int,
    tag: str,
    reason: str = typer.Option(..., "--reason", help="Why; kept with the tag."),
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who tags (for the audit log)."),
) -> None:
    """Tag a customer by hand."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        engagement.tag_customer(uow, ws, customer_id, tag, reason=reason, actor=actor)
        uow.commit()
    console.print(f"Tagged customer {customer_id} {tag!r}.", markup=False)


@tags_app.command("remove")
@friendly_errors
def remove_tag(
    customer_id: int,
    tag: str,
    reason: str = typer.Option(..., "--reason", help="Why; goes to the audit log."),
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who removes it (for the audit log)."),
) -> None:
    """Take a tag away from a customer."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        engagement.untag_customer(uow, ws, customer_id, tag, reason=reason, actor=actor)
        uow.commit()
    console.print(f"Removed {tag!r} from customer {customer_id}.", markup=False)


@tags_app.command("list")
@friendly_errors
def list_tags(
    customer_id: int | None = typer.Argument(None, help="One customer's tags; all tags with counts when left out."),
    workspace: str | None = WorkspaceOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The tags in use with how many customers carry them, or one customer's tags."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        rows = uow.engagement.tag_counts(ws) if customer_id is None else uow.engagement.tags_of(ws, customer_id)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        if customer_id is None:
            console.print(f"{row['tag']:<20} {row['source']:<7} {row['customers']:>8}", markup=False)
        else:
            console.print(
                f"{row['tag']:<20} {row['source']:<7} {row['at']:%Y-%m-%d %H:%M}  {row['reason']}", markup=False
            )


@tags_app.command("rules")
@friendly_errors
def tag_rules(
    file: Path | None = typer.Argument(
        None, help="A YAML file of rules to set; shows the current rules when left out."
    ),
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who sets them (for the audit log)."),
) -> None:
    """Show or replace the rules that tag customers from their events and what they write."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        if file is not None:
            text_tags.set_rules(uow, ws, text_tags.read_rules(file.read_text(encoding="utf-8")), actor=actor)
            uow.commit()
            console.print("Rules set: they apply to new events; `liuyu rebuild` applies them to the past.")
        print_json(text_tags.get_rules(uow, ws))


@app.command("value")
@friendly_errors
def value_view(
    by: str = typer.Option("channel", help="channel, category or month"),
    top: float = typer.Option(0.2, help="The best share of buyers that makes the core."),
    workspace: str | None = WorkspaceOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The 20/80 view: revenue share of the best buyers, within each channel, category or month, and per segment."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = value.value_view(uow, ws, top=top)
    if by not in view["by"]:
        raise typer.BadParameter(f"--by is one of {', '.join(view['by'])}")
    if as_json:
        print_json(view)
        return
    overall = view["overall"]
    console.print(
        f"{overall['customers']:,} buyers, revenue {overall['revenue']}; the best {top:.0%} bring "
        f"{overall['top_revenue_share']:.1%}",
        markup=False,
    )
    for row in view["by"][by]:
        console.print(
            f"{row[by]:<16} {row['revenue']:>14} {row['revenue_share']:>7.1%} of revenue, "
            f"best {top:.0%} bring {row['top_revenue_share']:.1%}",
            markup=False,
        )
    for s in view["segments"]:
        console.print(
            f"segment {s['name']:<16} {s['revenue_share']:>7.1%} of revenue, {s['core_share']:.1%} of the core, "
            f"{s['tail_share']:.1%} of the tail",
            markup=False,
        )


@app.command("cohorts")
@friendly_errors
def cohorts(
    horizon: int = typer.Option(12, help="Months after the first purchase to follow."),
    workspace: str | None = WorkspaceOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Monthly cohorts by first purchase and the share of each buying again 1..N months later."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = value.cohort_view(uow, ws, horizon=horizon)
    if as_json:
        print_json(view)
        return
    for row in view["cohorts"]:
        curve = " ".join(f"{v:4.0%}" for v in row["retained"])
        console.print(f"{row['month']} {row['customers']:>8,}  {curve}", markup=False)


traits_app = typer.Typer(
    help="Computed traits: RFM, lifecycle, purchase forecasts, preferred hours.", no_args_is_help=True
)


@traits_app.command("refresh")
@friendly_errors
def refresh_traits(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Recompute every customer's scores (RFM quintiles, lifecycle, BG/NBD forecasts, preferred hours)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        summary = engagement.refresh_traits(uow, ws)
        uow.commit()
    if as_json:
        print_json(summary)
        return
    console.print(
        f"Scored {summary['customers']} customers ({summary['buyers']} buyers, "
        f"{summary['forecast']} with a purchase forecast).",
        markup=False,
    )
    for stage, n in summary["lifecycle"].items():
        console.print(f"  {stage:<15} {n:>8}", markup=False)


@traits_app.command("show")
@friendly_errors
def show_traits(customer_id: int, workspace: str | None = WorkspaceOption) -> None:
    """One customer's computed scores as JSON."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        print_json(uow.engagement.scores_of(ws, customer_id))
