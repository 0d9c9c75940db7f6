"""A generic HTTP adapter for SMS gateways and WeChat template messages, configured per provider.

The provider's settings (``messaging_providers.config``) say where and how to call it::

    {"url": "https://sms.example.com/v1/send", "method": "POST",
     "auth": {"type": "bearer", "token": "…"},          # or basic {username, password},
                                                          # or header {name, value}
     "headers": {"X-Tenant": "qimu"},
     "format": "json",                                   # or "form"
     "body": {"mobile": "{{to}}", "template": "{{template_code}}", "params": {"name": "{{name}}"}},
     "success": {"status": [200], "field": "code", "equals": ["OK"], "retry": ["Throttling"]}}

``body`` is filled from the queued message (``to``, ``text``, ``subject``, ``template``,
``template_code``, ``customer_id``, ``idempotency_key``) and its variables. Every call carries the
``Idempotency-Key`` header so a gateway that honours it drops the repeat after a worker crash.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import httpx

from liuyu.domain.engagement.message_templates import fill
from liuyu.domain.errors import InvalidInput
from liuyu.services.inbox import DeliveryError
from liuyu.services.messaging_setup import check_http_config

__all__ = ["HttpProviderAdapter", "PooledClient", "message_context"]

RETRY_STATUSES = (408, 425, 429)


class PooledClient:
    """One httpx client per adapter, made on first use: a pass over the outbox reuses connections
    instead of paying for a new client (and its TLS context) per message."""

    def __init__(self, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        self.timeout, self.transport = timeout, transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, transport=self.transport)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def message_context(payload: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
    """What a body template may name: the message's own fields win over variables of the same name."""
    variables = payload.get("variables") or {}
    own = {k: v for k, v in payload.items() if k != "variables"}
    return {**variables, **own, "variables": variables, "idempotency_key": idempotency_key}


def _field(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


class HttpProviderAdapter:
    """Calls the provider's HTTP API as its settings describe; the response decides sent or retry."""

    def __init__(self, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.client = PooledClient(timeout, transport)

    def send(self, channel: Mapping[str, Any], payload: Mapping[str, Any], idempotency_key: str) -> None:
        config: Mapping[str, Any] = channel.get("config") or {}
        try:
            check_http_config(config)
            body = fill(config.get("body", {}), message_context(payload, idempotency_key))
        except InvalidInput as exc:
            raise DeliveryError(f"provider settings: {exc}", permanent=True) from exc
        headers = {"Idempotency-Key": idempotency_key, **dict(config.get("headers") or {})}
        auth: httpx.BasicAuth | None = None
        spec = config.get("auth") or {}
        if spec.get("type") == "bearer":
            headers["Authorization"] = f"Bearer {spec['token']}"
        elif spec.get("type") == "header":
            headers[str(spec["name"])] = str(spec["value"])
        elif spec.get("type") == "basic":
            auth = httpx.BasicAuth(str(spec["username"]), str(spec["password"]))
        method = str(config.get("method", "POST")).upper()
        request: dict[str, Any] = {"headers": headers}
        if method == "GET":
            request["params"] = {k: str(v) for k, v in body.items()}
        elif config.get("format", "json") == "form":
            request["data"] = {k: str(v) for k, v in body.items()}
        else:
            request["json"] = body
        if auth is not None:
            request["auth"] = auth
        try:
            response = self.client.get().request(method, str(config["url"]), **request)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        self._check(config.get("success") or {}, response)

    @staticmethod
    def _check(success: Mapping[str, Any], response: httpx.Response) -> None:
        if response.status_code >= 500 or response.status_code in RETRY_STATUSES:
            raise DeliveryError(f"HTTP {response.status_code}")
        if response.status_code not in success.get("status", [200]):
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=True)
        if not success.get("field"):
            return
        try:
            value = _field(response.json(), str(success["field"]))
        except ValueError as exc:
            raise DeliveryError(f"the answer is not JSON: {response.text[:200]}", permanent=True) from exc
        if value in success.get("retry", []):
            raise DeliveryError(f"{success['field']}={value!r}: the provider asks to try again later")
        if value not in success.get("equals", []):
            raise DeliveryError(f"{success['field']}={value!r}: {response.text[:200]}", permanent=True)
