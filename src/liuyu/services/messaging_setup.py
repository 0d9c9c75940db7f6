"""Messaging setup and records: providers, templates, guardrail settings, the consent log and the
suppression list. Each function takes a unit of work with ``messaging`` and does not commit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from liuyu.domain.engagement.guardrails import (
    CHANNELS,
    CONSENT_STATUSES,
    QUIET_HOURS,
    REASONS,
    GuardrailSettings,
    latest_consent,
)
from liuyu.domain.engagement.guardrails import ConsentRecord as Consent
from liuyu.domain.engagement.message_templates import placeholders
from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.services import messaging
from liuyu.services.inbox import new_secret
from liuyu.services.messaging import phone_value

#: Which provider kinds may carry each channel.
PROVIDER_KINDS = {
    "email": ("smtp", "http"),
    "sms": ("http", "webhook"),
    "wechat_template": ("http", "webhook"),
    "webhook": ("webhook",),
}
SUPPRESSION_KINDS = ("phone", "email", "customer")
SECRET_FIELDS = ("password", "token", "value", "secret")
METHODS = ("POST", "PUT", "GET")
#: Every reason code a decision may carry: the request could not be built, or a guardrail stopped it.
ALL_REASONS = (
    messaging.UNKNOWN_CUSTOMER,
    messaging.NO_TEMPLATE,
    messaging.NO_PROVIDER,
    messaging.NO_ADDRESS,
    messaging.TEMPLATE_ERROR,
    *REASONS,
)


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"use one of {', '.join(CHANNELS)}", field="channel", value=channel)
    return channel


def _text(value: Any, name: str, limit: int, *, required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidInput("is required", field=name)
    if len(text) > limit:
        raise InvalidInput(f"longer than {limit} characters", field=name, value=text)
    return text


# -- providers -------------------------------------------------------------------------------------


def _check_provider(kind: str, config: Mapping[str, Any]) -> None:
    if kind == "smtp":
        if not isinstance(config.get("host"), str) or not config["host"]:
            raise InvalidInput("is required (the SMTP relay's host name)", field="config.host")
        port = config.get("port", 25)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput("must be a port number", field="config.port", value=port)
    elif kind == "webhook":
        url = config.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInput("must be an http(s) URL", field="config.url", value=url)
    else:
        check_http_config(config)


def check_http_config(config: Mapping[str, Any]) -> None:
    """Raise InvalidInput naming the field when a provider's HTTP settings cannot work."""
    url = config.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput("must be an http(s) URL", field="config.url", value=url)
    method = str(config.get("method", "POST")).upper()
    if method not in METHODS:
        raise InvalidInput(f"use one of {', '.join(METHODS)}", field="config.method", value=method)
    auth = config.get("auth")
    if auth is not None:
        kind = auth.get("type") if isinstance(auth, Mapping) else None
        needs = {"bearer": ("token",), "basic": ("username", "password"), "header": ("name", "value")}.get(str(kind))
        if needs is None:
            raise InvalidInput("auth.type must be bearer, basic or header", field="config.auth", value=kind)
        for name in needs:
            if not isinstance(auth.get(name), str) or not auth.get(name):
                raise InvalidInput("is required", field=f"config.auth.{name}")
    if config.get("format", "json") not in ("json", "form"):
        raise InvalidInput("must be json or form", field="config.format", value=config.get("format"))
    if not isinstance(config.get("body", {}), Mapping):
        raise InvalidInput("must be an object of field to value template", field="config.body")
    headers = config.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise InvalidInput("must be an object of header to text", field="config.headers")
    success = config.get("success", {})
    if not isinstance(success, Mapping):
        raise InvalidInput("must be {status, field, equals, retry}", field="config.success")
    statuses = success.get("status", [200])
    if not isinstance(statuses, list) or not all(isinstance(s, int) for s in statuses):
        raise InvalidInput("must be a list of HTTP status codes", field="config.success.status", value=statuses)
    if success.get("field") and not success.get("equals"):
        raise InvalidInput("give the values that mean success", field="config.success.equals")


def configure_provider(
    uow: Any,
    workspace_id: int,
    channel: str,
    *,
    kind: str,
    name: str,
    config: Mapping[str, Any],
    rotate: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create or replace the channel's provider. A webhook gets an HMAC secret, shown only when new."""
    channel = _channel(channel)
    if kind not in PROVIDER_KINDS[channel]:
        allowed = ", ".join(PROVIDER_KINDS[channel])
        raise InvalidInput(f"{channel} goes through one of {allowed}", field="kind", value=kind)
    if not isinstance(config, Mapping):
        raise InvalidInput("must be an object", field="config")
    _check_provider(kind, config)
    current = uow.messaging.provider(workspace_id, channel)
    values: dict[str, Any] = {"kind": kind, "name": _text(name, "name", 100), "config": dict(config)}
    shown: dict[str, Any] = {}
    if kind == "webhook" and (current is None or rotate or not current.get("secret")):
        values["secret"] = shown["secret"] = new_secret()
    uow.messaging.save_provider(workspace_id, channel, values, now or datetime.now(UTC))
    return {**public_provider(uow.messaging.provider(workspace_id, channel)), **shown}


def public_provider(row: Mapping[str, Any]) -> dict[str, Any]:
    """A provider as the API and CLI show it: credentials masked, the secret never shown again."""
    return {
        "channel": row["channel"],
        "name": row["name"],
        "kind": row["kind"],
        "config": _masked(row["config"]),
        "signed": bool(row.get("secret")),
        "updated_at": row["updated_at"].isoformat(),
    }


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        hide = SECRET_FIELDS if key == "auth" else ("password",)
        return {k: "****" if k in hide else _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


# -- templates -------------------------------------------------------------------------------------


def save_template(
    uow: Any,
    workspace_id: int,
    channel: str,
    name: str,
    *,
    body: str,
    subject: str = "",
    provider_template: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    channel = _channel(channel)
    name = _text(name, "name", 100)
    body = _text(body, "body", 10_000)
    subject = _text(subject, "subject", 300, required=channel == "email")
    values = {
        "body": body,
        "subject": subject,
        "provider_template": _text(provider_template, "provider_template", 200, required=False) or None,
    }
    uow.messaging.save_template(workspace_id, channel, name, values, now or datetime.now(UTC))
    return public_template(uow.messaging.template(workspace_id, channel, name))


def public_template(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel": row["channel"],
        "name": row["name"],
        "subject": row["subject"],
        "body": row["body"],
        "provider_template": row["provider_template"],
        "variables": placeholders(f"{row['subject']} {row['body']}"),
        "updated_at": row["updated_at"].isoformat(),
    }


# -- guardrail settings ----------------------------------------------------------------------------


def guardrail_settings(uow: Any, workspace_id: int) -> dict[str, Any]:
    return GuardrailSettings.from_settings(uow.messaging.settings(workspace_id)).to_dict()


def change_guardrails(
    uow: Any, workspace_id: int, changes: Mapping[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Merge ``changes`` into the workspace's guardrails; the whole result is checked before it is kept."""
    merged = {**guardrail_settings(uow, workspace_id), **dict(changes)}
    checked = GuardrailSettings.from_settings(merged).to_dict()
    uow.messaging.save_settings(workspace_id, checked, now or datetime.now(UTC))
    return checked


# -- consent ---------------------------------------------------------------------------------------


def _customer(uow: Any, workspace_id: int, customer_id: int) -> int:
    live = uow.messaging.live_customer(workspace_id, customer_id)
    if live is None:
        raise NotFound(f"no customer {customer_id} in this workspace")
    return int(live)


def record_consent(
    uow: Any,
    workspace_id: int,
    customer_id: int,
    channel: str,
    status: str,
    *,
    source: str,
    evidence: str,
    actor: str,
    at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Append an opt-in or opt-out with its proof; the latest by ``at`` counts."""
    now = now or datetime.now(UTC)
    channel = _channel(channel)
    if status not in CONSENT_STATUSES:
        raise InvalidInput(f"use one of {', '.join(CONSENT_STATUSES)}", field="status", value=status)
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone", field="at", value=at)
    row = {
        "workspace_id": workspace_id,
        "customer_id": _customer(uow, workspace_id, customer_id),
        "channel": channel,
        "status": status,
        "at": at,
        "source": _text(source, "source", 200),
        "evidence": _text(evidence, "evidence", 2000, required=status == "opt_in"),
        "recorded_by": actor[:200],
        "recorded_at": now,
    }
    row["id"] = uow.messaging.add_consent(row)
    return _consent_public(row)


def _consent_public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "channel": row["channel"],
        "status": row["status"],
        "at": row["at"].isoformat(),
        "source": row["source"],
        "evidence": row["evidence"],
        "recorded_by": row["recorded_by"],
    }


def consents_of(uow: Any, workspace_id: int, customer_id: int) -> dict[str, Any]:
    """The consent log of a customer (and of those merged into it) and what counts now per channel."""
    customer = _customer(uow, workspace_id, customer_id)
    rows = uow.messaging.consents(workspace_id, uow.messaging.family(workspace_id, customer))
    records = [Consent(r["channel"], r["status"], r["at"], r["source"], r["evidence"]) for r in rows]
    current = {}
    for channel in CHANNELS:
        found = latest_consent(records, channel)
        current[channel] = found.status if found else None
    return {"customer_id": customer, "current": current, "log": [_consent_public(r) for r in rows]}


# -- suppression list ------------------------------------------------------------------------------


def suppression_value(kind: str, value: str) -> str:
    if kind not in SUPPRESSION_KINDS:
        raise InvalidInput(f"use one of {', '.join(SUPPRESSION_KINDS)}", field="kind", value=kind)
    raw = _text(value, "value", 200)
    if kind == "phone":
        return phone_value(raw)
    if kind == "email":
        if "@" not in raw:
            raise InvalidInput("is not an email address", field="value", value=raw)
        return raw.lower()
    if not raw.isdigit():
        raise InvalidInput("must be a customer id", field="value", value=raw)
    return raw


def suppress(
    uow: Any, workspace_id: int, kind: str, value: str, *, reason: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """Put a phone, email or customer on the list; adding it again keeps the first entry."""
    value = suppression_value(kind, value)
    if kind == "customer":
        value = str(_customer(uow, workspace_id, int(value)))
    existing = uow.messaging.suppression(workspace_id, kind, value)
    if existing is not None:
        return public_suppression(existing)
    row = {
        "workspace_id": workspace_id,
        "kind": kind,
        "value": value,
        "reason": _text(reason, "reason", 500),
        "created_by": actor[:200],
        "created_at": now or datetime.now(UTC),
    }
    row["id"] = uow.messaging.add_suppression(row)
    return public_suppression(row)


def unsuppress(uow: Any, workspace_id: int, kind: str, value: str) -> None:
    value = suppression_value(kind, value)
    if not uow.messaging.remove_suppression(workspace_id, kind, value):
        raise NotFound(f"{kind} {value} is not on the suppression list")


def public_suppression(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": row["kind"],
        "value": row["value"],
        "reason": row["reason"],
        "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(),
    }


# -- decisions -------------------------------------------------------------------------------------


def public_send(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "channel": row["channel"],
        "template": row["template"],
        "purpose": row["purpose"],
        "source": row["source"],
        "idempotency_key": row["idempotency_key"],
        "decision": row["decision"],
        "reason": row["reason"],
        "detail": row["detail"],
        "not_before": row["not_before"].isoformat() if row["not_before"] else None,
        "outbox_id": row["outbox_id"],
        "delivery_status": row["delivery_status"],
        "last_error": row["last_error"],
        "decided_at": row["decided_at"].isoformat(),
        "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
    }


def decisions_of(uow: Any, workspace_id: int, customer_id: int, limit: int = 100) -> dict[str, Any]:
    """Every send decision about the customer (and those merged into it), newest first."""
    customer = _customer(uow, workspace_id, customer_id)
    family = uow.messaging.family(workspace_id, customer)
    rows = uow.messaging.sends(workspace_id, customer_ids=family, limit=limit)
    return {"customer_id": customer, "sends": [public_send(r) for r in rows]}


def workspace_decisions(
    uow: Any,
    workspace_id: int,
    *,
    reason: str | None = None,
    days: int = 30,
    limit: int = 100,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The workspace's latest send decisions (of one reason, if given), and how many decisions each
    reason stopped or deferred over the last ``days``: what an operator checks when sends go missing."""
    if reason is not None and reason not in ALL_REASONS:
        raise InvalidInput(f"use one of {', '.join(ALL_REASONS)}", field="reason", value=reason)
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = uow.messaging.sends(workspace_id, reason=reason, limit=limit)
    counts = uow.messaging.reason_counts(workspace_id, since)
    # quiet hours defer a send (queued for later); every other reason skips it
    per_reason = [
        {"reason": r, "count": counts[r], "effect": "deferred" if r == QUIET_HOURS else "skipped"}
        for r in ALL_REASONS
        if r in counts
    ]
    return {"days": days, "reason": reason, "sends": [public_send(r) for r in rows], "reasons": per_reason}
