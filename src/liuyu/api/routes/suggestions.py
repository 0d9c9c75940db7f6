"""Merge suggestions from the probabilistic job: list, accept (merge for good), reject."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.services.suggestions import accept_suggestion, reject_suggestion
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/suggestions", tags=["identity"])


@router.get("", summary="Merge suggestions awaiting review (or decided ones)")
def list_suggestions(
    container: ContainerDep,
    principal: CurrentReader,
    status: str = Query("pending", pattern="^(pending|accepted|rejected)$"),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"suggestions": uow.suggestions.list(principal.workspace_id, status)}


@router.post("/{suggestion_id}/accept", summary="Accept: merge the two customers (undoable like any merge)")
def accept(suggestion_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin", "operator", "supervisor")
    with SqlUnitOfWork(container.engine) as uow:
        result = accept_suggestion(uow, principal.workspace_id, suggestion_id, actor=principal.actor)
        uow.commit()
    return result


@router.post("/{suggestion_id}/reject", summary="Reject: the pair is not one person")
def reject(suggestion_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin", "operator", "supervisor")
    with SqlUnitOfWork(container.engine) as uow:
        result = reject_suggestion(uow, principal.workspace_id, suggestion_id, actor=principal.actor)
        uow.commit()
    return result
