"""Console pages for journeys: the list with uplift and the worker's backlog, applying a YAML
definition, pause and resume, and one journey's flow with live counts per step."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import RedirectResponse

from liuyu.console.routes import _login_redirect, _principal, render
from liuyu.domain.engagement.uplift import uplift
from liuyu.domain.errors import InvalidInput, LiuyuError, NotFound, PermissionDenied
from liuyu.jobs.worker import job_runs, runs_for
from liuyu.services import journey_runner, journeys
from liuyu.storage.uow import SqlUnitOfWork

EDITORS = ("admin", "operator")  # the same roles the API lets apply, pause and resume
WORKER_VIEWERS = ("admin", "operator", "supervisor")  # as GET /api/v1/worker/jobs
EXAMPLE = """name: 首购后十天二次触达
trigger: {event: order_paid}
audience: 'order_count = 1'
steps:
  - key: wait3
    wait: {days: 3, until: "10:00"}
  - key: bought
    branch: {if: "order_count >= 2", then: end, else: nudge}
  - key: nudge
    send: {channel: wechat_template, template: second_touch}
goal: {event: order_paid, within_days: 10}
control: {percent: 10}
"""


def _uplift(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Treatment against control with Newcombe's 95 % interval, as the report gives it."""
    treated = groups.get("treatment", {"entered": 0, "converted": 0})
    control = groups.get("control", {"entered": 0, "converted": 0})
    result = uplift(treated["entered"], treated["converted"], control["entered"], control["converted"])
    return {**asdict(result), "significant": result.significant}


def _summary(uow: SqlUnitOfWork, workspace_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """A journey's row with its group sizes and uplift, as the list shows it."""
    groups = uow.journeys.group_counts(workspace_id, row["id"])
    both = [groups.get(name, {}) for name in ("treatment", "control")]
    return {
        **row,
        "enrolled": sum(g.get("entered", 0) for g in both),
        "in_progress": both[0].get("states", {}).get("active", 0),
        "converted": sum(g.get("converted", 0) for g in both),
        "control": both[1].get("entered", 0),
        "uplift": _uplift(groups),
    }


def _describe(step: dict[str, Any]) -> str:
    """One line of what a step does, from its stored definition (``wait: days=3, until=10:00``)."""
    parts = []
    for name, value in step.items():
        if name in ("key", "next"):
            continue
        if name == "branch" and isinstance(value, dict):
            parts.append(f"if {value.get('if', '')}")
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, {}, [], ""))
            parts.append(f"{name}: {shown}")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


def _flow(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps in order, each with its description and whether it falls through to the one below."""
    stored = {s.get("key"): s for s in shown["definition"].get("steps", [])}
    steps = shown["steps"]
    out = []
    for i, step in enumerate(steps):
        below = steps[i + 1]["key"] if i + 1 < len(steps) else "end"
        ends = {name: step[name] or "end" for name in ("next", "then", "else")}  # None: the journey ends there
        out.append({**step, **ends, "text": _describe(stored.get(step["key"], {})), "below": below})
    return out


def mount(app: FastAPI) -> None:
    def list_page(
        request: Request, principal: Any, *, status: int = 200, source: str = "", error: Any = None
    ) -> Response:
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            rows = [_summary(uow, principal.workspace_id, row) for row in uow.journeys.journeys(principal.workspace_id)]
            backlog = journey_runner.queue(uow, datetime.now(UTC), workspace_id=principal.workspace_id)
        shows_jobs = principal.role in WORKER_VIEWERS
        jobs = (
            runs_for(principal.role, job_runs(request.app.state.container.engine, datetime.now(UTC)))
            if shows_jobs
            else []
        )
        return render(
            request,
            "journeys/list.html",
            principal,
            status=status,
            active="journeys",
            rows=rows,
            queue=backlog,
            jobs=jobs,
            can_edit=principal.role in EDITORS,
            source=source or EXAMPLE,
            error=error,
        )

    @app.get("/console/journeys", include_in_schema=False)
    def journeys_page(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        return list_page(request, principal)

    @app.post("/console/journeys", include_in_schema=False)
    def apply(request: Request, source: str = Form("")) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        try:
            principal.require(*EDITORS)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                row = journeys.apply_journey(
                    uow, principal.workspace_id, source, actor=principal.actor, now=datetime.now(UTC)
                )
                uow.commit()
        except PermissionDenied as exc:
            return render(request, "error.html", principal, status=403, message=str(exc))
        except InvalidInput as exc:
            error = {"where": exc.where, "message": exc.reason, "value": exc.value}
            return list_page(request, principal, status=400, source=source, error=error)
        except LiuyuError as exc:
            error = {"where": "", "message": str(exc), "value": None}
            return list_page(request, principal, status=400, source=source, error=error)
        return RedirectResponse(f"/console/journeys/{row['id']}", status_code=303)

    @app.post("/console/journeys/{journey_id}/{action}", include_in_schema=False)
    def pause_or_resume(journey_id: int, action: str, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        states = {"pause": "paused", "resume": "active"}
        if action not in states:
            return render(request, "not_found.html", principal, status=404, what=action)
        try:
            principal.require(*EDITORS)
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                journeys.set_status(uow, principal.workspace_id, journey_id, states[action], now=datetime.now(UTC))
                uow.commit()
        except NotFound:
            return render(request, "not_found.html", principal, status=404, what=journey_id)
        except PermissionDenied as exc:
            return render(request, "error.html", principal, status=403, message=str(exc))
        except LiuyuError as exc:
            return render(request, "error.html", principal, status=400, message=str(exc))
        back = request.headers.get("referer") or ""
        target = f"/console/journeys/{journey_id}" if f"/console/journeys/{journey_id}" in back else "/console/journeys"
        return RedirectResponse(target, status_code=303)

    @app.get("/console/journeys/{journey_id}", include_in_schema=False)
    def flow_page(journey_id: int, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            try:
                shown = journeys.show(uow, principal.workspace_id, journey_id)
            except NotFound:
                return render(request, "not_found.html", principal, status=404, what=journey_id)
        return render(
            request,
            "journeys/flow.html",
            principal,
            active="journeys",
            j=shown,
            flow=_flow(shown),
            u=_uplift(shown["groups"]),
            can_edit=principal.role in EDITORS,
        )
