"""Console page for messaging: providers, templates, guardrails, recent send decisions with their
reasons, the suppression list, and one customer's consent log and sends.

Phones and emails (suppression entries, decision details, consent proofs) are masked for the roles
that may not see them, as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response

from liuyu.api.masking import mask_summary
from liuyu.api.routes.conversations import mask_text
from liuyu.api.routes.messaging import SENDERS, VIEWERS
from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.customers.identifiers import mask_value
from liuyu.domain.errors import LiuyuError
from liuyu.services import messaging_setup as setup
from liuyu.services.accounts import Principal
from liuyu.storage.customer_queries import customer_summaries, find_customers
from liuyu.storage.uow import SqlUnitOfWork

REPORT_DAYS = 30
TIMES = ("decided_at", "not_before", "sent_at", "at", "created_at", "updated_at")


def _dated(row: dict[str, Any]) -> dict[str, Any]:
    """The API's ISO times back to datetimes, for the page's local-time display."""
    return {k: datetime.fromisoformat(v) if k in TIMES and isinstance(v, str) else v for k, v in row.items()}


def _masked_send(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    row = _dated(row)
    return row if principal.sees_pii else {**row, "detail": mask_text(row["detail"]), "last_error": None}


def _masked_entry(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    row = _dated(row)
    if row["kind"] == "customer" or principal.sees_pii:
        return row
    return {**row, "value": mask_value(row["kind"], row["value"])}


def _lookup(uow: SqlUnitOfWork, principal: Principal, query: str) -> dict[str, Any] | None:
    """The first customer matching ``query`` (id, phone, name, identifier), with consents and sends."""
    ids = find_customers(uow.conn, principal.workspace_id, query, limit=1)
    if not ids:
        return None
    summary = customer_summaries(uow.conn, principal.workspace_id, ids[:1])[0]
    consents = setup.consents_of(uow, principal.workspace_id, ids[0])
    sends = setup.decisions_of(uow, principal.workspace_id, ids[0], limit=50)["sends"]
    if not principal.sees_pii:
        consents["log"] = [{**c, "evidence": mask_text(c["evidence"])} for c in consents["log"]]
    consents["log"] = [_dated(c) for c in consents["log"]]
    return {
        "customer": mask_summary(summary, principal),
        "current": consents["current"],
        "log": list(reversed(consents["log"])),  # newest first, like the sends
        "sends": [_masked_send(s, principal) for s in sends],
    }


def mount(app: FastAPI) -> None:
    @app.get("/console/messaging", include_in_schema=False)
    def messaging_page(request: Request, reason: str = "", customer: str = "") -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        error = None
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            try:
                principal.require(*VIEWERS)
                decisions = setup.workspace_decisions(
                    uow, principal.workspace_id, reason=reason or None, days=REPORT_DAYS, limit=100
                )
            except LiuyuError as exc:
                return render(request, "error.html", principal, status=400, message=str(exc))
            providers = (
                [_dated(setup.public_provider(p)) for p in uow.messaging.providers(principal.workspace_id)]
                if principal.role in (*SENDERS, "supervisor")
                else None
            )
            templates = [setup.public_template(t) for t in uow.messaging.templates(principal.workspace_id)]
            guardrails = setup.guardrail_settings(uow, principal.workspace_id)
            suppressions = [
                _masked_entry(setup.public_suppression(r), principal)
                for r in uow.messaging.suppressions(principal.workspace_id, limit=200)
            ]
            found = None
            if customer.strip():
                try:
                    found = _lookup(uow, principal, customer)
                except LiuyuError as exc:
                    error = str(exc)
        return render(
            request,
            "messaging/page.html",
            principal,
            active="messaging",
            providers=providers,
            templates=templates,
            guardrails=guardrails,
            decisions=decisions,
            sends=[_masked_send(s, principal) for s in decisions["sends"]],
            reasons=setup.ALL_REASONS,
            suppressions=suppressions,
            customer=customer,
            found=found,
            error=error,
        )
