"""Console pages for engagement: the segment builder, a saved segment's detail, and the dashboard."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import RedirectResponse

from liuyu.api.masking import mask_summary
from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.engagement.segment import Clause, from_json
from liuyu.domain.errors import LiuyuError, NotFound
from liuyu.services import engagement, value
from liuyu.storage import segments as sql_segments
from liuyu.storage.uow import SqlUnitOfWork

EDITORS = ("admin", "operator", "analyst")
COHORT_MONTHS, COHORT_ROWS = 6, 12  # the dashboard shows the last year of cohorts over their first half year


def mount(app: FastAPI) -> None:
    @app.get("/console/segments", include_in_schema=False)
    def builder_page(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            saved = uow.engagement.segments(principal.workspace_id)
        return render(
            request,
            "engagement/segments.html",
            principal,
            active="segments",
            saved=saved,
            fields=sql_segments.field_names(),
            can_edit=principal.role in EDITORS,
            form={"name": "", "expression": "", "tag": ""},
            error=None,
        )

    @app.post("/console/segments", include_in_schema=False)
    def save(request: Request, name: str = Form(""), expression: str = Form(""), tag: str = Form("")) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        container = request.app.state.container
        try:
            principal.require(*EDITORS)
            tree = engagement.read_expression(expression)
            with SqlUnitOfWork(container.engine) as uow:
                saved = engagement.save_segment(
                    uow, principal.workspace_id, name=name, tree=tree, actor=principal.actor, tag=tag.strip() or None
                )
                uow.commit()
        except LiuyuError as exc:
            with SqlUnitOfWork(container.engine) as uow:
                listed = uow.engagement.segments(principal.workspace_id)
            return render(
                request,
                "engagement/segments.html",
                principal,
                status=400,
                active="segments",
                saved=listed,
                fields=sql_segments.field_names(),
                can_edit=principal.role in EDITORS,
                form={"name": name, "expression": expression, "tag": tag},
                error=str(exc),
            )
        return RedirectResponse(f"/console/segments/{saved['id']}", status_code=303)

    @app.get("/console/segments/{segment_id}", include_in_schema=False)
    def detail_page(segment_id: int, request: Request, why: int | None = None, after: int = 0) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        engine = request.app.state.container.engine
        with SqlUnitOfWork(engine) as uow:
            try:
                segment = uow.engagement.segment(principal.workspace_id, segment_id)
            except NotFound:
                return render(request, "not_found.html", principal, status=404, what=segment_id)
            members = uow.engagement.members(principal.workspace_id, segment_id, after=max(after, 0), limit=50)
            changes = uow.engagement.changes(principal.workspace_id, segment_id, limit=20)
            known = why is not None and uow.engagement.customer_exists(principal.workspace_id, why)
        explanation = None
        if known:
            tree = from_json(segment["expression_json"])
            explanation = _lines(sql_segments.explain_customer(engine, principal.workspace_id, why, tree))  # type: ignore[arg-type]
        return render(
            request,
            "engagement/segment.html",
            principal,
            active="segments",
            segment=segment,
            members=[mask_summary(row, principal) for row in members],
            next_after=members[-1]["id"] if len(members) == 50 else None,
            changes=changes,
            why=why,
            why_unknown=why is not None and not known,
            explanation=explanation,
            can_edit=principal.role in EDITORS,
            can_export=principal.role in (*EDITORS, "supervisor"),
        )

    @app.post("/console/segments/{segment_id}/refresh", include_in_schema=False)
    def refresh(segment_id: int, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        principal.require(*EDITORS)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            engagement.refresh_segment(uow, principal.workspace_id, segment_id)
            uow.commit()
        return RedirectResponse(f"/console/segments/{segment_id}", status_code=303)

    @app.get("/console/dashboard", include_in_schema=False)
    def dashboard_page(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            data = engagement.dashboard(uow, principal.workspace_id)
            where = value.value_view(uow, principal.workspace_id)
            cohorts = value.cohort_view(uow, principal.workspace_id, horizon=COHORT_MONTHS)
        peak = max((n for row in data["grid"] for n in row), default=0)
        stage_peak = max((n for _, n in data["stages"]), default=0)
        return render(
            request,
            "engagement/dashboard.html",
            principal,
            active="dashboard",
            d=data,
            peak=peak,
            stage_peak=stage_peak,
            curve_points=" ".join(f"{x * 300:.1f},{300 - y * 300:.1f}" for x, y in data["curve"]),
            value=where,
            cohorts=cohorts["cohorts"][-COHORT_ROWS:],
            cohort_average=cohorts["average"],
            cohort_months=COHORT_MONTHS,
        )


def _lines(clause: Clause, depth: int = 0) -> list[dict[str, Any]]:
    """The clause tree as indented lines for the template."""
    own = {"depth": depth, "text": clause.text, "result": clause.result, "seen": clause.seen, "leaf": not clause.parts}
    return [own] + [line for part in clause.parts for line in _lines(part, depth + 1)]
