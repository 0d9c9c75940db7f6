"""Built-in playbooks: list, show, enable with parameters, disable; co-purchase neighbours per category."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Query

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.domain.errors import InvalidInput
from liuyu.services import playbooks
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/playbooks", tags=["playbooks"])

EDITORS = ("admin", "operator")


@router.get("", summary="Every built-in playbook: on or off here, its parameters and current values")
def list_playbooks(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"playbooks": playbooks.list_playbooks(uow, principal.workspace_id)}


@router.get("/adjacent-categories", summary="Per category, the categories bought in the same orders (by lift)")
def adjacent(
    container: ContainerDep,
    principal: CurrentReader,
    min_together: int = Query(default=2, ge=1, le=100_000),
    top: int = Query(default=3, ge=1, le=20),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        found = playbooks.adjacent(uow, principal.workspace_id, min_together=min_together, top=top)
    return {"categories": found}


@router.get("/{name}", summary="One playbook with the journey its current values give")
def show(name: str, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return playbooks.show(uow, principal.workspace_id, name)


@router.post("/{name}/enable", summary='Switch a playbook on, or change its values ({"params": {...}})')
def enable(
    name: str, container: ContainerDep, principal: CurrentReader, body: dict[str, Any] | None = Body(default=None)
) -> dict[str, Any]:
    principal.require(*EDITORS)
    given = (body or {}).get("params") or {}
    if not isinstance(given, dict):
        raise InvalidInput("params is an object of parameter values", field="params", value=given)
    with SqlUnitOfWork(container.engine) as uow:
        view = playbooks.enable(uow, principal.workspace_id, name, given, actor=principal.actor, now=datetime.now(UTC))
        uow.commit()
    return view


@router.post("/{name}/disable", summary="Switch a playbook off: its journey is paused, its values kept")
def disable(name: str, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*EDITORS)
    with SqlUnitOfWork(container.engine) as uow:
        view = playbooks.disable(uow, principal.workspace_id, name, actor=principal.actor, now=datetime.now(UTC))
        uow.commit()
    return view
