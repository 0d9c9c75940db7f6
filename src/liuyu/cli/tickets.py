"""``liuyu tickets …``: tickets (工单), their settings, the escalation pass and order follow-ups."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
import yaml

from liuyu.cli.common import WorkspaceOption, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.errors import InvalidInput
from liuyu.services import followups, tickets
from liuyu.storage.uow import SqlUnitOfWork

app = typer.Typer(
    help="Tickets (工单): open, list, change, transfer, resolve; SLA and follow-ups.", no_args_is_help=True
)
ACTOR = "cli"


def _now() -> datetime:
    return datetime.now(UTC)


def _fields(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput("write a field as name=value", field="--field", value=pair)
        found[name.strip()] = value.strip()
    return found


def _brief(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    keep = ("id", "subject", "category", "queue", "priority", "status", "assignee", "customer_id", "order_id")
    return {k: row[k] for k in keep} | {"sla": tickets.sla_now(row, now), "due": row["sla_due_at"]}


@app.command("open")
@friendly_errors
def open_(
    subject: str = typer.Argument(..., help="What the customer needs, in one line."),
    workspace: str | None = WorkspaceOption,
    customer: int | None = typer.Option(None, help="Customer id."),
    conversation: int | None = typer.Option(None, help="Conversation id: customer, order and intent come from it."),
    order: str | None = typer.Option(None, help="Order number."),
    category: str | None = typer.Option(None, help="Category, e.g. 质量 (default: the settings' default)."),
    queue: str | None = typer.Option(None, help="Skip the routing rules and put it in this queue."),
    priority: str = typer.Option("normal", help="low, normal, high or urgent."),
    field: list[str] = typer.Option([], "--field", help="A custom field as name=value; repeat for more."),
    intent: str | None = typer.Option(None, help="Intent for routing when there is no conversation."),
) -> None:
    """Open a ticket; the routing rules pick the queue and the ticket says why."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        row = tickets.open_ticket(
            uow, ws, customer_id=customer, subject=subject, category=category, conversation_id=conversation,
            order_id=order, source="conversation" if conversation else "api", actor=ACTOR, now=_now(),
            fields=_fields(field), priority=priority, queue=queue, intent=intent,
        )  # fmt: skip
        uow.commit()
    print_json(_brief(row, _now()) | {"routing": row["routing_explanation"]})


@app.command("list")
@friendly_errors
def list_(
    workspace: str | None = WorkspaceOption,
    queue: str | None = typer.Option(None, help="Department queue, e.g. 物流."),
    status: str | None = typer.Option(None, help="open, pending, resolved or closed."),
    assignee: str | None = typer.Option(None),
    breached: bool = typer.Option(False, help="Only tickets past an SLA due time."),
    limit: int = typer.Option(50),
) -> None:
    """Tickets, soonest due first, and per-queue counts of open and late ones."""
    c = container()
    ws = resolve_workspace(c, workspace)
    now = _now()
    with SqlUnitOfWork(c.engine) as uow:
        rows = uow.tickets.list_tickets(
            ws, queue=queue, status=status, assignee=assignee, breached_by=now if breached else None, limit=limit
        )
        queues = uow.tickets.queue_counts(ws, now)
    print_json({"queues": queues, "tickets": [_brief(r, now) for r in rows]})


@app.command("show")
@friendly_errors
def show(ticket_id: int, workspace: str | None = WorkspaceOption) -> None:
    """A ticket with its SLA clocks explained and its whole audit trail."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        view = tickets.ticket_view(uow, ws, ticket_id, _now())
    keep = ("at", "actor", "action", "old", "new", "reason")
    print_json(
        {
            "ticket": _brief(view["ticket"], _now()) | {"routing": view["ticket"]["routing_explanation"]},
            "sla": [clock["explanation"] for clock in view["sla"]],
            "history": [{k: line[k] for k in keep} for line in view["history"]],
        }
    )


@app.command("change")
@friendly_errors
def change(
    ticket_id: int,
    workspace: str | None = WorkspaceOption,
    status: str | None = typer.Option(None, help="open, pending, resolved or closed."),
    priority: str | None = typer.Option(None),
    assignee: str | None = typer.Option(None, help='An agent; "" unassigns.'),
    field: list[str] = typer.Option([], "--field", help="name=value"),
    responded: bool = typer.Option(False, help="An agent answered the customer."),
    reason: str = typer.Option(""),
) -> None:
    """Change status, priority, assignee or fields; each change is a line in the audit trail."""
    c = container()
    ws = resolve_workspace(c, workspace)
    extra: dict[str, Any] = {} if assignee is None else {"assignee": assignee.strip() or None}
    with SqlUnitOfWork(c.engine) as uow:
        row = tickets.change_ticket(
            uow, ws, ticket_id, actor=ACTOR, now=_now(), status=status, priority=priority,
            fields=_fields(field), responded=responded, reason=reason, **extra,
        )  # fmt: skip
        uow.commit()
    print_json(_brief(row, _now()))


@app.command("transfer")
@friendly_errors
def transfer(
    ticket_id: int,
    to_queue: str = typer.Argument(..., help="The department that takes it over."),
    reason: str = typer.Option(..., help="What the next department needs to know."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Hand a ticket to another department; its history goes with it."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        row = tickets.transfer_ticket(uow, ws, ticket_id, to_queue=to_queue, reason=reason, actor=ACTOR, now=_now())
        uow.commit()
    print_json(_brief(row, _now()))


@app.command("resolve")
@friendly_errors
def resolve(ticket_id: int, workspace: str | None = WorkspaceOption, reason: str = typer.Option("")) -> None:
    """Resolve a ticket."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        row = tickets.resolve_ticket(uow, ws, ticket_id, actor=ACTOR, now=_now(), reason=reason)
        uow.commit()
    print_json(_brief(row, _now()))


@app.command("reopen")
@friendly_errors
def reopen(ticket_id: int, workspace: str | None = WorkspaceOption, reason: str = typer.Option("")) -> None:
    """Reopen a resolved ticket; its resolution clock runs again."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        row = tickets.reopen_ticket(uow, ws, ticket_id, actor=ACTOR, now=_now(), reason=reason)
        uow.commit()
    print_json(_brief(row, _now()))


@app.command("settings")
@friendly_errors
def settings(
    workspace: str | None = WorkspaceOption,
    file: Path | None = typer.Option(None, exists=True, dir_okay=False, help="YAML or JSON to replace the settings."),
) -> None:
    """Show the ticket settings, or replace them from a file (errors name the field path)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        if file is None:
            shown = tickets.load_settings(uow, ws)
        else:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise InvalidInput("the settings file must hold a mapping", where=str(file))
            shown = tickets.save_settings(uow, ws, data, _now())
            uow.commit()
    typer.echo(yaml.safe_dump(shown.model_dump(mode="json"), allow_unicode=True, sort_keys=False))


@app.command("escalate")
@friendly_errors
def escalate() -> None:
    """One pass of the escalation job over every workspace (the worker runs it every minute)."""
    from liuyu.jobs.tickets import escalate_tickets

    print_json({"escalations": escalate_tickets(container().engine, _now())})


@app.command("followups")
@friendly_errors
def run_followups(workspace: str | None = WorkspaceOption) -> None:
    """One pass of the order follow-ups (催付, logistics, surveys) for a workspace."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        report = followups.run_followups(uow, ws, _now())
        uow.commit()
    print_json(followups.report_dict(report))


@app.command("reminders")
@friendly_errors
def reminders(
    workspace: str | None = WorkspaceOption,
    since: str | None = typer.Option(None, help="Only reminders sent from this ISO 8601 time on."),
) -> None:
    """Payment reminders (催付) sent, and how many of those orders were paid after their reminder."""
    c = container()
    ws = resolve_workspace(c, workspace)
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError as exc:
            raise InvalidInput("give the time as ISO 8601", field="--since", value=since) from exc
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    with SqlUnitOfWork(c.engine) as uow:
        print_json(followups.reminders(uow, ws, start))


@app.command("parcels")
@friendly_errors
def parcels(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL: one parcel state a line."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Load a parcel feed (order_id, tracking_no, status, last_update_at[, delivered_at, platform])."""
    c = container()
    ws = resolve_workspace(c, workspace)
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"not JSON ({exc.msg})", where=f"line {number}") from exc
    with SqlUnitOfWork(c.engine) as uow:
        stored = followups.record_parcels(uow, ws, items, _now())
        uow.commit()
    print_json(stored)
