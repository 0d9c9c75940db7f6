"""Event ingestion: liuyu's own schema and the Segment tracking API (``/v1/*``)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from liuyu.api.deps import ContainerDep, CurrentPrincipal
from liuyu.api.schemas.events import MAX_BATCH, parse_liuyu_event, parse_segment_message
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import Event
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(tags=["events"])
segment = APIRouter(tags=["segment"])


async def _json(request: Request) -> Any:
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise HTTPException(status_code=400, detail=f"body is not valid gzip: {exc}") from exc
    if len(body) > 8 * 1024 * 1024:
        raise HTTPException(status_code=413, detail="request body over 8 MB; send smaller batches")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(status_code=400, detail=f"body is not JSON: {exc}") from exc


def _store(container: Any, principal: Any, events: list[Event], rejected: list[dict[str, Any]]) -> dict[str, Any]:
    stored = duplicate = 0
    if events:
        policy = IdentityPolicy(protect_verified_phones=container.settings.protect_verified_phones)
        with SqlUnitOfWork(container.engine) as uow:
            report = ingest_events(
                uow.ingest, principal.workspace_id, events, policy=policy, projections=uow.projections()
            )
            uow.commit()
        stored, duplicate = report.stored, report.duplicate
    return {"received": len(events) + len(rejected), "stored": stored, "duplicate": duplicate, "rejected": rejected}


def _parse_all(items: list[Any], parse: Any, source: str) -> tuple[list[Event], list[dict[str, Any]]]:
    events: list[Event] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"batch[{index}]"
        try:
            events.append(parse(item, source, where))
        except InvalidInput as exc:
            rejected.append({"index": index, **exc.as_dict()})
        except ValueError as exc:
            rejected.append({"index": index, "where": where, "field": "", "value": None, "reason": str(exc)})
    return events, rejected


def _check_batch(body: Any, key: str) -> list[Any]:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise HTTPException(status_code=400, detail=f"expected an object with a `{key}` list")
    if len(items) > MAX_BATCH:
        raise HTTPException(status_code=413, detail=f"at most {MAX_BATCH} events per request, got {len(items)}")
    return items


def _respond(result: dict[str, Any]) -> JSONResponse:
    status = 400 if result["rejected"] and not (result["stored"] or result["duplicate"]) else 200
    return JSONResponse(result, status_code=status)


@router.post("/api/v1/events", summary='Send one event or a batch (`{"batch": [...]}`, at most 1,000)')
async def post_events(request: Request, container: ContainerDep, principal: CurrentPrincipal) -> JSONResponse:
    body = await _json(request)
    items = _check_batch(body, "batch") if isinstance(body, dict) and "batch" in body else [body]
    events, rejected = _parse_all(items, parse_liuyu_event, principal.source or "api")
    return _respond(_store(container, principal, events, rejected))


@segment.post("/v1/batch", summary="Segment-compatible batch")
async def segment_batch(request: Request, container: ContainerDep, principal: CurrentPrincipal) -> JSONResponse:
    items = _check_batch(await _json(request), "batch")
    events, rejected = _parse_all(items, parse_segment_message, principal.source or "segment")
    result = _store(container, principal, events, rejected)
    response = _respond(result)
    if response.status_code == 200:
        return JSONResponse({"success": True, **result})
    return response


def _single(kind: str) -> Any:
    async def endpoint(request: Request, container: ContainerDep, principal: CurrentPrincipal) -> JSONResponse:
        body = await _json(request)
        events, rejected = _parse_all(
            [body],
            lambda item, source, where: parse_segment_message(item, source, where, kind),
            principal.source or "segment",
        )
        result = _store(container, principal, events, rejected)
        response = _respond(result)
        return JSONResponse({"success": True, **result}) if response.status_code == 200 else response

    endpoint.__name__ = f"segment_{kind}"
    return endpoint


for _kind in ("identify", "track", "alias", "page", "screen", "group"):
    segment.post(f"/v1/{_kind}", summary=f"Segment-compatible {_kind}")(_single(_kind))
