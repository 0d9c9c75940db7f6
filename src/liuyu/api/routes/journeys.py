"""Journeys: apply a definition (YAML or JSON), list, show with per-step counts, pause, resume, report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.domain.errors import InvalidInput
from liuyu.services import journey_runner, journeys
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/journeys", tags=["journeys"])

EDITORS = ("admin", "operator")
MAX_BODY = 200_000

APPLY_DOC = """A journey in YAML (`Content-Type: application/yaml` or `text/yaml`) or JSON: the document
itself, or `{"source": "<YAML text>"}`. A new name creates the journey (201); a known name gets a
new version when the definition changed (200, `changed` says whether it did). Customers already
in the journey finish the version they started. Problems are a 400 naming the path of the field,
e.g. `$.steps[2].wait.days`."""


async def _text(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput(f"a journey is at most {MAX_BODY} bytes", where="$", value=len(raw))
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text", where="$") from None
    kind = request.headers.get("content-type", "")
    if "yaml" in kind or kind.startswith("text/"):
        return body
    try:
        data = json.loads(body or "null")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc.msg}", where=f"line {exc.lineno}, column {exc.colno}") from None
    if isinstance(data, dict) and set(data) == {"source"} and isinstance(data["source"], str):
        return data["source"]
    return json.dumps(data, ensure_ascii=False)


@router.post("", summary="Create or update a journey from YAML or JSON", description=APPLY_DOC)
async def apply(request: Request, container: ContainerDep, principal: CurrentReader) -> Any:
    principal.require(*EDITORS)
    text = await _text(request)
    with SqlUnitOfWork(container.engine) as uow:
        known = uow.journeys.journeys(principal.workspace_id)
        row = journeys.apply_journey(uow, principal.workspace_id, text, actor=principal.actor, now=datetime.now(UTC))
        uow.commit()
    created = all(j["id"] != row["id"] for j in known)
    return JSONResponse(_jsonable(row), status_code=201 if created else 200)


@router.get("", summary="Every journey of the workspace")
def list_journeys(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"journeys": uow.journeys.journeys(principal.workspace_id)}


@router.get("/queue", summary="Steps due now and how late the oldest is (the worker's backlog)")
def queue(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return journey_runner.queue(uow, datetime.now(UTC), workspace_id=principal.workspace_id)


@router.get("/customers/{customer_id}", summary="A customer's journeys, each with what happened at every step")
def of_customer(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rows = uow.journeys.enrollments_of(principal.workspace_id, customer_id)
        for row in rows:
            row["history"] = uow.journeys.history(principal.workspace_id, row["id"])
    return {"customer_id": customer_id, "enrollments": rows}


@router.get(
    "/{journey_id}", summary="One journey: definition, versions, and per step how many are there and what happened"
)
def show(journey_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return journeys.show(uow, principal.workspace_id, journey_id)


@router.post("/{journey_id}/pause", summary="Pause: nobody enters or moves on (goals are still recorded)")
def pause(journey_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    return _status(journey_id, container, principal, "paused")


@router.post("/{journey_id}/resume", summary="Resume a paused journey")
def resume(journey_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    return _status(journey_id, container, principal, "active")


def _status(journey_id: int, container: Any, principal: Any, status: str) -> dict[str, Any]:
    principal.require(*EDITORS)
    with SqlUnitOfWork(container.engine) as uow:
        row = journeys.set_status(uow, principal.workspace_id, journey_id, status, now=datetime.now(UTC))
        uow.commit()
    return row


@router.get("/{journey_id}/report", summary="Conversion of treatment and control, uplift and its confidence interval")
def report(
    journey_id: int,
    container: ContainerDep,
    principal: CurrentReader,
    confidence: float = Query(default=0.95, gt=0.5, lt=1.0),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return journeys.report(uow, principal.workspace_id, journey_id, confidence=confidence)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
