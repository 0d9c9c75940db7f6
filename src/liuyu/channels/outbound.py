"""Outbound adapters: how a message leaves liuyu (a signed webhook, SMTP, or a provider's HTTP API).

Each carries the outbox row's idempotency key (``Idempotency-Key`` header, ``X-Liuyu-Idempotency-Key``
mail header) so a receiver can drop the repeat that follows a worker crash between send and mark.
"""

from __future__ import annotations

import json
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import httpx

from liuyu.channels.http_provider import HttpProviderAdapter, PooledClient
from liuyu.services.inbox import SIGNATURE_HEADER, DeliveryError, OutboundAdapter, sign

__all__ = ["SmtpAdapter", "WebhookAdapter", "default_adapters"]


class WebhookAdapter:
    """POSTs the reply as JSON, signed with the channel's outbound secret (HMAC-SHA256 of the body)."""

    def __init__(self, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.client = PooledClient(timeout, transport)

    def send(self, channel: Mapping[str, Any], payload: Mapping[str, Any], idempotency_key: str) -> None:
        body = json.dumps(dict(payload), ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        if channel.get("outbound_secret"):
            headers[SIGNATURE_HEADER] = sign(str(channel["outbound_secret"]), body)
        try:
            response = self.client.get().post(str(channel["outbound_target"]), content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise DeliveryError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=True)


class SmtpAdapter:
    """Sends a plain-text mail through the relay at ``host:port`` (the channel's target).

    A service reply goes to the conversation's ``reply_to``; a messaging send to its ``to``, with its
    own ``subject``. The provider's ``config`` may set ``sender``, ``starttls``, ``username`` and
    ``password``.
    """

    def __init__(self, sender: str = "service@liuyu.local", timeout: float = 10.0) -> None:
        self.sender = sender
        self.timeout = timeout

    def send(self, channel: Mapping[str, Any], payload: Mapping[str, Any], idempotency_key: str) -> None:
        recipient = payload.get("to") or payload.get("reply_to")
        if not recipient:
            raise DeliveryError("the conversation has no email address to reply to", permanent=True)
        config: Mapping[str, Any] = channel.get("config") or {}
        host, _, port = str(channel["outbound_target"]).rpartition(":")
        mail = EmailMessage()
        mail["From"] = str(config.get("sender") or self.sender)
        mail["To"] = str(recipient)
        mail["Subject"] = str(payload.get("subject") or f"Re: {payload.get('conversation_key', '')}")
        mail["Message-ID"] = f"<{idempotency_key.replace(':', '.')}@liuyu>"
        mail["X-Liuyu-Idempotency-Key"] = idempotency_key
        mail.set_content(str(payload.get("text", "")))
        try:
            with smtplib.SMTP(host or "127.0.0.1", int(port or 25), timeout=self.timeout) as smtp:
                if config.get("starttls"):
                    smtp.starttls()
                if config.get("username"):
                    smtp.login(str(config["username"]), str(config.get("password", "")))
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def default_adapters() -> dict[str, OutboundAdapter]:
    return {"webhook": WebhookAdapter(), "smtp": SmtpAdapter(), "http": HttpProviderAdapter()}
