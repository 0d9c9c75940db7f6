"""The agent workspace in the console: the inbox, a conversation, notes, status and replies.

Pages are rendered on the server; ``static/inbox.js`` listens to the conversation stream and
swaps in the fresh list and messages without a reload.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from liuyu.api.routes.conversations import AGENT_ROLES, customer_card, mask_conversation, mask_message, mask_text
from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.errors import LiuyuError
from liuyu.services import inbox
from liuyu.storage.uow import SqlUnitOfWork

HEAT = ("none", "low", "medium", "high")


def _attachments(uow: SqlUnitOfWork, principal: Any, message_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each message's files with name, size and the download URL (served as inert downloads only);
    a phone or email in a file name is masked like the message text."""
    by_message: dict[int, list[dict[str, Any]]] = {}
    for row in uow.quality.message_attachments(principal.workspace_id, message_ids):
        name = row["filename"] if principal.sees_pii else mask_text(row["filename"])
        shown = {
            "id": row["id"],
            "filename": name,
            "size": row["size"],
            "url": f"/api/v1/service/attachments/{row['id']}",
        }
        by_message.setdefault(row["message_id"], []).append(shown)
    return by_message


def mount(app: FastAPI) -> None:
    @app.get("/console/inbox", include_in_schema=False)
    def inbox_page(
        request: Request, c: int | None = None, status: str = "", channel: str = "", mine: bool = False
    ) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        status = status if status in inbox.STATUSES else ""
        assignee = principal.actor if mine else None
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            rows = uow.service.inbox(
                principal.workspace_id, status=status or None, channel=channel or None, assignee=assignee, limit=200
            )
            view: dict[str, Any] | None = None
            if c is not None:
                try:
                    found = inbox.conversation_view(uow, principal.workspace_id, c)
                except LiuyuError:
                    return render(request, "not_found.html", principal, status=404, what=c)
                files = _attachments(uow, principal, [m["id"] for m in found["messages"]])
                view = {
                    "conversation": mask_conversation(found["conversation"], principal),
                    "messages": [
                        {**mask_message(m, principal), "attachments": files.get(m["id"], [])} for m in found["messages"]
                    ],
                    "customer": customer_card(
                        uow, principal.workspace_id, found["conversation"]["customer_id"], principal
                    ),
                }
        return render(
            request,
            "service/inbox.html",
            principal,
            active="inbox",
            rows=[mask_conversation(r, principal) for r in rows],
            view=view,
            filters={"status": status, "channel": channel, "mine": mine},
            statuses=inbox.STATUSES,
            channels=inbox.IMPORT_CHANNELS,
            heat=HEAT,
            reply_key=uuid.uuid4().hex,  # a double-clicked Send stores one reply
        )

    @app.post("/console/inbox/{conversation_id}", include_in_schema=False)
    def act(
        conversation_id: int,
        request: Request,
        action: str = Form(...),
        text: str = Form(""),
        status: str = Form(""),
        key: str = Form(""),
    ) -> Response:
        """One form endpoint for the agent's actions: reply, note, status, take (assign to me)."""
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            principal.require(*AGENT_ROLES)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                ws = principal.workspace_id
                if action == "reply":
                    inbox.reply(uow, ws, conversation_id, text, principal.actor, idempotency_key=key or None)
                elif action == "note":
                    inbox.add_note(uow, ws, conversation_id, text, principal.actor)
                elif action == "status":
                    inbox.change_conversation(uow, ws, conversation_id, status=status)
                elif action == "take":
                    inbox.change_conversation(uow, ws, conversation_id, assignee=principal.actor)
                else:
                    return render(request, "error.html", principal, status=400, message=f"unknown action {action!r}")
                uow.commit()
        except LiuyuError as exc:
            return render(request, "error.html", principal, status=400, message=str(exc))
        return RedirectResponse(f"/console/inbox?c={conversation_id}", status_code=303)
