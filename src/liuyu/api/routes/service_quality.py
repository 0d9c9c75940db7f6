"""Quality inspection, the live word check, CSAT and service reports under ``/api/v1/service``.

Rubrics and overrides are for supervisors and admins; every reader may see results and reports.
Each report figure carries the URL of the conversation list behind it, and every list exports
to CSV (one row per conversation). Conversation keys are masked for roles that do not see PII.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.api.routes import attachments
from liuyu.api.routes.conversations import AGENT_ROLES, mask_text
from liuyu.services import quality
from liuyu.services.accounts import Principal
from liuyu.services.knowledge import shared_cache
from liuyu.storage import service_reports
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/service", tags=["service quality and reports"])
router.include_router(attachments.router)
DAY = r"^\d{4}-\d{2}-\d{2}$"
Dimension = Literal["all", "agent", "team", "channel", "intent", "day", "week", "month"]
Metric = Literal["conversations", "first_response", "resolution", "sla", "sla_breached", "csat", "qa", "sentiment"]
#: The figures of a report row and the drill-down metric behind each.
DRILLS = {
    "conversations": "conversations",
    "first_response_avg_seconds": "first_response",
    "resolution_avg_seconds": "resolution",
    "sla_met_pct": "sla",
    "csat_avg": "csat",
    "qa_avg": "qa",
    "sentiment_avg": "sentiment",
}


class OverrideCreate(BaseModel):
    criterion: str = Field(min_length=1, max_length=40)
    score: float = Field(ge=0)
    reason: str = Field(min_length=1, max_length=2000)


class TeamUpdate(BaseModel):
    team: str | None = Field(default=None, max_length=100)


class DraftCheck(BaseModel):
    text: str = Field(max_length=10_000)


class CsatCreate(BaseModel):
    score: int = Field(ge=1, le=5)
    external_id: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


# -- quality inspection --------------------------------------------------------------------------


@router.get("/qa/rubric", summary="The workspace's QA rubric and word library")
def get_rubric(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rubric, version = quality.rubric_of(uow, principal.workspace_id)
    return {"rubric": rubric.model_dump(mode="json"), "version": version}


@router.put("/qa/rubric", summary="Replace the QA rubric (validated; fields left out take their defaults)")
def put_rubric(body: dict[str, Any], container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*quality.SUPERVISOR_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        saved = quality.save_rubric(uow, principal.workspace_id, body, principal.actor)
        uow.commit()
    return saved


@router.put("/qa/teams/{agent}", summary="Put an agent in a team (an empty team takes them out)")
def put_team(agent: str, body: TeamUpdate, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*quality.SUPERVISOR_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        uow.quality.set_team(principal.workspace_id, agent[:200], (body.team or "").strip() or None)
        teams = uow.quality.teams(principal.workspace_id)
        uow.commit()
    return {"teams": teams}


@router.get("/qa/conversations/{conversation_id}", summary="A conversation's QA scores with evidence")
def get_result(conversation_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return quality.qa_view(uow, principal.workspace_id, conversation_id)


@router.post("/qa/conversations/{conversation_id}/score", summary="Inspect a conversation now, resolved or not")
def score(conversation_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*quality.SUPERVISOR_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        cache = shared_cache(container.settings.kb_embeddings)
        view = quality.review_conversation(uow, principal.workspace_id, conversation_id, inspect_now=True, cache=cache)
        uow.commit()
    return view


@router.post("/qa/conversations/{conversation_id}/overrides", summary="Override one criterion, with a reason")
def override(
    conversation_id: int, body: OverrideCreate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*quality.SUPERVISOR_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        view = quality.override_score(
            uow, principal.workspace_id, conversation_id, body.criterion, body.score, body.reason, principal.actor
        )
        uow.commit()
    return view


@router.get("/qa/scorecards", summary="Average QA score per agent or team per period")
def get_scorecards(
    container: ContainerDep,
    principal: CurrentReader,
    by: Literal["agent", "team"] = "agent",
    period: Literal["day", "week", "month"] = "week",
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        cards = quality.qa_scorecards(
            uow, principal.workspace_id, by=by, period=period, timezone=container.settings.timezone
        )
    return {"by": by, "period": period, "scorecards": cards}


@router.post("/words/check", summary="Check a draft reply against the word library as the agent types")
def check_words(body: DraftCheck, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        hits = quality.check_words(uow, principal.workspace_id, body.text)
    return {"hits": hits}


@router.post("/conversations/{conversation_id}/csat", status_code=201, summary="A satisfaction answer (1-5)")
def add_csat(
    conversation_id: int, body: CsatCreate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        out = quality.record_csat(
            uow, principal.workspace_id, conversation_id, body.score, external_id=body.external_id, comment=body.comment
        )
        uow.commit()
    return out


# -- reports -------------------------------------------------------------------------------------


def _filters(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


def drill_url(params: dict[str, Any], metric: str, fmt: str | None = None) -> str:
    query = {k: v for k, v in params.items() if v is not None} | {"metric": metric}
    if fmt:
        query["format"] = fmt
    return "/api/v1/service/reports/conversations?" + urlencode(query)


def report_rows(
    conn: Any, workspace_id: int, by: str, since: str | None, until: str | None, filters: dict[str, str]
) -> list[dict[str, Any]]:
    """Report rows, each figure with the URL of its conversation list (used by the console too)."""
    rows = service_reports.report(conn, workspace_id, by=by, since=since, until=until, filters=filters)
    base = {"since": since, "until": until, **filters}
    for row in rows:
        scope = base if by == "all" else {**base, by: row["key"]}
        row["drill"] = {figure: drill_url(scope, metric) for figure, metric in DRILLS.items()}
    return rows


@router.get("/reports", summary="Response and resolution times, SLA, CSAT, QA, volume and sentiment by group")
def get_report(
    container: ContainerDep,
    principal: CurrentReader,
    by: Dimension = "all",
    since: str | None = Query(default=None, pattern=DAY, description="local date, inclusive"),
    until: str | None = Query(default=None, pattern=DAY, description="local date, inclusive"),
    agent: str | None = Query(default=None, max_length=200),
    team: str | None = Query(default=None, max_length=100),
    channel: str | None = Query(default=None, max_length=20),
    intent: str | None = Query(default=None, max_length=100),
) -> dict[str, Any]:
    filters = _filters(agent=agent, team=team, channel=channel, intent=intent)
    with SqlUnitOfWork(container.engine) as uow:
        rows = report_rows(uow.conn, principal.workspace_id, by, since, until, filters)
    return {"by": by, "since": since, "until": until, "filters": filters, "rows": rows}


def mask_row(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if not principal.sees_pii:
        row = {**row, "conversation_key": mask_text(row.get("conversation_key"))}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def csv_lines(rows: Iterator[dict[str, Any]], principal: Principal) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=service_reports.CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow(mask_row(row, principal))
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("/reports/conversations", summary="The conversations behind a report figure (JSON or CSV)")
def get_report_conversations(
    container: ContainerDep,
    principal: CurrentReader,
    metric: Metric = "conversations",
    since: str | None = Query(default=None, pattern=DAY),
    until: str | None = Query(default=None, pattern=DAY),
    agent: str | None = Query(default=None, max_length=200),
    team: str | None = Query(default=None, max_length=100),
    channel: str | None = Query(default=None, max_length=20),
    intent: str | None = Query(default=None, max_length=100),
    day: str | None = Query(default=None, max_length=10),
    week: str | None = Query(default=None, max_length=8),
    month: str | None = Query(default=None, max_length=7),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    format: Literal["json", "csv"] = "json",
) -> Any:
    filters = _filters(agent=agent, team=team, channel=channel, intent=intent, day=day, week=week, month=month)
    if format == "csv":

        def lines() -> Iterator[str]:
            with container.engine.connect() as conn:
                rows = service_reports.stream_conversations(
                    conn, principal.workspace_id, since=since, until=until, filters=filters, metric=metric
                )
                yield from csv_lines(rows, principal)

        name = f"conversations-{metric}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
    with SqlUnitOfWork(container.engine) as uow:
        total, rows = service_reports.conversations(
            uow.conn,
            principal.workspace_id,
            since=since,
            until=until,
            filters=filters,
            metric=metric,
            limit=limit,
            offset=offset,
        )
    params = {"since": since, "until": until, **filters}
    return {
        "metric": metric,
        "total": total,
        "conversations": [mask_row(r, principal) for r in rows],
        "csv": drill_url(params, metric, "csv"),
    }
