"""Tags and computed traits of a customer: tags with source and time, adding and removing them, counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.domain.errors import NotFound
from liuyu.services import engagement, text_tags
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1", tags=["tags"])

TAGGERS = ("admin", "operator", "supervisor", "agent")


class TagIn(BaseModel):
    tag: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500, description="why; kept with the tag")


@router.get("/tags", summary="Every tag with how many customers carry it, per source")
def counts(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"tags": uow.engagement.tag_counts(principal.workspace_id)}


@router.get("/tags/rules", summary="The rules that tag customers from their events and what they write")
def rules(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"rules": text_tags.get_rules(uow, principal.workspace_id)}


class RulesIn(BaseModel):
    rules: list[dict[str, Any]] = Field(
        description="e.g. [{'tag': '王者荣耀玩家', 'from': 'text', 'words': ['王者', '上分']}, "
        "{'tag': '包装差评', 'aspect': 'packaging', 'sentiment': 'negative'}, {'tag': '公众号粉丝', 'from': 'event', "
        "'events': ['followed']}]",
        max_length=200,
    )


@router.put(
    "/tags/rules", summary="Replace the tag rules (new events follow them; `liuyu rebuild` applies them to the past)"
)
def set_rules(body: RulesIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin", "operator")
    checked = text_tags.parse_tag_rules(body.rules)
    with SqlUnitOfWork(container.engine) as uow:
        text_tags.set_rules(uow, principal.workspace_id, checked, actor=principal.actor)
        uow.commit()
        return {"rules": text_tags.get_rules(uow, principal.workspace_id)}


@router.get("/customers/{customer_id}/tags", summary="A customer's tags with source, reason and time")
def customer_tags(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        if not uow.engagement.customer_exists(principal.workspace_id, customer_id):
            raise NotFound(f"no customer {customer_id} in this workspace")
        return {"customer_id": customer_id, "tags": uow.engagement.tags_of(principal.workspace_id, customer_id)}


@router.post("/customers/{customer_id}/tags", status_code=201, summary="Tag a customer by hand")
def add(customer_id: int, body: TagIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*TAGGERS)
    with SqlUnitOfWork(container.engine) as uow:
        added = engagement.tag_customer(
            uow, principal.workspace_id, customer_id, body.tag, reason=body.reason, actor=principal.actor
        )
        uow.commit()
    return added


@router.delete("/customers/{customer_id}/tags/{tag}", summary="Remove a tag (the reason goes to the audit log)")
def remove(
    customer_id: int,
    tag: str,
    container: ContainerDep,
    principal: CurrentReader,
    reason: str = Query(min_length=1, max_length=500),
) -> dict[str, Any]:
    principal.require(*TAGGERS)
    with SqlUnitOfWork(container.engine) as uow:
        removed = engagement.untag_customer(
            uow, principal.workspace_id, customer_id, tag, reason=reason, actor=principal.actor
        )
        uow.commit()
    return removed


@router.get("/customers/{customer_id}/scores", summary="Computed traits: RFM, lifecycle, purchase forecast, hours")
def scores(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        if not uow.engagement.customer_exists(principal.workspace_id, customer_id):
            raise NotFound(f"no customer {customer_id} in this workspace")
        found = uow.engagement.scores_of(principal.workspace_id, customer_id)
    return {"customer_id": customer_id, "scores": found}  # None until `liuyu traits refresh` has run
