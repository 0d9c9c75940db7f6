"""Outbound messages to customers: every send (a journey step, an operator's manual send) asks
``request_send``, which applies the guardrails, records the decision, and queues what may go.

Queued sends ride the service hub's outbox (route ``messaging``) and are delivered by the same
worker (``send_outbox`` with :data:`ROUTES`), through the provider configured for the channel.
A repeated ``idempotency_key`` returns the first decision and queues nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from liuyu.domain.customers.identifiers import normalize_phone
from liuyu.domain.engagement import guardrails
from liuyu.domain.engagement.guardrails import CHANNELS, PURPOSES, ConsentRecord, Facts, GuardrailSettings
from liuyu.domain.engagement.message_templates import render
from liuyu.domain.errors import InvalidInput
from liuyu.services.inbox import OutboxRoute, ServiceReplies

__all__ = [
    "ROUTES",
    "MessagingDeliveries",
    "SendDecision",
    "SendRequest",
    "decision_of",
    "request_send",
]

#: The identifier kind that addresses a customer on each channel (webhooks address the customer id).
ADDRESS_KINDS = {"email": "email", "sms": "phone", "wechat_template": "wechat_openid"}
#: Reasons a send is skipped before the guardrails are asked (setup or data is missing).
UNKNOWN_CUSTOMER, NO_TEMPLATE, NO_PROVIDER, NO_ADDRESS, TEMPLATE_ERROR = (
    "unknown_customer",
    "no_template",
    "no_provider",
    "no_address",
    "template_error",
)
MAX_KEY = 200
MAX_SOURCE = 200


@dataclass(frozen=True)
class SendRequest:
    workspace_id: int
    customer_id: int
    channel: str  # "email" | "sms" | "wechat_template" | "webhook"
    template: str  # template name configured for the channel
    variables: Mapping[str, Any]
    purpose: str  # "marketing" | "service" | "transactional"
    source: str  # e.g. "journey:<id>:step:<key>" or "manual:<operator>"
    idempotency_key: str


@dataclass(frozen=True)
class SendDecision:
    queued: bool
    reason: str | None
    outbox_id: int | None
    not_before: datetime | None


class MessagingStore(Protocol):
    """What ``request_send`` needs of storage (``liuyu.storage.messaging_store.SqlMessaging``)."""

    @property
    def serialized(self) -> bool: ...  # the database already serializes writers (no lock needed)
    def send_by_key(self, workspace_id: int, key: str) -> dict[str, Any] | None: ...
    def lock_customer(self, workspace_id: int, customer_id: int) -> None: ...
    def live_customer(self, workspace_id: int, customer_id: int) -> int | None: ...
    def family(self, workspace_id: int, customer_id: int) -> list[int]: ...
    def settings(self, workspace_id: int) -> dict[str, Any]: ...
    def template(self, workspace_id: int, channel: str, name: str) -> dict[str, Any] | None: ...
    def provider(self, workspace_id: int, channel: str) -> dict[str, Any] | None: ...
    def identifiers(self, workspace_id: int, customer_id: int, kinds: Sequence[str]) -> dict[str, list[str]]: ...
    def timezone(self, workspace_id: int, customer_id: int) -> str | None: ...
    def consents(self, workspace_id: int, customer_ids: Sequence[int]) -> list[dict[str, Any]]: ...
    def suppressed(self, workspace_id: int, entries: Sequence[tuple[str, str]]) -> tuple[str, str] | None: ...
    def complaint(self, workspace_id: int, customer_ids: Sequence[int], tags: Sequence[str]) -> str | None: ...
    def latest_negative(
        self, workspace_id: int, customer_ids: Sequence[int], since: datetime, score: float
    ) -> datetime | None: ...
    def marketing_times(self, workspace_id: int, customer_ids: Sequence[int], since: datetime) -> list[datetime]: ...
    def bought_category_at(self, workspace_id: int, customer_ids: Sequence[int], category: str) -> datetime | None: ...
    def add_send(self, row: dict[str, Any]) -> int: ...
    def enqueue(self, send_id: int, row: dict[str, Any]) -> int: ...


def decision_of(row: Mapping[str, Any]) -> SendDecision:
    return SendDecision(
        queued=row["decision"] == "queued",
        reason=row["reason"],
        outbox_id=row["outbox_id"],
        not_before=row["not_before"],
    )


def _check(request: SendRequest) -> None:
    if request.channel not in CHANNELS:
        raise InvalidInput(f"use one of {', '.join(CHANNELS)}", field="channel", value=request.channel)
    if request.purpose not in PURPOSES:
        raise InvalidInput(f"use one of {', '.join(PURPOSES)}", field="purpose", value=request.purpose)
    key = request.idempotency_key
    if not key or not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput(f"must be 1 to {MAX_KEY} characters", field="idempotency_key", value=key)
    if not request.source or len(request.source) > MAX_SOURCE:
        raise InvalidInput(f"must be 1 to {MAX_SOURCE} characters", field="source", value=request.source)
    if not request.template:
        raise InvalidInput("is required", field="template")
    try:
        json.dumps(dict(request.variables), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"must be JSON values: {exc}", field="variables") from exc


def request_send(uow: Any, request: SendRequest, *, now: datetime) -> SendDecision:
    """Decide and record one send; queue it in the outbox when the guardrails let it go.

    Skipped sends are recorded with their reason, never raised: a journey step goes on. Bad
    requests (unknown channel or purpose, empty key) raise InvalidInput. Does not commit.
    """
    _check(request)
    store: MessagingStore = uow.messaging
    ws = request.workspace_id
    existing = store.send_by_key(ws, request.idempotency_key)
    if existing is not None:
        return decision_of(existing)
    customer = store.live_customer(ws, request.customer_id)
    if customer is not None and not store.serialized:
        store.lock_customer(ws, customer)
        existing = store.send_by_key(ws, request.idempotency_key)  # a concurrent twin got there first
        if existing is not None:
            return decision_of(existing)
    record = _Record(store, request, customer or request.customer_id, now)
    if customer is None:
        return record.skip(UNKNOWN_CUSTOMER, f"no customer {request.customer_id} in this workspace")
    template = store.template(ws, request.channel, request.template)
    if template is None:
        return record.skip(NO_TEMPLATE, f"no {request.channel} template named {request.template!r}")
    if store.provider(ws, request.channel) is None:
        return record.skip(NO_PROVIDER, f"no provider configured for {request.channel}")
    address = _address(store, ws, customer, request.channel)
    if address is None:
        return record.skip(NO_ADDRESS, f"the customer has no {ADDRESS_KINDS[request.channel]} identifier")

    settings = GuardrailSettings.from_settings(store.settings(ws))
    verdict = guardrails.decide(
        request.purpose, request.channel, _facts(store, ws, customer, request, address, settings, now), settings, now
    )
    if not verdict.allowed:
        return record.skip(str(verdict.reason), verdict.detail)

    context = {**request.variables, "customer_id": customer}
    try:
        subject = render(str(template["subject"] or ""), context, "template subject")
        text = render(str(template["body"]), context, "template body")
    except InvalidInput as exc:
        return record.skip(TEMPLATE_ERROR, str(exc))
    payload = {
        "customer_id": customer,
        "channel": request.channel,
        "template": request.template,
        "template_code": template.get("provider_template") or "",
        "to": address,
        "subject": subject,
        "text": text,
        "variables": dict(request.variables),
        "purpose": request.purpose,
        "source": request.source,
    }
    if request.channel == "sms" and address.startswith("+86"):
        payload["to_national"] = address[3:]
    return record.queue(payload, verdict.reason, verdict.detail, verdict.not_before)


def _address(store: MessagingStore, ws: int, customer: int, channel: str) -> str | None:
    kind = ADDRESS_KINDS.get(channel)
    if kind is None:
        return str(customer)
    values = store.identifiers(ws, customer, [kind]).get(kind) or []
    return values[0] if values else None


def _facts(
    store: MessagingStore,
    ws: int,
    customer: int,
    request: SendRequest,
    address: str,
    settings: GuardrailSettings,
    now: datetime,
) -> Facts:
    family = store.family(ws, customer)
    entries = [("customer", str(c)) for c in family]
    kind = ADDRESS_KINDS.get(request.channel)
    if kind in ("phone", "email"):
        entries.append((kind, address))
    hit = store.suppressed(ws, entries)
    consents = [
        ConsentRecord(r["channel"], r["status"], r["at"], r["source"], r["evidence"])
        for r in store.consents(ws, family)
    ]
    marketing = request.purpose == "marketing"
    since = now - timedelta(days=max(settings.longest_cap_days, 1))
    negative_since = now - timedelta(days=settings.negative_days)
    category = str(request.variables.get("category") or "") or None
    durable = marketing and category is not None and category in settings.durable_categories
    return Facts(
        suppressed_by=f"{hit[0]} {hit[1]}" if hit else None,
        consent=guardrails.latest_consent(consents, request.channel),
        complaint=store.complaint(ws, family, settings.complaint_tags) if marketing else None,
        negative_at=store.latest_negative(ws, family, negative_since, settings.negative_score)
        if marketing and settings.negative_days
        else None,
        marketing_sent=store.marketing_times(ws, family, since) if marketing else (),
        timezone=store.timezone(ws, customer) if marketing else None,
        category=category,
        category_bought_at=store.bought_category_at(ws, family, category) if durable and category else None,
    )


class _Record:
    """Writes the decision row (and the outbox row when queued) for one request."""

    def __init__(self, store: MessagingStore, request: SendRequest, customer: int, now: datetime) -> None:
        self.store, self.request, self.now = store, request, now
        self.row: dict[str, Any] = {
            "workspace_id": request.workspace_id,
            "customer_id": customer,
            "channel": request.channel,
            "template": request.template[:100],
            "purpose": request.purpose,
            "source": request.source,
            "idempotency_key": request.idempotency_key,
            "decided_at": now,
        }

    def skip(self, reason: str, detail: str) -> SendDecision:
        self.store.add_send({**self.row, "decision": "skipped", "reason": reason, "detail": detail[:500]})
        return SendDecision(queued=False, reason=reason, outbox_id=None, not_before=None)

    def queue(
        self, payload: dict[str, Any], reason: str | None, detail: str, not_before: datetime | None
    ) -> SendDecision:
        send_id = self.store.add_send(
            {
                **self.row,
                "decision": "queued",
                "reason": reason,
                "detail": detail[:500],
                "not_before": not_before,
                "delivery_status": "queued",
            }
        )
        outbox_id = self.store.enqueue(
            send_id,
            {
                "workspace_id": self.request.workspace_id,
                "channel": self.request.channel,
                # Short, unique and stable: receivers drop a repeat carrying the same key.
                "idempotency_key": f"{self.request.workspace_id}:send:{send_id}",
                "payload": {**payload, "send_id": send_id},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": not_before or self.now,
                "created_at": self.now,
            },
        )
        return SendDecision(queued=True, reason=reason, outbox_id=outbox_id, not_before=not_before)


# -- delivery --------------------------------------------------------------------------------------


def provider_target(provider: Mapping[str, Any]) -> dict[str, Any]:
    """A provider row in the shape the outbound adapters read (``outbound_kind``, ``outbound_target``)."""
    config = dict(provider.get("config") or {})
    if provider["kind"] == "smtp":
        target = f"{config.get('host', '127.0.0.1')}:{config.get('port', 25)}"
    else:
        target = str(config.get("url") or "")
    return {
        "outbound_kind": provider["kind"],
        "outbound_target": target,
        "outbound_secret": provider.get("secret"),
        "config": config,
    }


class MessagingDeliveries:
    """The outbox route of messaging sends: the channel's provider, and the send's delivery status."""

    def target(self, uow: Any, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
        provider = uow.messaging.provider(row["workspace_id"], row["channel"])
        return None if provider is None else provider_target(provider)

    def finish(self, uow: Any, row: Mapping[str, Any], status: str, at: datetime, values: dict[str, Any]) -> None:
        uow.messaging.finish(row["id"], status, at, values)


#: Every outbox route a worker delivers: service replies and messaging sends.
ROUTES: dict[str, OutboxRoute] = {"service": ServiceReplies(), "messaging": MessagingDeliveries()}


def phone_value(raw: str) -> str:
    """A phone as the identifiers and the suppression list keep it (E.164)."""
    found = normalize_phone(raw)
    if not found:
        raise InvalidInput("is not a phone number", field="value", value=raw)
    return found
