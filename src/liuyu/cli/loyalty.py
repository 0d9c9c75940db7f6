"""``liuyu members …``, ``liuyu points …`` and ``liuyu coupons …``: the member center from the command line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from liuyu.cli.common import WorkspaceOption, console, container, friendly_errors, print_json, resolve_workspace
from liuyu.domain.errors import InvalidInput
from liuyu.services import loyalty
from liuyu.storage.uow import SqlUnitOfWork

members_app = typer.Typer(help="Show and enroll members; show or set the loyalty program.", no_args_is_help=True)
program_app = typer.Typer(help="The workspace's loyalty program (YAML).", no_args_is_help=True)
points_app = typer.Typer(help="Redeem, adjust and expire points.", no_args_is_help=True)
coupons_app = typer.Typer(help="Coupon templates, issuing and redemption.", no_args_is_help=True)
members_app.add_typer(program_app, name="program")

OPERATOR = "cli"


def _now() -> datetime:
    return datetime.now(UTC)


def _at(text: str | None) -> datetime:
    if not text:
        return _now()
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput("give the time as ISO 8601, e.g. 2026-12-31T16:00:00+00:00", field="at", value=text) from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@members_app.command("show")
@friendly_errors
def show(
    customer_id: int, workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")
) -> None:
    """The member card: tier and progress, points, what expires when, coupons and benefits."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        card = loyalty.card(uow, ws, customer_id, at=_now())
    if as_json:
        print_json(card)
        return
    tier, points = card["tier"], card["points"]
    console.print(
        f"[bold]Member {card['member_no']}[/bold] (customer {card['customer_id']}) joined via {card['join_channel']}"
    )
    nxt = f", {tier['remaining']} to {tier['next_tier']}" if tier["next_tier"] else ""
    console.print(f"  tier {tier['code']} {tier['name']} ({tier['basis']} {tier['value']}{nxt})")
    console.print(f"  points available {points['available']}, pending {points['pending']}, owed {points['debt']}")
    if card["next_expiry"]:
        console.print(f"  next expiry {card['next_expiry']['points']} points at {card['next_expiry']['at']}")
    for coupon in card["coupons"]:
        console.print(f"  coupon {coupon['code']} {coupon['template']} {coupon['status']}")
    for benefit in card["benefits"]:
        used = " (used)" if benefit["used"] else ""
        console.print(f"  benefit {benefit['kind']} {benefit['value']}{used}")


@members_app.command("enroll")
@friendly_errors
def enroll(
    customer_id: int,
    channel: str = typer.Option("other", help="Where the member joined: app, store, tmall, …"),
    consent: list[str] = typer.Option([], help="Consents given: marketing_sms, marketing_wechat, marketing_email, …"),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Make a customer a member (enrolling twice keeps the first enrollment)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        member = loyalty.enroll(
            uow, ws, customer_id, channel=channel, at=_now(), consents=dict.fromkeys(consent, True), actor=OPERATOR
        )
        uow.commit()
    console.print(f"Customer {customer_id} is member {member['member_no']} (joined via {member['join_channel']}).")


@program_app.command("show")
@friendly_errors
def program_show(workspace: str | None = WorkspaceOption) -> None:
    """Print the program in force (the default one until an admin sets one)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        stored = uow.loyalty.program_source(ws)
        program = uow.loyalty.program(ws)
    if stored and stored["source"]:
        typer.echo(stored["source"])
    else:
        print_json(loyalty.program_document(program))


@program_app.command("set")
@friendly_errors
def program_set(
    file: Path = typer.Argument(..., exists=True, dir_okay=False), workspace: str | None = WorkspaceOption
) -> None:
    """Validate a program written in YAML and make it the workspace's; problems name the field path."""
    c = container()
    ws = resolve_workspace(c, workspace)
    text = file.read_text(encoding="utf-8")
    with SqlUnitOfWork(c.engine) as uow:
        try:
            program = loyalty.set_program(uow, ws, text, actor=OPERATOR, at=_now())
        except InvalidInput as exc:
            for problem in getattr(exc, "problems", []) or []:
                console.print(f"[red]{problem['field']}: {problem['reason']} (got {problem.get('value')!r})[/red]")
            raise
        uow.commit()
    console.print(f"Program {program.code} set: {len(program.tiers)} tiers, {len(program.rules)} rule versions.")


@points_app.command("redeem")
@friendly_errors
def redeem(
    customer_id: int,
    points: int,
    request_id: str = typer.Option(None, help="Idempotency key: running the same request again spends nothing more"),
    reason: str = typer.Option("", help="What the points were spent on"),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Spend a member's points (refused when they do not have enough)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    request = request_id or uuid.uuid4().hex
    with SqlUnitOfWork(c.engine) as uow:
        result = loyalty.redeem(uow, ws, customer_id, points=points, request_id=request, at=_now(), reason=reason)
        uow.commit()
    note = " (already done before)" if result["replayed"] else ""
    console.print(f"Redeemed {points} points of customer {customer_id}, request {request}{note}.")


@points_app.command("adjust")
@friendly_errors
def adjust(
    customer_id: int,
    points: int = typer.Argument(..., help="Positive grants, negative takes back"),
    reason: str = typer.Option(..., help="Why: kept in the ledger"),
    operator: str = typer.Option(OPERATOR, help="Who decided it"),
    adjustment_id: str = typer.Option(None, help="Idempotency key"),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Grant or take back points, with the operator and a reason."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        loyalty.adjust(
            uow,
            ws,
            customer_id,
            points=points,
            adjustment_id=adjustment_id or uuid.uuid4().hex,
            operator=operator,
            reason=reason,
            at=_now(),
        )
        uow.commit()
    console.print(f"Adjusted customer {customer_id} by {points:+d} points ({reason}).")


@points_app.command("run-due")
@points_app.command("expire", help="Same as run-due (the older name).")
@friendly_errors
def expire(
    at: str = typer.Option(None, help="Run as of this time (ISO 8601); default now"),
    workspace: str | None = WorkspaceOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The daily job: release points whose window closed, expire lots and coupons, review tiers, birthday bonuses."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        result = loyalty.run_due(uow, ws, at=_at(at))
        uow.commit()
    if as_json:
        print_json(result)
        return
    console.print(
        f"Released {result['released']} pending points; expired {result['expired']} points "
        f"and {result['coupons_expired']} coupons; {result['birthday_bonuses']} birthday bonuses."
    )


@coupons_app.command("template")
@friendly_errors
def templates(workspace: str | None = WorkspaceOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the program's coupon templates (set them in the program YAML)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        found = loyalty.program_document(uow.loyalty.program(ws))["coupon_templates"]
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No coupon templates: add them under coupon_templates in the program.")
    for t in found:
        console.print(f"{t['code']:<12} {t['kind']:<14} {t['name']}  valid {t['valid_days']} days")


@coupons_app.command("issue")
@friendly_errors
def issue(
    template: str,
    customer_ids: list[int] = typer.Argument(None, help="One customer id or several (or use --segment)"),
    segment: str = typer.Option(None, help="A saved segment's name or a segment expression: everyone it holds now"),
    run_key: str = typer.Option(None, help="With --segment: the run's idempotency key (default: the segment)"),
    batch: str = typer.Option(None, help="Batch name (codes are numbered within it)"),
    workspace: str | None = WorkspaceOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Issue one unique coupon per customer, to a list or to a segment's result (again: newcomers only)."""
    if bool(customer_ids) == bool(segment):
        raise InvalidInput("give customer ids or --segment, not both and not neither", field="segment")
    c = container()
    ws = resolve_workspace(c, workspace)
    now = _now()
    with SqlUnitOfWork(c.engine) as uow:
        if segment:
            result = loyalty.issue_to_segment(uow, ws, template, segment, at=now, run_key=run_key)
            made = result["coupons"]
        else:
            made = loyalty.issue_coupons(
                uow, ws, template, customer_ids, at=now, batch=batch or f"{template}-{now:%Y%m%d%H%M%S}"
            )
        uow.commit()
    if as_json:
        print_json(result if segment else made)
        return
    for coupon in made:
        console.print(f"{coupon['code']}  customer {coupon['customer_id']}  until {coupon['expires_at']}")
    if segment:
        console.print(
            f"Segment {result['segment']}: {result['matched']} customers, {result['issued']} coupons issued, "
            f"{result['already_held']} already held one (batch {result['batch']})."
        )


@coupons_app.command("claim")
@friendly_errors
def claim(
    code: str = typer.Argument(..., help="The shared batch code, e.g. DOUBLE11"),
    customer_id: int = typer.Option(..., "--customer"),
    workspace: str | None = WorkspaceOption,
) -> None:
    """A member claims a shared batch code and gets a coupon of their own (once per batch)."""
    c = container()
    ws = resolve_workspace(c, workspace)
    with SqlUnitOfWork(c.engine) as uow:
        coupon = loyalty.claim_coupon(uow, ws, code, customer_id=customer_id, at=_now())
        uow.commit()
    console.print(
        f"Customer {customer_id} claimed {coupon['batch']}: coupon {coupon['code']} until {coupon['expires_at']}."
    )


@coupons_app.command("redeem")
@friendly_errors
def redeem_coupon(
    code: str,
    customer_id: int = typer.Option(..., "--customer"),
    order_id: str = typer.Option(..., "--order"),
    channel: str = typer.Option(..., help="Where the order is placed: store, app, tmall, …"),
    amount: str = typer.Option(..., help="The order amount in yuan, e.g. 250.00"),
    category: str = typer.Option(None, help="The category of the order's goods"),
    workspace: str | None = WorkspaceOption,
) -> None:
    """Use a coupon on an order, exactly once."""
    c = container()
    ws = resolve_workspace(c, workspace)
    try:
        money = Decimal(amount)
    except InvalidOperation as exc:
        raise InvalidInput("the amount must be a number of yuan", field="amount", value=amount) from exc
    with SqlUnitOfWork(c.engine) as uow:
        result = loyalty.redeem_coupon(
            uow,
            ws,
            code,
            customer_id=customer_id,
            order_id=order_id,
            channel=channel,
            lines=[(money, category)],
            at=_now(),
        )
        uow.commit()
    console.print(f"Coupon {result['code']} redeemed on order {order_id}: ¥{result['discount']} off.")
