"""``liuyu customers find|show|unmerge|export|erase``."""

from __future__ import annotations

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.services import privacy
from liuyu.services.identity import unmerge as unmerge_merge
from liuyu.services.suggestions import accept_suggestion, reject_suggestion
from liuyu.storage import tables as t
from liuyu.storage.attachment_blobs import blobs_for
from liuyu.storage.customer_queries import customer_360, customer_summaries, find_customers
from liuyu.storage.uow import SqlUnitOfWork

app = typer.Typer(help="Find, show, unmerge, export and erase customers.", no_args_is_help=True)


@app.command()
@friendly_errors
def find(query: str, workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Find customers by phone, name, any identifier or order id."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with c.engine.connect() as conn:
        found = customer_summaries(conn, ws, find_customers(conn, ws, query))
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No customer found.")
    for row in found:
        console.print(
            f"{row['id']:>8}  {row['name'] or '-':<10} {row['city'] or '-':<6} orders {row['order_count']:>3} "
            f"spent ¥{row['total_spent']:>10}  {','.join(row['channels'])}"
        )


@app.command()
@friendly_errors
def show(
    customer_id: int, workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")
) -> None:
    """The customer 360: identifiers, merges, orders, traits and the latest events."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with c.engine.connect() as conn:
        view = customer_360(conn, ws, customer_id)
    if view is None:
        console.print(f"[red]No customer {customer_id} in this workspace.[/red]")
        raise typer.Exit(1)
    if as_json:
        print_json(view)
        return
    cust = view["customer"]
    console.print(f"[bold]Customer {cust['id']}[/bold] {cust['name'] or ''} {cust['city'] or ''}")
    for ident in view["identifiers"]:
        console.print(f"  {ident['kind']:<22} {ident['value']}{' (masked)' if ident['masked'] else ''}")
    console.print(
        f"  orders: {len(view['orders'])}, merges: {len(view['merges'])}, events shown: {len(view['timeline'])}"
    )


@app.command()
@friendly_errors
def unmerge(merge_id: int, actor: str = typer.Option("cli", help="Who undoes it (for the audit log).")) -> None:
    """Undo a merge; both customers get their own history back and are kept apart from now on."""
    c = container()
    with c.engine.connect() as conn:
        row = conn.execute(t.merges.select().where(t.merges.c.id == merge_id)).mappings().first()
    if row is None:
        console.print(f"[red]No merge {merge_id}.[/red]")
        raise typer.Exit(1)
    policy = IdentityPolicy(protect_verified_phones=c.settings.protect_verified_phones)
    with SqlUnitOfWork(c.engine) as uow:
        result = unmerge_merge(uow, row["workspace_id"], merge_id, actor=actor, policy=policy)
        uow.commit()
    console.print(f"Merge {merge_id} undone; customers {', '.join(map(str, result['customers']))} re-resolved.")


@app.command()
@friendly_errors
def export(customer_id: int, workspace: str | None = WorkspaceOption) -> None:
    """Everything stored about a customer, as JSON (a data subject access request)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        data = privacy.export_customer(uow, ws, customer_id, actor="cli")
        uow.commit()
    print_json(data)


@app.command()
@friendly_errors
def erase(customer_id: int, workspace: str | None = WorkspaceOption, yes: bool = typer.Option(False, "--yes")) -> None:
    """Erase a customer's personal data; counts and aggregates stay."""
    if not yes:
        typer.confirm(f"Erase the personal data of customer {customer_id}?", abort=True)
    c = container()
    ws = resolve_workspace(c, workspace)
    blobs, _ = blobs_for(c.settings.database_url)
    with SqlUnitOfWork(c.engine) as uow:
        done = privacy.erase_customer(uow, ws, customer_id, actor="cli", blobs=blobs)
        uow.commit()
    console.print(
        f"Customer {customer_id} erased ({done['attachments']} attachments, {done['attachment_files']} files)."
    )


@app.command()
@friendly_errors
def suggest(
    workspace: str | None = WorkspaceOption,
    threshold: float = typer.Option(0.9, help="Match probability from which a pair is suggested."),
) -> None:
    """Score look-alike customers (Splink) and store merge suggestions for review; never merges."""
    from liuyu.jobs.identity_suggestions import suggest_merges

    c = container()
    ws = resolve_workspace(c, workspace)
    count = suggest_merges(c.engine, ws, threshold=threshold)
    console.print(f"{count:,} pending merge suggestions.")


@app.command()
@friendly_errors
def suggestions(
    workspace: str | None = WorkspaceOption,
    status: str = typer.Option("pending"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List merge suggestions."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        rows = uow.suggestions.list(ws, status)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['id']:>6}  {row['customer_a']} ~ {row['customer_b']}  p={row['probability']:.3f}")


@app.command()
@friendly_errors
def accept(
    suggestion_id: int,
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who decides (for the audit log)."),
) -> None:
    """Accept a merge suggestion: the two customers become one (undo with `unmerge`)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        result = accept_suggestion(uow, ws, suggestion_id, actor=actor)
        uow.commit()
    console.print(f"Suggestion {suggestion_id} accepted (merge {result['merge_id']}).")


@app.command()
@friendly_errors
def reject(
    suggestion_id: int,
    workspace: str | None = WorkspaceOption,
    actor: str = typer.Option("cli", help="Who decides (for the audit log)."),
) -> None:
    """Reject a merge suggestion."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        reject_suggestion(uow, ws, suggestion_id, actor=actor)
        uow.commit()
    console.print(f"Suggestion {suggestion_id} rejected.")
