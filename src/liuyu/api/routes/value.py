"""Where the value is: the 20/80 view by dimension, the segments holding the core, cohort retention."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.services import value
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/engagement", tags=["engagement"])


@router.get("/value", summary="Revenue share of the best buyers: overall, by channel, category, month and segment")
def value_view(
    container: ContainerDep,
    principal: CurrentReader,
    top: float = Query(0.2, gt=0, lt=1, description="the best share of buyers that makes the core (0.2 for 20/80)"),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return value.value_view(uow, principal.workspace_id, top=top)


@router.get("/cohorts", summary="Monthly cohorts by first purchase and the share buying again each later month")
def cohorts(
    container: ContainerDep,
    principal: CurrentReader,
    horizon: int = Query(12, ge=1, le=36, description="months after the first purchase to follow"),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return value.cohort_view(uow, principal.workspace_id, horizon=horizon)
