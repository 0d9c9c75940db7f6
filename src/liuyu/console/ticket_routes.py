"""Tickets in the console: queues with SLA state, a ticket with its audit trail, transfer and resolve,
supervisor notifications, and "open ticket" from a conversation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from liuyu.api.routes.conversations import AGENT_ROLES
from liuyu.api.routes.tickets import public, public_line
from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.errors import LiuyuError
from liuyu.services import tickets
from liuyu.storage.uow import SqlUnitOfWork


def mount(app: FastAPI) -> None:
    @app.get("/console/tickets", include_in_schema=False)
    def ticket_list(request: Request, queue: str = "", status: str = "open", breached: bool = False) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        now = datetime.now(UTC)
        status = status if status in tickets.STATUSES else ""
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            ws = principal.workspace_id
            rows = uow.tickets.list_tickets(
                ws, queue=queue or None, status=status or None, breached_by=now if breached else None, limit=200
            )
            queues = uow.tickets.queue_counts(ws, now)
            notes = uow.tickets.notifications(ws, limit=20)
        return render(
            request,
            "tickets/list.html",
            principal,
            active="tickets",
            rows=[public(r, principal, now) for r in rows],
            queues=queues,
            notifications=notes,
            filters={"queue": queue, "status": status, "breached": breached},
            statuses=tickets.STATUSES,
        )

    @app.get("/console/tickets/{ticket_id}", include_in_schema=False)
    def ticket_page(ticket_id: int, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        now = datetime.now(UTC)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            try:
                view = tickets.ticket_view(uow, principal.workspace_id, ticket_id, now)
            except LiuyuError:
                return render(request, "not_found.html", principal, status=404, what=ticket_id)
            queues = tickets.load_settings(uow, principal.workspace_id).known_queues()
        return render(
            request,
            "tickets/detail.html",
            principal,
            active="tickets",
            ticket=public(view["ticket"], principal, now),
            sla=view["sla"],
            history=[public_line(h, principal) for h in view["history"]],
            queues=[q for q in queues if q != view["ticket"]["queue"]],
            priorities=tickets.PRIORITIES,
        )

    @app.post("/console/tickets/{ticket_id}", include_in_schema=False)
    def act(
        ticket_id: int,
        request: Request,
        action: str = Form(...),
        reason: str = Form(""),
        to_queue: str = Form(""),
        priority: str = Form(""),
    ) -> Response:
        """One form endpoint for the ticket's actions: transfer, resolve, reopen, take, priority, responded."""
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        now, actor, ws = datetime.now(UTC), principal.actor, principal.workspace_id
        try:
            principal.require(*AGENT_ROLES)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                if action == "transfer":
                    tickets.transfer_ticket(uow, ws, ticket_id, to_queue=to_queue, reason=reason, actor=actor, now=now)
                elif action == "resolve":
                    tickets.resolve_ticket(uow, ws, ticket_id, actor=actor, now=now, reason=reason)
                elif action == "reopen":
                    tickets.reopen_ticket(uow, ws, ticket_id, actor=actor, now=now, reason=reason)
                elif action == "take":
                    tickets.change_ticket(uow, ws, ticket_id, actor=actor, now=now, assignee=actor)
                elif action == "priority":
                    tickets.change_ticket(uow, ws, ticket_id, actor=actor, now=now, priority=priority, reason=reason)
                elif action == "responded":
                    tickets.change_ticket(uow, ws, ticket_id, actor=actor, now=now, responded=True)
                else:
                    return render(request, "error.html", principal, status=400, message=f"unknown action {action!r}")
                uow.commit()
        except LiuyuError as exc:
            return render(request, "error.html", principal, status=400, message=str(exc))
        return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)

    @app.post("/console/conversations/{conversation_id}/ticket", include_in_schema=False)
    def open_from_conversation(
        conversation_id: int, request: Request, subject: str = Form(""), category: str = Form("")
    ) -> Response:
        """The inbox's "open ticket": routed from the conversation's channel, intent, customer and order."""
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            principal.require(*AGENT_ROLES)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                row: dict[str, Any] = tickets.open_ticket(
                    uow, principal.workspace_id, customer_id=None, subject=subject, category=category or None,
                    conversation_id=conversation_id, source="conversation", actor=principal.actor,
                    now=datetime.now(UTC),
                )  # fmt: skip
                uow.commit()
        except LiuyuError as exc:
            return render(request, "error.html", principal, status=400, message=str(exc))
        return RedirectResponse(f"/console/tickets/{row['id']}", status_code=303)

    @app.post("/console/tickets-notifications/read", include_in_schema=False)
    def read_notifications(request: Request, ids: list[int] = Form(...)) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            uow.tickets.mark_read(principal.workspace_id, ids, datetime.now(UTC))
            uow.commit()
        return RedirectResponse("/console/tickets", status_code=303)
