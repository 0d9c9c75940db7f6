"""Inbound channel webhooks: ``POST /webhooks/{channel}`` with one JSON contract for every bridge.

The caller names its workspace in ``X-Liuyu-Workspace`` and signs the raw body with the
workspace's secret for that channel (``X-Liuyu-Signature: sha256=<hex HMAC-SHA256>``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from liuyu.api.deps import ContainerDep
from liuyu.api.routes.knowledge import bot_first_answers
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.domain.errors import InvalidInput
from liuyu.services.attachments import attach_received, parse_webhook_attachments
from liuyu.services.inbox import (
    INBOUND_CHANNELS,
    SIGNATURE_HEADER,
    analyze_messages,
    parse_message,
    receive_messages,
    signature_ok,
)
from liuyu.storage.attachment_blobs import blobs_for
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(tags=["webhooks"])
MAX_BODY = 2 * 1024 * 1024
MAX_MESSAGES = 500


@router.post("/webhooks/{channel}", summary="Messages from a channel bridge (signed; see docs/service_hub_slice.md)")
async def inbound(channel: str, request: Request, container: ContainerDep) -> dict[str, Any]:
    if channel not in INBOUND_CHANNELS:
        raise HTTPException(status_code=404, detail=f"unknown channel; use one of {', '.join(INBOUND_CHANNELS)}")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status_code=413, detail="body over 2 MB; send smaller batches")
    slug = request.headers.get("x-liuyu-workspace", "")
    signature = request.headers.get(SIGNATURE_HEADER)
    return await run_in_threadpool(_receive, container, channel, slug, signature, body)


def _receive(container: Any, channel: str, slug: str, signature: str | None, body: bytes) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        workspace = uow.accounts.workspace_by_slug(slug) if slug else None
        settings = uow.service.channel(workspace["id"], channel) if workspace else None
    if workspace is None or settings is None or not signature_ok(settings["secret"], body, signature):
        raise HTTPException(status_code=401, detail="bad or missing signature (or unknown workspace or channel)")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(status_code=400, detail=f"body is not JSON: {exc}") from exc
    items = data.get("messages") if isinstance(data, dict) and "messages" in data else [data]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_MESSAGES:
        raise InvalidInput(f"'messages' must be a list of 1-{MAX_MESSAGES} messages", field="messages")
    parsed = [parse_message(channel, item, f"messages[{i}]") for i, item in enumerate(items)]
    blobs, limits = blobs_for(container.settings.database_url)  # attachments: see docs/service_hub.md
    files = {
        m.message_id: parse_webhook_attachments(i, f"messages[{n}]", limits)
        for n, (m, i) in enumerate(zip(parsed, items, strict=True))
    }
    policy = IdentityPolicy(protect_verified_phones=container.settings.protect_verified_phones)
    analyses = analyze_messages(parsed)  # before the transaction: the models must not hold the write lock
    with SqlUnitOfWork(container.engine) as uow:
        report = receive_messages(uow, int(workspace["id"]), parsed, analyses=analyses, policy=policy)
        added = attach_received(uow, blobs, int(workspace["id"]), channel, files)
        uow.commit()
    bot_first_answers(container, int(workspace["id"]), channel, parsed)
    return report.as_dict() | {"attachments": added}
