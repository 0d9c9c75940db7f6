"""The messaging API: providers, templates, guardrails, consent, the suppression list, manual sends
(through the same guardrails as journeys) and every send decision about a customer.

Phones and emails on the suppression list are masked for every role but admin and supervisor.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.domain.customers.identifiers import mask_value
from liuyu.services import messaging_setup as setup
from liuyu.services.accounts import Principal
from liuyu.services.messaging import SendRequest, request_send
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/api/v1/messaging", tags=["messaging"])

CONFIGURERS = ("admin",)
SENDERS = ("admin", "operator")
CONSENT_KEEPERS = ("admin", "operator", "supervisor", "agent")
VIEWERS = ("admin", "operator", "supervisor", "analyst", "agent")

Channel = Literal["email", "sms", "wechat_template", "webhook"]
Purpose = Literal["marketing", "service", "transactional"]


class ProviderIn(BaseModel):
    kind: Literal["smtp", "webhook", "http"]
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, Any]
    rotate: bool = Field(default=False, description="a webhook: issue a new signing secret")


class TemplateIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000, description="text with {{variable}} placeholders")
    subject: str = Field(default="", max_length=300)
    provider_template: str | None = Field(default=None, max_length=200, description="the provider's template id")


class ConsentIn(BaseModel):
    customer_id: int = Field(gt=0, lt=2**63)
    channel: Channel
    status: Literal["opt_in", "opt_out"]
    source: str = Field(min_length=1, max_length=200, description="where the customer said so")
    evidence: str = Field(default="", max_length=2000, description="the proof; required for an opt-in")
    at: AwareDatetime | None = Field(default=None, description="when the customer said so; default now")


class SuppressionIn(BaseModel):
    kind: Literal["phone", "email", "customer"]
    value: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class SendIn(BaseModel):
    customer_id: int = Field(gt=0, lt=2**63)
    channel: Channel
    template: str = Field(min_length=1, max_length=100)
    variables: dict[str, Any] = Field(default_factory=dict)
    purpose: Purpose = "marketing"
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=150)


def _uow(container: ContainerDep) -> SqlUnitOfWork:
    return SqlUnitOfWork(container.engine)


@router.get("/providers", summary="The providers per channel, credentials masked")
def providers(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*SENDERS, "supervisor")
    with _uow(container) as uow:
        return {"providers": [setup.public_provider(p) for p in uow.messaging.providers(principal.workspace_id)]}


@router.put("/providers/{channel}", summary="Configure a channel's provider (a webhook's secret is shown once)")
def put_provider(
    channel: Channel, body: ProviderIn, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*CONFIGURERS)
    with _uow(container) as uow:
        shown = setup.configure_provider(
            uow, principal.workspace_id, channel, kind=body.kind, name=body.name, config=body.config, rotate=body.rotate
        )
        uow.commit()
    return shown


@router.get("/templates", summary="Message templates per channel, with the variables each uses")
def templates(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*VIEWERS)
    with _uow(container) as uow:
        return {"templates": [setup.public_template(t) for t in uow.messaging.templates(principal.workspace_id)]}


@router.put("/templates/{channel}/{name}", summary="Create or change a template")
def put_template(
    channel: Channel, name: str, body: TemplateIn, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*SENDERS)
    with _uow(container) as uow:
        saved = setup.save_template(
            uow,
            principal.workspace_id,
            channel,
            name,
            body=body.body,
            subject=body.subject,
            provider_template=body.provider_template,
        )
        uow.commit()
    return saved


@router.get("/guardrails", summary="Caps, quiet hours, consent mode, complaint tags, sentiment window")
def guardrails(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*VIEWERS)
    with _uow(container) as uow:
        return setup.guardrail_settings(uow, principal.workspace_id)


@router.patch("/guardrails", summary="Change some guardrail settings; the whole result is checked")
def patch_guardrails(changes: dict[str, Any], container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*CONFIGURERS)
    with _uow(container) as uow:
        shown = setup.change_guardrails(uow, principal.workspace_id, changes)
        uow.commit()
    return shown


@router.post("/consents", status_code=201, summary="Record an opt-in or opt-out with its proof")
def record_consent(body: ConsentIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*CONSENT_KEEPERS)
    with _uow(container) as uow:
        shown = setup.record_consent(
            uow,
            principal.workspace_id,
            body.customer_id,
            body.channel,
            body.status,
            source=body.source,
            evidence=body.evidence,
            actor=principal.actor,
            at=body.at.astimezone(UTC) if body.at else None,
        )
        uow.commit()
    return shown


@router.get("/customers/{customer_id}/consents", summary="A customer's consent log and what counts per channel")
def consents(customer_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*VIEWERS)
    with _uow(container) as uow:
        return setup.consents_of(uow, principal.workspace_id, customer_id)


def _shown(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if row["kind"] != "customer" and not principal.sees_pii:
        row = {**row, "value": mask_value(row["kind"], row["value"])}
    return row


@router.get("/suppressions", summary="The suppression list, newest first")
def suppressions(
    container: ContainerDep, principal: CurrentReader, limit: int = Query(default=200, ge=1, le=5000)
) -> dict[str, Any]:
    principal.require(*VIEWERS)
    with _uow(container) as uow:
        rows = uow.messaging.suppressions(principal.workspace_id, limit=limit)
    return {"suppressions": [_shown(setup.public_suppression(r), principal) for r in rows]}


@router.post("/suppressions", status_code=201, summary="Put a phone, email or customer on the suppression list")
def suppress(body: SuppressionIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*CONSENT_KEEPERS)
    with _uow(container) as uow:
        shown = setup.suppress(
            uow, principal.workspace_id, body.kind, body.value, reason=body.reason, actor=principal.actor
        )
        uow.commit()
    return _shown(shown, principal)


@router.delete("/suppressions/{kind}/{value}", summary="Take an entry off the suppression list")
def unsuppress(
    kind: Literal["phone", "email", "customer"], value: str, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*SENDERS)
    with _uow(container) as uow:
        setup.unsuppress(uow, principal.workspace_id, kind, value)
        uow.commit()
    return {"removed": {"kind": kind}}


@router.post("/sends", summary="Send one message by hand, through the same guardrails as journeys")
def send(body: SendIn, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*SENDERS)
    now = datetime.now(UTC)
    request = SendRequest(
        workspace_id=principal.workspace_id,
        customer_id=body.customer_id,
        channel=body.channel,
        template=body.template,
        variables=body.variables,
        purpose=body.purpose,
        source=f"manual:{principal.actor}"[:200],
        idempotency_key=f"manual:{body.idempotency_key or uuid.uuid4().hex}",
    )
    with _uow(container) as uow:
        decision = request_send(uow, request, now=now)
        uow.commit()
    return {
        "queued": decision.queued,
        "reason": decision.reason,
        "outbox_id": decision.outbox_id,
        "not_before": decision.not_before.isoformat() if decision.not_before else None,
    }


@router.get("/customers/{customer_id}/sends", summary="Every send decision about a customer, with the reason")
def decisions(
    customer_id: int,
    container: ContainerDep,
    principal: CurrentReader,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    principal.require(*VIEWERS)
    with _uow(container) as uow:
        return setup.decisions_of(uow, principal.workspace_id, customer_id, limit=limit)
