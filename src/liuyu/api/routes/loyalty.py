"""The member center over HTTP: member cards, the ledger, points, benefits, coupons and the program.

Agents read; operators and admins act (redeem, adjust, enroll, issue); only admins set the program.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.services import loyalty
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1", tags=["member center"])
ACT = ("admin", "operator")
BIGGEST = 2**63 - 1  # customer ids are BIGINT: anything larger is a 422, not a database error
CustomerId = Annotated[int, Path(ge=1, le=BIGGEST)]


class ProgramIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=200_000, description="The program in YAML (see docs/loyalty.md)")


class EnrollIn(BaseModel):
    channel: str = Field(default="other", min_length=1, max_length=20)
    consents: dict[str, bool] = Field(default_factory=dict)


class RedeemIn(BaseModel):
    points: int = Field(gt=0, le=100_000_000)
    request_id: str = Field(min_length=1, max_length=200, description="Idempotency key: a retry returns the same")
    reason: str = Field(default="", max_length=500)


class AdjustIn(BaseModel):
    points: int = Field(ge=-100_000_000, le=100_000_000, description="Positive grants, negative takes back")
    reason: str = Field(min_length=1, max_length=500)
    adjustment_id: str | None = Field(default=None, max_length=200, description="Idempotency key; made when absent")


class ConsumeIn(BaseModel):
    kind: str = Field(min_length=1, max_length=32, description="birthday_gift or exclusive_coupon")
    channel: str = Field(default="other", min_length=1, max_length=20)
    value: str | None = Field(default=None, max_length=200)


class IssueIn(BaseModel):
    template: str = Field(min_length=1, max_length=64)
    customer_ids: list[Annotated[int, Field(ge=1, le=BIGGEST)]] = Field(min_length=1, max_length=10_000)
    batch: str | None = Field(default=None, max_length=64)


class SegmentIssueIn(BaseModel):
    template: str = Field(min_length=1, max_length=64)
    segment: str = Field(min_length=1, max_length=5000, description="A saved segment's name, or a segment expression")
    run_key: str | None = Field(
        default=None,
        max_length=64,
        description="Idempotency key of the run (default: the segment); the same key again issues to newcomers only",
    )


class ClaimIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="The shared batch code, e.g. DOUBLE11")
    customer_id: int = Field(ge=1, le=BIGGEST)


class CartLineIn(BaseModel):
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    category: str | None = Field(default=None, max_length=100)


class CouponRedeemIn(BaseModel):
    customer_id: int = Field(ge=1, le=BIGGEST)
    order_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=20)
    lines: list[CartLineIn] = Field(min_length=1, max_length=500)
    shipping: Decimal = Field(default=Decimal(0), ge=0, max_digits=10, decimal_places=2)


class RunDueIn(BaseModel):
    at: datetime | None = Field(default=None, description="Defaults to now; must carry a zone")


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/loyalty/program", summary="The workspace's loyalty program (the default until an admin sets one)")
def get_program(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        program = uow.loyalty.program(principal.workspace_id)
        stored = uow.loyalty.program_source(principal.workspace_id)
    return {
        "program": loyalty.program_document(program),
        "yaml": stored["source"] if stored else "",
        "updated_at": stored["updated_at"].isoformat() if stored else None,
        "updated_by": stored["updated_by"] if stored else None,
    }


@router.put("/loyalty/program", summary="Set the program from YAML; bad fields are named by path")
def set_program(body: ProgramIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require("admin")
    with SqlUnitOfWork(container.engine) as uow:
        program = loyalty.set_program(uow, principal.workspace_id, body.yaml, actor=principal.actor, at=_now())
        uow.commit()
    return {"program": loyalty.program_document(program)}


@router.get("/coupon-templates", summary="The program's coupon templates")
def coupon_templates(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        program = uow.loyalty.program(principal.workspace_id)
    return {"templates": loyalty.program_document(program)["coupon_templates"]}


@router.post("/loyalty/run-due", summary="Release points whose return window closed, expire due lots, review tiers")
def run_due(body: RunDueIn, container: ContainerDep, principal: CurrentReader) -> dict[str, int]:
    principal.require(*ACT)
    at = body.at or _now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    with SqlUnitOfWork(container.engine) as uow:
        result = loyalty.run_due(uow, principal.workspace_id, at=at)
        uow.commit()
    return result


@router.get("/members/{customer_id}", summary="The member card: tier and progress, points, expiry, coupons, benefits")
def member_card(customer_id: CustomerId, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return loyalty.card(uow, principal.workspace_id, customer_id, at=_now())


@router.post("/members/{customer_id}/enroll", summary="Enroll a customer (enrolling twice keeps the first)")
def enroll(
    customer_id: CustomerId, body: EnrollIn, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        member = loyalty.enroll(
            uow,
            principal.workspace_id,
            customer_id,
            channel=body.channel,
            at=_now(),
            consents=body.consents,
            actor=principal.actor,
        )
        uow.commit()
    return _jsonable(member)


@router.get("/members/{customer_id}/ledger", summary="Ledger entries of the member, newest first, with filters")
def member_ledger(
    customer_id: CustomerId,
    container: ContainerDep,
    principal: CurrentReader,
    kind: str | None = Query(default=None, max_length=16, description="earn, release, redeem, expire, reverse, …"),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rows = loyalty.ledger(
            uow, principal.workspace_id, customer_id, kind=kind, since=_aware(since), until=_aware(until), limit=limit
        )
    return {"entries": [_jsonable(r) for r in rows]}


@router.post("/members/{customer_id}/redeem", summary="Spend points (idempotent by request id; never overdraws)")
def redeem_points(
    customer_id: CustomerId, body: RedeemIn, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        result = loyalty.redeem(
            uow,
            principal.workspace_id,
            customer_id,
            points=body.points,
            request_id=body.request_id,
            at=_now(),
            reason=body.reason,
        )
        uow.commit()
    return result


@router.post("/members/{customer_id}/adjust", summary="Grant or take back points (operator and reason recorded)")
def adjust_points(
    customer_id: CustomerId, body: AdjustIn, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        result = loyalty.adjust(
            uow,
            principal.workspace_id,
            customer_id,
            points=body.points,
            adjustment_id=body.adjustment_id or uuid.uuid4().hex,
            operator=principal.actor,
            reason=body.reason,
            at=_now(),
        )
        uow.commit()
    return result


@router.get("/members/{customer_id}/benefits", summary="What may this member have now?")
def member_benefits(customer_id: CustomerId, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return {"benefits": loyalty.benefits(uow, principal.workspace_id, customer_id, at=_now())}


@router.post("/members/{customer_id}/benefits/consume", summary="Take a benefit once (a retry elsewhere is refused)")
def consume_benefit(
    customer_id: CustomerId, body: ConsumeIn, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        taken = loyalty.consume_benefit(
            uow, principal.workspace_id, customer_id, kind=body.kind, channel=body.channel, at=_now(), value=body.value
        )
        uow.commit()
    return _jsonable(taken)


@router.post("/coupons/issue", summary="Issue a template's coupons to one customer or a list")
def issue_coupons(body: IssueIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*ACT)
    now = _now()
    with SqlUnitOfWork(container.engine) as uow:
        made = loyalty.issue_coupons(
            uow,
            principal.workspace_id,
            body.template,
            body.customer_ids,
            at=now,
            batch=body.batch or f"{body.template}-{now:%Y%m%d%H%M%S}",
        )
        uow.commit()
    return {"coupons": made}


@router.post("/coupons/issue-to-segment", summary="Issue a template's coupons to everyone a segment holds now")
def issue_to_segment(body: SegmentIssueIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        result = loyalty.issue_to_segment(
            uow, principal.workspace_id, body.template, body.segment, at=_now(), run_key=body.run_key
        )
        uow.commit()
    return result


@router.post("/coupons/claim", summary="A member claims a shared batch code: their own coupon, once per batch")
def claim_coupon(body: ClaimIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        result = loyalty.claim_coupon(uow, principal.workspace_id, body.code, customer_id=body.customer_id, at=_now())
        uow.commit()
    return result


@router.post("/coupons/{code}/redeem", summary="Redeem a coupon on an order, exactly once")
def redeem_coupon(code: str, body: CouponRedeemIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*ACT)
    with SqlUnitOfWork(container.engine) as uow:
        result = loyalty.redeem_coupon(
            uow,
            principal.workspace_id,
            code,
            customer_id=body.customer_id,
            order_id=body.order_id,
            channel=body.channel,
            lines=[(line.amount, line.category) for line in body.lines],
            at=_now(),
            shipping=body.shipping,
        )
        uow.commit()
    return result


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
