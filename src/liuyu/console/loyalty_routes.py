"""Console pages of the member center: one member's card and ledger, and the program overview."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response

from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.errors import NotFound
from liuyu.services import loyalty
from liuyu.storage.uow import SqlUnitOfWork

LEDGER_KINDS = ("earn", "release", "redeem", "expire", "reverse", "adjust", "settle")


def mount(app: FastAPI) -> None:
    @app.get("/console/members/{customer_id}", include_in_schema=False)
    def member_page(customer_id: int, request: Request, kind: str = "", since: str = "", until: str = "") -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        filters = {"kind": kind if kind in LEDGER_KINDS else None, "since": _day(since), "until": _day(until)}
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            try:
                card = loyalty.card(uow, principal.workspace_id, customer_id, at=datetime.now(UTC))
                entries = loyalty.ledger(uow, principal.workspace_id, customer_id, **filters)
            except NotFound:
                return render(request, "not_found.html", principal, status=404, what=customer_id)
        return render(
            request,
            "loyalty/member.html",
            principal,
            active="loyalty",
            card=card,
            entries=entries,
            kinds=LEDGER_KINDS,
            kind=filters["kind"] or "",
            since=since if filters["since"] else "",
            until=until if filters["until"] else "",
        )

    @app.get("/console/loyalty", include_in_schema=False)
    def overview_page(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            program = uow.loyalty.program(principal.workspace_id)
            members = uow.loyalty.members(principal.workspace_id)
            monthly = uow.loyalty.monthly_points(principal.workspace_id)
        return render(
            request, "loyalty/overview.html", principal, active="loyalty", **overview(program, members, monthly)
        )


def overview(program: Any, members: list[dict[str, Any]], monthly: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Members by tier and channel, points per month, and what the program still owes, as bar widths."""
    by_tier = Counter(m["tier"] for m in members)
    tiers = [(t.code, t.name or t.code, by_tier.get(t.code, 0)) for t in program.tiers]
    channels = Counter(m["join_channel"] for m in members).most_common()
    months: dict[str, dict[str, int]] = {}
    for month, kind, points in monthly:
        if kind in ("earn", "redeem", "expire"):
            months.setdefault(month, {"earn": 0, "redeem": 0, "expire": 0})[kind] += points
    most = max([1, *(v for row in months.values() for v in row.values())])
    return {
        "program": program,
        "member_count": len(members),
        "tiers": tiers,
        "tier_max": max([1, *(n for _, _, n in tiers)]),
        "channels": channels,
        "channel_max": max([1, *(n for _, n in channels)]),
        "months": sorted(months.items()),
        "month_max": most,
        "available": sum(m["available"] for m in members),
        "pending": sum(m["pending"] for m in members),
    }


def _day(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        return None
