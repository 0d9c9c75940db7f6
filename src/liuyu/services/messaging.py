"""Outbound messages to customers: every send (a journey step, an operator's manual send) asks
``request_send`` (or ``request_send_many`` for a batch, such as a journey step's customers), which
applies the guardrails, records the decision, and queues what may go.

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
    "request_send_many",
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
    """What ``request_send_many`` needs of storage (``liuyu.storage.messaging_store.SqlMessaging``):
    every read takes the whole batch's customers at once."""

    @property
    def serialized(self) -> bool: ...  # the database already serializes writers (no lock needed)
    def sends_by_key(self, workspace_id: int, keys: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def lock_customers(self, workspace_id: int, customer_ids: Sequence[int]) -> None: ...
    def live_customers(self, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, int]: ...
    def families(self, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, list[int]]: ...
    def settings(self, workspace_id: int) -> dict[str, Any]: ...
    def template(self, workspace_id: int, channel: str, name: str) -> dict[str, Any] | None: ...
    def provider(self, workspace_id: int, channel: str) -> dict[str, Any] | None: ...
    def identifiers_of(
        self, workspace_id: int, customer_ids: Sequence[int], kinds: Sequence[str]
    ) -> dict[int, dict[str, list[str]]]: ...
    def timezones(self, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, str]: ...
    def consents(self, workspace_id: int, customer_ids: Sequence[int]) -> list[dict[str, Any]]: ...
    def suppressed(self, workspace_id: int, values: Sequence[str]) -> set[tuple[str, str]]: ...
    def complaints(self, workspace_id: int, customer_ids: Sequence[int], tags: Sequence[str]) -> dict[int, str]: ...
    def latest_negatives(
        self, workspace_id: int, customer_ids: Sequence[int], since: datetime, score: float
    ) -> dict[int, datetime]: ...
    def marketing_times(
        self, workspace_id: int, customer_ids: Sequence[int], since: datetime
    ) -> dict[int, list[datetime]]: ...
    def bought_category_at(
        self, workspace_id: int, customer_ids: Sequence[int], category: str
    ) -> dict[int, datetime]: ...
    def add_sends(self, rows: Sequence[dict[str, Any]]) -> list[int]: ...
    def enqueue_many(self, links: Sequence[tuple[int, dict[str, Any]]]) -> list[int]: ...


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
    """Decide and record one send: the batch of one (see :func:`request_send_many`)."""
    return request_send_many(uow, [request], now=now)[0]


def request_send_many(uow: Any, requests: Sequence[SendRequest], *, now: datetime) -> list[SendDecision]:
    """Decide and record a batch of sends, in order, exactly as one ``request_send`` after another
    would (the batch's own earlier sends count toward caps; a repeated key gets the first decision),
    with a fixed number of queries per workspace whatever the batch size.

    Skipped sends are recorded with their reason, never raised: a journey step goes on. A bad
    request (unknown channel or purpose, empty key) raises InvalidInput for the whole batch.
    Does not commit.
    """
    for request in requests:
        _check(request)
    decisions: list[SendDecision | None] = [None] * len(requests)
    by_workspace: dict[int, list[int]] = {}
    for i, request in enumerate(requests):
        by_workspace.setdefault(request.workspace_id, []).append(i)
    for ws, positions in by_workspace.items():
        found = _Batch(uow.messaging, ws, [requests[i] for i in positions], now).decide()
        for i, decision in zip(positions, found, strict=True):
            decisions[i] = decision
    return [d for d in decisions if d is not None]


@dataclass
class _Pending:
    """One request's decision before it is written: the send row, and the outbox payload if queued."""

    row: dict[str, Any]
    payload: dict[str, Any] | None = None


class _Batch:
    """The requests of one workspace: gather the facts of all their customers, then decide in order."""

    def __init__(self, store: MessagingStore, ws: int, requests: list[SendRequest], now: datetime) -> None:
        self.store, self.ws, self.requests, self.now = store, ws, requests, now

    def decide(self) -> list[SendDecision]:
        store, ws, requests, now = self.store, self.ws, self.requests, self.now
        keys = [r.idempotency_key for r in requests]
        recorded = store.sends_by_key(ws, keys)
        fresh = [r for r in requests if r.idempotency_key not in recorded]
        live = store.live_customers(ws, [r.customer_id for r in fresh])
        if live and not store.serialized:
            store.lock_customers(ws, list(live.values()))
            recorded.update(store.sends_by_key(ws, [r.idempotency_key for r in fresh]))  # concurrent twins
            fresh = [r for r in fresh if r.idempotency_key not in recorded]
        setup = self._setup(fresh, live)
        facts = self._facts(fresh, setup, live)

        pending: dict[str, _Pending] = {}
        order: list[str] = []
        sent: dict[int, list[datetime]] = {}  # marketing this batch queued, per customer
        for request in fresh:
            if request.idempotency_key in pending:
                continue  # a repeat within the batch: the first decision stands
            customer = live.get(request.customer_id)
            decided = self._one(request, customer, setup, facts, sent)
            pending[request.idempotency_key] = decided
            order.append(request.idempotency_key)
            if customer is not None and decided.payload is not None and request.purpose == "marketing":
                sent.setdefault(customer, []).append(decided.row["not_before"] or now)

        rows = [pending[k] for k in order]
        send_ids = store.add_sends([p.row for p in rows])
        queued = [(send_id, p) for send_id, p in zip(send_ids, rows, strict=True) if p.payload is not None]
        outbox_ids = store.enqueue_many([(send_id, self._outbox_row(send_id, p)) for send_id, p in queued])
        for (_, p), outbox_id in zip(queued, outbox_ids, strict=True):
            p.row["outbox_id"] = outbox_id
        return [
            decision_of(
                recorded[r.idempotency_key] if r.idempotency_key in recorded else pending[r.idempotency_key].row
            )
            for r in requests
        ]

    def _setup(self, fresh: list[SendRequest], live: Mapping[int, int]) -> dict[str, Any]:
        """Templates, providers (cached per transaction) and each customer's addresses."""
        store, ws = self.store, self.ws
        templates = {(r.channel, r.template): store.template(ws, r.channel, r.template) for r in fresh}
        providers = {r.channel: store.provider(ws, r.channel) for r in fresh}
        kinds = sorted({ADDRESS_KINDS[r.channel] for r in fresh if r.channel in ADDRESS_KINDS})
        customers = sorted({live[r.customer_id] for r in fresh if r.customer_id in live})
        return {
            "templates": templates,
            "providers": providers,
            "identifiers": store.identifiers_of(ws, customers, kinds),
        }

    def _address(self, setup: Mapping[str, Any], customer: int, channel: str) -> str | None:
        kind = ADDRESS_KINDS.get(channel)
        if kind is None:
            return str(customer)
        values = setup["identifiers"].get(customer, {}).get(kind) or []
        return values[0] if values else None

    def _facts(self, fresh: list[SendRequest], setup: Mapping[str, Any], live: Mapping[int, int]) -> dict[str, Any]:
        """What the guardrails read, for every customer of the batch that reaches them."""
        store, ws, now = self.store, self.ws, self.now
        reaching: list[tuple[SendRequest, int, str]] = []
        for r in fresh:
            customer = live.get(r.customer_id)
            if (
                customer is None
                or setup["templates"].get((r.channel, r.template)) is None
                or setup["providers"].get(r.channel) is None
            ):
                continue
            address = self._address(setup, customer, r.channel)
            if address is not None:
                reaching.append((r, customer, address))
        if not reaching:
            return {}
        settings = GuardrailSettings.from_settings(store.settings(ws))
        families = store.families(ws, sorted({c for _, c, _ in reaching}))
        members = sorted({m for family in families.values() for m in family})
        values = set(map(str, members)) | {
            a for r, _, a in reaching if ADDRESS_KINDS.get(r.channel) in ("phone", "email")
        }
        consents: dict[int, list[dict[str, Any]]] = {}
        for row in store.consents(ws, members):
            consents.setdefault(int(row["customer_id"]), []).append(row)
        marketing = sorted({c for r, c, _ in reaching if r.purpose == "marketing"})
        in_marketing = sorted({m for c in marketing for m in families[c]})
        since = now - timedelta(days=max(settings.longest_cap_days, 1))
        bought: dict[str, dict[int, datetime]] = {}
        for category in sorted({c for r, _, _ in reaching if (c := self._durable(r, settings))}):
            bought[category] = store.bought_category_at(ws, in_marketing, category)
        return {
            "settings": settings,
            "families": families,
            "suppressed": store.suppressed(ws, sorted(values)),
            "consents": consents,
            "complaints": store.complaints(ws, in_marketing, settings.complaint_tags) if in_marketing else {},
            "negatives": store.latest_negatives(
                ws, in_marketing, now - timedelta(days=settings.negative_days), settings.negative_score
            )
            if in_marketing and settings.negative_days
            else {},
            "marketing_sent": store.marketing_times(ws, in_marketing, since) if in_marketing else {},
            "timezones": store.timezones(ws, marketing) if marketing else {},
            "bought": bought,
        }

    @staticmethod
    def _durable(request: SendRequest, settings: GuardrailSettings) -> str | None:
        """The durable category a marketing send promotes, if any."""
        category = str(request.variables.get("category") or "") or None
        marketing = request.purpose == "marketing"
        return category if marketing and category and category in settings.durable_categories else None

    def _one(
        self,
        request: SendRequest,
        customer: int | None,
        setup: Mapping[str, Any],
        facts: Mapping[str, Any],
        sent: Mapping[int, list[datetime]],
    ) -> _Pending:
        record = _Record(request, customer or request.customer_id, self.now)
        if customer is None:
            return record.skip(UNKNOWN_CUSTOMER, f"no customer {request.customer_id} in this workspace")
        template = setup["templates"][(request.channel, request.template)]
        if template is None:
            return record.skip(NO_TEMPLATE, f"no {request.channel} template named {request.template!r}")
        if setup["providers"][request.channel] is None:
            return record.skip(NO_PROVIDER, f"no provider configured for {request.channel}")
        address = self._address(setup, customer, request.channel)
        if address is None:
            return record.skip(NO_ADDRESS, f"the customer has no {ADDRESS_KINDS[request.channel]} identifier")

        settings: GuardrailSettings = facts["settings"]
        family: list[int] = facts["families"][customer]
        verdict = guardrails.decide(
            request.purpose,
            request.channel,
            self._customer_facts(request, customer, family, address, facts, sent.get(customer, [])),
            settings,
            self.now,
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

    def _customer_facts(
        self,
        request: SendRequest,
        customer: int,
        family: list[int],
        address: str,
        facts: Mapping[str, Any],
        batch_sent: list[datetime],
    ) -> Facts:
        entries = [("customer", str(c)) for c in family]
        kind = ADDRESS_KINDS.get(request.channel)
        if kind in ("phone", "email"):
            entries.append((kind, address))
        hit = next((e for e in entries if e in facts["suppressed"]), None)
        rows = sorted((r for c in family for r in facts["consents"].get(c, [])), key=lambda r: (r["at"], r["id"]))
        consents = [ConsentRecord(r["channel"], r["status"], r["at"], r["source"], r["evidence"]) for r in rows]
        marketing = request.purpose == "marketing"
        category = str(request.variables.get("category") or "") or None
        durable = self._durable(request, facts["settings"])
        if not marketing:
            return Facts(
                suppressed_by=f"{hit[0]} {hit[1]}" if hit else None,
                consent=guardrails.latest_consent(consents, request.channel),
                category=category,
            )
        complaint = next((facts["complaints"][c] for c in family if c in facts["complaints"]), None)
        tagged = next(
            (facts["complaints"][c] for c in family if facts["complaints"].get(c, "").startswith("tagged")), None
        )
        negatives = [facts["negatives"][c] for c in family if c in facts["negatives"]]
        bought = [facts["bought"][durable][c] for c in family if durable and c in facts["bought"][durable]]
        return Facts(
            suppressed_by=f"{hit[0]} {hit[1]}" if hit else None,
            consent=guardrails.latest_consent(consents, request.channel),
            complaint=tagged or complaint,
            negative_at=max(negatives) if negatives else None,
            marketing_sent=[*(t for c in family for t in facts["marketing_sent"].get(c, [])), *batch_sent],
            timezone=facts["timezones"].get(customer),
            category=category,
            category_bought_at=max(bought) if bought else None,
        )

    def _outbox_row(self, send_id: int, pending: _Pending) -> dict[str, Any]:
        row = pending.row
        return {
            "workspace_id": self.ws,
            "channel": row["channel"],
            # Short, unique and stable: receivers drop a repeat carrying the same key.
            "idempotency_key": f"{self.ws}:send:{send_id}",
            "payload": {**(pending.payload or {}), "send_id": send_id},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": row["not_before"] or self.now,
            "created_at": self.now,
        }


class _Record:
    """The decision row of one request (and its outbox payload when queued), not yet written."""

    def __init__(self, request: SendRequest, customer: int, now: datetime) -> None:
        self.row: dict[str, Any] = {
            "workspace_id": request.workspace_id,
            "customer_id": customer,
            "channel": request.channel,
            "template": request.template[:100],
            "purpose": request.purpose,
            "source": request.source,
            "idempotency_key": request.idempotency_key,
            "decided_at": now,
            "not_before": None,
            "outbox_id": None,
            "delivery_status": None,
        }

    def skip(self, reason: str, detail: str) -> _Pending:
        return _Pending({**self.row, "decision": "skipped", "reason": reason, "detail": detail[:500]})

    def queue(self, payload: dict[str, Any], reason: str | None, detail: str, not_before: datetime | None) -> _Pending:
        row = {
            **self.row,
            "decision": "queued",
            "reason": reason,
            "detail": detail[:500],
            "not_before": not_before,
            "delivery_status": "queued",
        }
        return _Pending(row, payload)


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
