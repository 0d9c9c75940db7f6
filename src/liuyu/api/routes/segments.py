"""Segments: live preview while typing, saved segments, their members, CSV export and "why"."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.api.masking import mask_summary
from liuyu.domain.engagement.segment import Clause, SegmentSyntaxError, from_json, to_json, to_text
from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.services import engagement
from liuyu.services.accounts import Principal
from liuyu.storage import segments as sql_segments
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])

EDITORS = ("admin", "operator", "analyst")
EXPORT_COLUMNS = ("id", "name", "province", "city", "order_count", "total_spent", "last_order_at", "entered_at")


class PreviewIn(BaseModel):
    expression: str | None = Field(default=None, max_length=5000, description="the segment as one line of text")
    expression_json: dict[str, Any] | None = Field(default=None, description="the builder's JSON form")
    limit: int = Field(default=20, ge=0, le=100)


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expression: str | None = Field(default=None, max_length=5000)
    expression_json: dict[str, Any] | None = None
    tag: str | None = Field(default=None, max_length=100, description="members carry this tag (source rule)")


class SegmentChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    expression: str | None = Field(default=None, max_length=5000)
    expression_json: dict[str, Any] | None = None
    tag: str | None = Field(default=None, max_length=100, description="an empty string stops tagging")


def _position(exc: InvalidInput) -> int | None:
    """The 1-based character position of the problem, when the error names one."""
    if isinstance(exc, SegmentSyntaxError):
        return exc.position + 1
    words = exc.where.split()
    return int(words[1]) if len(words) == 2 and words[0] == "position" and words[1].isdigit() else None


def _invalid(exc: InvalidInput) -> JSONResponse:
    body: dict[str, Any] = {"detail": str(exc), "error": exc.as_dict(), "position": _position(exc)}
    if isinstance(exc, SegmentSyntaxError):
        body["pointer"] = exc.pointer()
    return JSONResponse(body, status_code=400)


def _rows(rows: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    return [mask_summary(row, principal) for row in rows]


@router.post("/preview", summary="Count and first members of an expression (text or JSON)")
def preview(body: PreviewIn, container: ContainerDep, principal: CurrentReader) -> Any:
    try:
        tree = engagement.read_expression(body.expression, body.expression_json)
        total = sql_segments.count(container.engine, principal.workspace_id, tree)
        rows = sql_segments.preview(container.engine, principal.workspace_id, tree, limit=body.limit)
    except InvalidInput as exc:
        return _invalid(exc)
    return {
        "count": total,
        "rows": _rows(rows, principal),
        "expression": to_text(tree),
        "expression_json": to_json(tree),
    }


@router.get("/fields", summary="The names an expression may use")
def fields(principal: CurrentReader) -> dict[str, list[str]]:
    return {"fields": list(sql_segments.field_names())}


@router.get("", summary="Saved segments")
def list_segments(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"segments": uow.engagement.segments(principal.workspace_id)}


@router.post("", status_code=201, summary="Save a segment (its members are computed at once)")
def create(body: SegmentIn, container: ContainerDep, principal: CurrentReader) -> Any:
    principal.require(*EDITORS)
    try:
        tree = engagement.read_expression(body.expression, body.expression_json)
        with SqlUnitOfWork(container.engine) as uow:
            saved = engagement.save_segment(
                uow, principal.workspace_id, name=body.name, tree=tree, actor=principal.actor, tag=body.tag
            )
            uow.commit()
    except InvalidInput as exc:
        return _invalid(exc)
    return saved


@router.get("/{segment_id}", summary="One saved segment with its latest entries and exits")
def show(segment_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        segment = uow.engagement.segment(principal.workspace_id, segment_id)
        segment["changes"] = uow.engagement.changes(principal.workspace_id, segment_id, limit=50)
    return segment


@router.patch("/{segment_id}", summary="Rename, re-define or re-tag a segment")
def change(segment_id: int, body: SegmentChange, container: ContainerDep, principal: CurrentReader) -> Any:
    principal.require(*EDITORS)
    try:
        given = body.expression is not None or body.expression_json is not None
        tree = engagement.read_expression(body.expression, body.expression_json) if given else None
        with SqlUnitOfWork(container.engine) as uow:
            changed = engagement.change_segment(
                uow, principal.workspace_id, segment_id, name=body.name, tree=tree, tag=body.tag
            )
            uow.commit()
    except InvalidInput as exc:
        return _invalid(exc)
    return changed


@router.delete("/{segment_id}", summary="Delete a saved segment and its memberships")
def delete(segment_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, int]:
    principal.require(*EDITORS)
    with SqlUnitOfWork(container.engine) as uow:
        engagement.delete_segment(uow, principal.workspace_id, segment_id)
        uow.commit()
    return {"deleted": segment_id}


@router.post("/{segment_id}/refresh", summary="Recompute the members now")
def refresh(segment_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*EDITORS)
    with SqlUnitOfWork(container.engine) as uow:
        result = engagement.refresh_segment(uow, principal.workspace_id, segment_id)
        uow.commit()
    return result


@router.get("/{segment_id}/members", summary="Members as of the last refresh, in id order (page with `after`)")
def members(
    segment_id: int,
    container: ContainerDep,
    principal: CurrentReader,
    after: int = Query(default=0, ge=0),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        segment = uow.engagement.segment(principal.workspace_id, segment_id)
        rows = uow.engagement.members(principal.workspace_id, segment_id, after=after, limit=limit)
    return {
        "segment_id": segment_id,
        "member_count": segment["member_count"],
        "refreshed_at": segment["refreshed_at"],
        "members": _rows(rows, principal),
        "next_after": rows[-1]["id"] if len(rows) == limit else None,
    }


@router.get("/{segment_id}/export.csv", summary="Members as CSV, one row per customer")
def export(segment_id: int, container: ContainerDep, principal: CurrentReader) -> StreamingResponse:
    principal.require(*EDITORS, "supervisor")
    with SqlUnitOfWork(container.engine) as uow:
        segment = uow.engagement.segment(principal.workspace_id, segment_id)
    columns = [c for c in EXPORT_COLUMNS if c != "name" or principal.sees_pii]  # no personal data for the rest

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        after = 0
        while True:
            with SqlUnitOfWork(container.engine) as uow:
                rows = uow.engagement.members(principal.workspace_id, segment_id, after=after, limit=5000)
            writer.writerows(rows)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(rows) < 5000:
                return
            after = rows[-1]["id"]

    filename = f"segment-{segment['id']}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _clause(clause: Clause) -> dict[str, Any]:
    seen = clause.seen
    if isinstance(seen, Decimal):
        seen = str(seen)
    return {"text": clause.text, "seen": seen, "result": clause.result, "parts": [_clause(p) for p in clause.parts]}


@router.get("/{segment_id}/why/{customer_id}", summary="Why a customer is in the segment or not: every clause's value")
def why(segment_id: int, customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        segment = uow.engagement.segment(principal.workspace_id, segment_id)
        if not uow.engagement.customer_exists(principal.workspace_id, customer_id):
            raise NotFound(f"no customer {customer_id} in this workspace")
        stored = uow.engagement.is_member(principal.workspace_id, segment_id, customer_id)
    tree = from_json(segment["expression_json"])
    explanation = sql_segments.explain_customer(container.engine, principal.workspace_id, customer_id, tree)
    return {
        "segment_id": segment_id,
        "customer_id": customer_id,
        "matches_now": explanation.result,
        "member_at_last_refresh": stored,
        "why": _clause(explanation),
        "lines": explanation.lines(),
    }
