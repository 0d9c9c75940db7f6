"""Data subject requests (PIPL/GDPR): export everything about a customer; erase their personal data.

Erasure keeps the event log replayable: each identifier is replaced by a random pseudonym, the
same one everywhere it appears, so rebuilds still group the customer's events (and counts and
revenue stay right) while the person can no longer be recognized.
"""

from __future__ import annotations

import copy
import secrets
from datetime import UTC, datetime
from typing import Any

from liuyu.domain.errors import NotFound
from liuyu.services.attachments import AttachmentBlobs

#: Event traits and properties that hold personal data or free text written by the person.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "address",
        "birthday",
        "gender",
        "phone",
        "email",
        "text",
        "content",
        "receiver",
        "receiver_name",
        "receiver_mobile",
        "remark",
        "buyer_message",
        "nickname",
    }
)


def export_customer(uow: Any, workspace_id: int, customer_id: int, *, actor: str) -> dict[str, Any]:
    view = uow.reads.customer_360(workspace_id, customer_id, timeline_limit=10**9)
    if view is None:
        raise NotFound(f"no customer {customer_id}")
    cid = view["customer"]["id"]
    uow.accounts.audit(workspace_id, actor, "customer.export", f"customer:{cid}", {}, datetime.now(UTC))
    return view


def erase_customer(
    uow: Any, workspace_id: int, customer_id: int, *, actor: str, blobs: AttachmentBlobs | None = None
) -> dict[str, int]:
    """Erase a customer's personal data. With ``blobs`` (the API and the CLI pass the configured
    store) their attachments go too: the metadata rows, and each file no other message refers to
    (files are content-addressed, so one sent by someone else as well stays for them)."""
    now = datetime.now(UTC)
    cid = uow.reads.live_id(workspace_id, customer_id)
    if cid is None:
        raise NotFound(f"no customer {customer_id}")
    store = uow.privacy
    token = secrets.token_hex(8)
    replacements = {
        (row["kind"], row["value"]): f"erased:{token}:{n}"
        for n, row in enumerate(store.identifiers_of(workspace_id, cid))
    }
    payloads: dict[int, dict[str, Any]] = {}
    for event in store.events_of(workspace_id, cid):
        payload = copy.deepcopy(event["payload"])
        kept = []
        for kind, value, masked, verified in payload.get("identifiers", []):
            if masked:
                continue
            kept.append([kind, replacements.get((kind, value), f"erased:{token}:x"), False, verified])
        payload["identifiers"] = kept
        payload["traits"] = {k: v for k, v in (payload.get("traits") or {}).items() if k not in PERSONAL_KEYS}
        payload["properties"] = {k: v for k, v in (payload.get("properties") or {}).items() if k not in PERSONAL_KEYS}
        payloads[event["seq"]] = payload
    store.replace_identifiers(workspace_id, replacements)
    store.rewrite_payloads(payloads)
    store.scrub_customer(workspace_id, [cid], now)
    files, removed = store.erase_attachments(workspace_id, [cid]) if blobs is not None else (0, [])
    messages = store.scrub_conversations(workspace_id, [cid])
    tickets = uow.tickets.scrub_customer(workspace_id, [cid])
    sends = uow.messaging.scrub_customer(workspace_id, [cid])
    faqs = uow.knowledge.scrub_customer(workspace_id, [cid], now)
    done = {
        "identifiers": len(replacements),
        "events": len(payloads),
        "messages": messages,
        "tickets": tickets,
        "sends": sends,
        "faqs": faqs,
        "attachments": files,
        "attachment_files": sum(1 for digest in removed if blobs is not None and blobs.delete(digest)),
    }
    uow.accounts.audit(workspace_id, actor, "customer.erase", f"customer:{cid}", done, now)
    return done
