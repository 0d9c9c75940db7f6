"""Console page of the built-in playbooks: a switch and the editable values of each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.errors import LiuyuError
from liuyu.services import playbooks
from liuyu.storage.uow import SqlUnitOfWork

EDITORS = ("admin", "operator")


def _page(request: Request, principal: Any, *, status: int = 200, error: dict[str, str] | None = None) -> Response:
    with SqlUnitOfWork(request.app.state.container.engine) as uow:
        rows = playbooks.list_playbooks(uow, principal.workspace_id)
    for row in rows:
        row["shown"] = {k: ",".join(v) if isinstance(v, list) else v for k, v in row["params"].items()}
    return render(
        request,
        "playbooks/list.html",
        principal,
        status=status,
        active="playbooks",
        playbooks=rows,
        can_edit=principal.role in EDITORS,
        error=error or {},
        saved=request.query_params.get("saved", ""),
    )


def mount(app: FastAPI) -> None:
    @app.get("/console/playbooks", include_in_schema=False)
    def playbooks_page(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        return _page(request, principal)

    @app.post("/console/playbooks/{name}", include_in_schema=False)
    async def save(name: str, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        form = await request.form()
        try:
            principal.require(*EDITORS)
            book = playbooks.playbook(name)
            given = {p.name: str(form[p.name]) for p in book.parameters if p.name in form}
            now = datetime.now(UTC)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                if form.get("enabled") == "on":
                    playbooks.enable(uow, principal.workspace_id, name, given, actor=principal.actor, now=now)
                else:
                    playbooks.disable(uow, principal.workspace_id, name, actor=principal.actor, now=now)
                uow.commit()
        except LiuyuError as exc:
            return _page(request, principal, status=400, error={"name": name, "text": str(exc)})
        return RedirectResponse(f"/console/playbooks?saved={name}#{name}", status_code=303)
