"""Customers: search, the 360 view, open tickets and marketing touches, undoing merges, export and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.api.masking import mask_summary, mask_view
from liuyu.api.routes.conversations import TOUCH_VIEWERS, customer_touches
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.services import privacy
from liuyu.services.identity import unmerge
from liuyu.storage.attachment_blobs import blobs_for
from liuyu.storage.customer_queries import customer_360, customer_summaries, find_customers, live_id, workspace_counts
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1", tags=["customers"])


@router.get("/customers", summary="Find customers by phone, name, any identifier or order id")
def search(
    container: ContainerDep, principal: CurrentReader, q: str = Query(min_length=1, max_length=200)
) -> dict[str, Any]:
    with container.engine.connect() as conn:
        found = customer_summaries(conn, principal.workspace_id, find_customers(conn, principal.workspace_id, q))
    return {"customers": [mask_summary(row, principal) for row in found]}


@router.get("/customers/{customer_id}", summary="The customer 360")
def show(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with container.engine.connect() as conn:
        view = customer_360(conn, principal.workspace_id, customer_id)
    if view is None:
        raise HTTPException(status_code=404, detail=f"no customer {customer_id}")
    return mask_view(view, principal)


@router.get(
    "/customers/{customer_id}/touches",
    summary="Open tickets and the newest marketing touches (sends, skipped sends, journeys)",
)
def touches(
    customer_id: int,
    container: ContainerDep,
    principal: CurrentReader,
    limit: int = Query(default=10, ge=1, le=100),
) -> dict[str, Any]:
    principal.require(*TOUCH_VIEWERS)
    with container.engine.connect() as conn:
        live = live_id(conn, principal.workspace_id, customer_id)
        if live is None:
            raise HTTPException(status_code=404, detail=f"no customer {customer_id}")
        return {"customer_id": live, **customer_touches(conn, principal.workspace_id, live, principal, limit=limit)}


@router.post("/merges/{merge_id}/undo", summary="Undo a merge")
def undo_merge(merge_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin", "operator", "supervisor")
    policy = IdentityPolicy(protect_verified_phones=container.settings.protect_verified_phones)
    with SqlUnitOfWork(container.engine) as uow:
        result = unmerge(uow, principal.workspace_id, merge_id, actor=principal.actor, policy=policy)
        uow.commit()
    return result


@router.get("/customers/{customer_id}/export", summary="Everything stored about a customer (access request)")
def export(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin")
    with SqlUnitOfWork(container.engine) as uow:
        data = privacy.export_customer(uow, principal.workspace_id, customer_id, actor=principal.actor)
        uow.commit()
    return data


@router.delete("/customers/{customer_id}", summary="Erase a customer's personal data (counts are kept)")
def erase(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin")
    blobs, _ = blobs_for(container.settings.database_url)  # the files go too (docs/service_hub.md)
    with SqlUnitOfWork(container.engine) as uow:
        result = privacy.erase_customer(uow, principal.workspace_id, customer_id, actor=principal.actor, blobs=blobs)
        uow.commit()
    return {"erased": customer_id, **result}


@router.get("/stats", summary="Counts of the workspace")
def stats(container: ContainerDep, principal: CurrentReader) -> dict[str, int]:
    with container.engine.connect() as conn:
        return workspace_counts(conn, principal.workspace_id)


@router.get("/imports", summary="Import history")
def imports(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"imports": uow.imports.history(principal.workspace_id)}
