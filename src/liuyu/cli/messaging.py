"""``liuyu messaging …``: providers, templates, guardrails, consent, suppression, sends and the worker."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.errors import InvalidInput
from liuyu.services import messaging_setup as setup
from liuyu.storage.uow import SqlUnitOfWork

app = typer.Typer(help="Outbound messages: providers, templates, guardrails, consent, sends.", no_args_is_help=True)
ACTOR = "cli"


def _json(text: str | None, path: Path | None, name: str) -> dict[str, Any]:
    if path is not None:
        text = path.read_text(encoding="utf-8")
    if not text:
        return {}
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not JSON ({exc.msg}, line {exc.lineno})", field=name) from exc
    if not isinstance(found, dict):
        raise InvalidInput("must be a JSON object", field=name)
    return found


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("is not an ISO 8601 time", field="at", value=value) from exc
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone (e.g. +08:00)", field="at", value=value)
    return at.astimezone(UTC)


@app.command()
@friendly_errors
def provider(
    channel: str = typer.Argument(..., help="email, sms, wechat_template or webhook."),
    kind: str = typer.Option(..., help="smtp (email), http (sms, wechat_template, email) or webhook."),
    name: str = typer.Option(..., help="A name to recognise the provider by, e.g. 阿里云短信."),
    config: str | None = typer.Option(None, help="The settings as JSON (see docs/messaging.md)."),
    config_file: Path | None = typer.Option(None, exists=True, dir_okay=False, help="The settings from a JSON file."),
    rotate: bool = typer.Option(False, help="A webhook: issue a new signing secret."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Configure how a channel's messages leave; a webhook's signing secret is shown once."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        shown = setup.configure_provider(
            uow, ws, channel, kind=kind, name=name, config=_json(config, config_file, "config"), rotate=rotate
        )
        uow.commit()
    print_json(shown)
    if "secret" in shown:
        console.print("[yellow]Store the secret now; liuyu will not show it again.[/yellow]")


@app.command()
@friendly_errors
def providers(workspace: str | None = WorkspaceOption) -> None:
    """The configured providers, credentials masked."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        print_json([setup.public_provider(p) for p in uow.messaging.providers(ws)])


@app.command()
@friendly_errors
def template(
    channel: str = typer.Argument(..., help="email, sms, wechat_template or webhook."),
    name: str = typer.Argument(..., help="The name journeys and manual sends use."),
    body: str = typer.Option(..., help="The text, with {{variable}} placeholders."),
    subject: str = typer.Option("", help="The subject (email)."),
    provider_template: str | None = typer.Option(None, help="The provider's template id or code."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Create or change a message template."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        saved = setup.save_template(
            uow, ws, channel, name, body=body, subject=subject, provider_template=provider_template
        )
        uow.commit()
    print_json(saved)


@app.command()
@friendly_errors
def guardrails(
    change: str | None = typer.Option(None, help='Changes as JSON, e.g. {"caps": [{"limit": 2, "days": 7}]}.'),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Show (or change) the workspace's caps, quiet hours, consent mode and suppression signals."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        if change:
            shown = setup.change_guardrails(uow, ws, _json(change, None, "change"))
            uow.commit()
        else:
            shown = setup.guardrail_settings(uow, ws)
    print_json(shown)


@app.command()
@friendly_errors
def consent(
    customer_id: int = typer.Argument(...),
    channel: str = typer.Argument(..., help="email, sms, wechat_template or webhook."),
    status: str = typer.Argument(..., help="opt_in or opt_out."),
    source: str = typer.Option(..., help="Where the customer said so, e.g. 小程序注册页."),
    evidence: str = typer.Option("", help="The proof: the consent text shown, the reply received."),
    at: str | None = typer.Option(None, help="When the customer said so (ISO 8601 with zone); default now."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Record an opt-in or opt-out with its proof; the latest one counts."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        shown = setup.record_consent(
            uow, ws, customer_id, channel, status, source=source, evidence=evidence, actor=ACTOR, at=_time(at)
        )
        uow.commit()
    print_json(shown)


@app.command()
@friendly_errors
def consents(customer_id: int = typer.Argument(...), workspace: str | None = WorkspaceOption) -> None:
    """A customer's consent log and what counts now per channel."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        print_json(setup.consents_of(uow, ws, customer_id))


@app.command()
@friendly_errors
def suppress(
    kind: str = typer.Argument(..., help="phone, email or customer."),
    value: str = typer.Argument(...),
    reason: str = typer.Option(..., help="Why (kept with the entry)."),
    remove: bool = typer.Option(False, help="Take the entry off the list instead."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Put a phone, email or customer on the suppression list (or take it off)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        if remove:
            setup.unsuppress(uow, ws, kind, value)
            shown: dict[str, Any] = {"removed": {"kind": kind, "value": value}}
        else:
            shown = setup.suppress(uow, ws, kind, value, reason=reason, actor=ACTOR)
        uow.commit()
    print_json(shown)


@app.command()
@friendly_errors
def suppressions(workspace: str | None = WorkspaceOption) -> None:
    """The suppression list, newest first."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        print_json([setup.public_suppression(r) for r in uow.messaging.suppressions(ws)])


@app.command()
@friendly_errors
def send(
    customer_id: int = typer.Argument(...),
    channel: str = typer.Argument(..., help="email, sms, wechat_template or webhook."),
    template_name: str = typer.Argument(..., metavar="TEMPLATE"),
    variables: str | None = typer.Option(None, "--vars", help='Template variables as JSON, e.g. {"name": "小鹿"}.'),
    purpose: str = typer.Option("marketing", help="marketing, service or transactional."),
    key: str | None = typer.Option(None, help="Idempotency key; sending the same key again is a no-op."),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Send one message by hand, through the same guardrails as a journey."""
    from liuyu.services.messaging import SendRequest, request_send

    c = container()
    ws = resolve_workspace(c, workspace)
    now = datetime.now(UTC)
    request = SendRequest(
        workspace_id=ws,
        customer_id=customer_id,
        channel=channel,
        template=template_name,
        variables=_json(variables, None, "vars"),
        purpose=purpose,
        source=f"manual:{ACTOR}",
        idempotency_key=key or f"manual:{ACTOR}:{now.isoformat()}:{customer_id}:{channel}:{template_name}",
    )
    with SqlUnitOfWork(c.engine) as uow:
        decision = request_send(uow, request, now=now)
        uow.commit()
    print_json(vars(decision))


@app.command()
@friendly_errors
def decisions(
    customer_id: int = typer.Argument(...),
    limit: int = typer.Option(50, min=1, max=1000),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Every send decision about a customer: queued, deferred or skipped with the reason; delivery status."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        print_json(setup.decisions_of(uow, ws, customer_id, limit=limit))


@app.command()
@friendly_errors
def deliver(
    loop: bool = typer.Option(False, help="Keep polling (a long-running worker) instead of one pass."),
    interval: float = typer.Option(2.0, help="Seconds between passes when looping."),
    limit: int = typer.Option(100, help="Rows claimed per pass."),
) -> None:
    """Deliver due outbox rows (messaging sends and service replies) with retries and backoff."""
    from liuyu.jobs.outbox import deliver_pass

    c = container()
    while True:
        report = deliver_pass(c.engine, datetime.now(UTC), limit=limit)
        print_json(vars(report))
        if not loop:
            return
        time.sleep(interval if report.claimed < limit else 0)
