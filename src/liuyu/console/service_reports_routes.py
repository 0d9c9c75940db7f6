"""The service reports page: figures by agent, team, channel, intent or period; each figure opens
the conversations behind it, and every list downloads as CSV (the API's export). A conversation's
QA page shows each criterion with its evidence and lets a supervisor override it with a reason."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from liuyu.api.routes.service_quality import DRILLS, drill_url, mask_row
from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.errors import LiuyuError
from liuyu.services import quality
from liuyu.storage import service_reports
from liuyu.storage.uow import SqlUnitOfWork

FIGURES = tuple(DRILLS)
_DAY = 10


def _day(value: str) -> str | None:
    """A local date YYYY-MM-DD, or nothing (a bad value is ignored rather than failing the page)."""
    value = value.strip()
    return (
        value
        if len(value) == _DAY and value[4] == "-" and value[7] == "-" and value.replace("-", "").isdigit()
        else None
    )


def _console_url(api_url: str) -> str:
    return api_url.replace("/api/v1/service/reports/conversations", "/console/service/reports/conversations", 1)


def mount(app: FastAPI) -> None:
    @app.get("/console/service/reports", include_in_schema=False)
    def reports_page(
        request: Request, by: str = "agent", since: str = "", until: str = "", channel: str = ""
    ) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        by = by if by in service_reports.DIMENSIONS else "agent"
        start, end = _day(since), _day(until)
        filters = {"channel": channel} if channel else {}
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            totals = service_reports.report(uow.conn, principal.workspace_id, since=start, until=end, filters=filters)
            rows = service_reports.report(
                uow.conn, principal.workspace_id, by=by, since=start, until=end, filters=filters
            )
        base = {"since": start, "until": end, **filters}
        for row in totals:
            row["links"] = {figure: _console_url(drill_url(base, metric)) for figure, metric in DRILLS.items()}
        for row in rows:
            scope = {**base, by: row["key"]}
            row["links"] = {figure: _console_url(drill_url(scope, metric)) for figure, metric in DRILLS.items()}
        return render(
            request,
            "service/reports.html",
            principal,
            active="service-reports",
            by=by,
            dimensions=service_reports.DIMENSIONS[1:],
            since=start or "",
            until=end or "",
            channel=channel,
            totals=totals[0] if totals else None,
            rows=rows,
            figures=FIGURES,
        )

    @app.get("/console/service/reports/conversations", include_in_schema=False)
    def drilled(request: Request, metric: str = "conversations", page: int = 1) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        metric = metric if metric in service_reports.METRICS else "conversations"
        params = request.query_params
        filters = {k: params[k] for k in service_reports.FILTERS if k in params}
        since, until = _day(params.get("since", "")), _day(params.get("until", ""))
        page = max(page, 1)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            total, found = service_reports.conversations(
                uow.conn,
                principal.workspace_id,
                since=since,
                until=until,
                filters=filters,
                metric=metric,
                limit=100,
                offset=(page - 1) * 100,
            )
        scope: dict[str, Any] = {"since": since, "until": until, **filters}
        return render(
            request,
            "service/report_conversations.html",
            principal,
            active="service-reports",
            metric=metric,
            filters=filters,
            total=total,
            rows=[mask_row(r, principal) for r in found],
            csv_url=drill_url(scope, metric, "csv"),
            page=page,
            more=page * 100 < total,
            next_url=_console_url(drill_url(scope, metric)) + f"&page={page + 1}",
        )

    @app.get("/console/service/qa/{conversation_id}", include_in_schema=False)
    def qa_page(conversation_id: int, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                view = quality.qa_view(uow, principal.workspace_id, conversation_id)
        except LiuyuError:
            return render(request, "not_found.html", principal, status=404, what=conversation_id)
        return render(
            request,
            "service/qa.html",
            principal,
            active="service-reports",
            qa=view,
            can_override=principal.role in quality.SUPERVISOR_ROLES,
        )

    @app.post("/console/service/qa/{conversation_id}", include_in_schema=False)
    def qa_override(
        conversation_id: int,
        request: Request,
        criterion: str = Form(...),
        score: float = Form(...),
        reason: str = Form(""),
    ) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            principal.require(*quality.SUPERVISOR_ROLES)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                quality.override_score(
                    uow, principal.workspace_id, conversation_id, criterion, score, reason, principal.actor
                )
                uow.commit()
        except LiuyuError as exc:
            return render(request, "error.html", principal, status=400, message=str(exc))
        return RedirectResponse(f"/console/service/qa/{conversation_id}", status_code=303)
