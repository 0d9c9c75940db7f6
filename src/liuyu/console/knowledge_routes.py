"""Console page for the knowledge base: articles with their use and staleness, gaps with their
conversations, mined FAQ pairs, document upload, and bot-first settings with containment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from liuyu.api.routes.conversations import mask_text
from liuyu.api.routes.knowledge import EDITOR_ROLES, MAX_FILES, MAX_UPLOAD, _import
from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.errors import InvalidInput, LiuyuError
from liuyu.services import bot_first, knowledge
from liuyu.services.accounts import Principal
from liuyu.services.inbox import IMPORT_CHANNELS
from liuyu.storage.uow import SqlUnitOfWork

STALE_DAYS, REPORT_DAYS, DEFAULT_THRESHOLD = 180, 30, 0.8


def _page(
    request: Request, principal: Principal, *, status: int = 200, upload: dict[str, Any] | None = None, **extra: Any
) -> Response:
    with SqlUnitOfWork(request.app.state.container.engine) as uow:
        found = knowledge.knowledge_report(uow, principal.workspace_id, stale_days=STALE_DAYS, gap_limit=100)
        saved = {r["channel"]: r for r in uow.knowledge.bot_settings(principal.workspace_id)}
        containment = bot_first.bot_report(uow, principal.workspace_id, days=REPORT_DAYS)
    gaps = found["gaps"]
    if not principal.sees_pii:  # a question may quote a phone or an email
        gaps = [{**g, "question": mask_text(g["question"])} for g in gaps]
    bots = [
        {
            "channel": channel,
            "enabled": bool(saved[channel]["enabled"]) if channel in saved else False,
            "threshold": float(saved[channel]["threshold"]) if channel in saved else DEFAULT_THRESHOLD,
        }
        for channel in IMPORT_CHANNELS
    ]
    return render(
        request,
        "kb/page.html",
        principal,
        status=status,
        active="kb",
        articles=found["articles"],
        faqs=found["faqs"],
        gaps=gaps,
        bots=bots,
        containment=containment,
        stale_days=STALE_DAYS,
        can_edit=principal.role in EDITOR_ROLES,
        upload=upload,
        max_files=MAX_FILES,
        **extra,
    )


def mount(app: FastAPI) -> None:
    @app.get("/console/kb", include_in_schema=False)
    def kb_page(request: Request, saved: str = "") -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        return _page(request, principal, saved=saved)

    @app.post("/console/kb/upload", include_in_schema=False)
    async def upload(request: Request, files: Annotated[list[UploadFile], File()]) -> Response:
        """Each file becomes an article (as ``POST /api/v1/kb/articles``); the page shows each file's result."""
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            principal.require(*EDITOR_ROLES)
            chosen = [f for f in files if f.filename]
            if not 1 <= len(chosen) <= MAX_FILES:
                raise InvalidInput(f"choose 1-{MAX_FILES} files", field="files")
            loaded = [(f.filename or "", await f.read(MAX_UPLOAD + 1)) for f in chosen]
            result = await run_in_threadpool(_import, request.app.state.container, principal.workspace_id, loaded)
        except LiuyuError as exc:
            return await run_in_threadpool(
                _page, request, principal, status=400, upload={"articles": [], "errors": [], "message": str(exc)}
            )
        return await run_in_threadpool(_page, request, principal, status=200, upload=result)

    @app.post("/console/kb/bot/{channel}", include_in_schema=False)
    def set_bot(
        channel: str, request: Request, enabled: str = Form(""), threshold: str = Form(str(DEFAULT_THRESHOLD))
    ) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            principal.require(*EDITOR_ROLES)
            try:
                value = float(threshold)
            except ValueError:
                raise InvalidInput("must be a number between 0 and 1", field="threshold", value=threshold) from None
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                bot_first.configure_bot(uow, principal.workspace_id, channel, enabled=bool(enabled), threshold=value)
                uow.commit()
        except LiuyuError as exc:
            return _page(request, principal, status=400, bot_error={"channel": channel, "text": str(exc)})
        return RedirectResponse(f"/console/kb?saved={channel}#bot", status_code=303)
