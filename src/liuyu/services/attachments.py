"""Attachments of service messages: checked against size and type limits, stored once by content.

The bytes go to a blob store outside the database (``storage/attachment_blobs.py``: a directory,
content-addressed by SHA-256, so the same file sent twice is kept once); the database holds the
metadata. Whatever type a sender declares, files are served for download only (see the API).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from liuyu.domain.errors import InvalidInput

#: Types accepted by default: pictures, voice and video clips, PDFs, office files, plain text.
DEFAULT_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/amr",
        "audio/wav",
        "video/mp4",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
    }
)
#: Names that run or render code when opened are refused whatever type they claim.
BLOCKED_EXTENSIONS = frozenset(
    {
        *("exe", "dll", "com", "bat", "cmd", "scr", "msi", "ps1", "vbs", "vbe", "js", "jse"),
        *("wsf", "wsh", "hta", "jar", "sh", "apk", "app", "html", "htm", "xhtml", "svg", "php"),
    }
)
MAX_FILES = 10
_UNSAFE_NAME = re.compile(r"[\x00-\x1f/\\\"<>:|?*]+")


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int = 10 * 1024 * 1024
    types: frozenset[str] = field(default=DEFAULT_TYPES)


@dataclass(frozen=True, slots=True)
class IncomingFile:
    filename: str
    content_type: str
    data: bytes


class AttachmentBlobs(Protocol):
    """Where attachment bytes live; keyed by their SHA-256."""

    def put(self, data: bytes) -> str: ...

    def delete(self, digest: str) -> bool: ...


def safe_filename(name: str) -> str:
    """The last path part, without control or path characters, at most 255 characters."""
    name = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .") or "attachment"
    return name[-255:]


def check_file(file: IncomingFile, limits: AttachmentLimits, where: str) -> IncomingFile:
    """The file as stored, or an ``InvalidInput`` naming the attachment and what is wrong."""
    name = safe_filename(file.filename)
    kind = file.content_type.split(";", 1)[0].strip().lower()
    if not file.data:
        raise InvalidInput("is empty", where=where, field="data")
    if len(file.data) > limits.max_bytes:
        raise InvalidInput(f"is {len(file.data)} bytes; the limit is {limits.max_bytes}", where=where, field="data")
    if kind not in limits.types:
        raise InvalidInput("type not accepted", where=where, field="content_type", value=kind)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in BLOCKED_EXTENSIONS:
        raise InvalidInput("files of this kind are refused", where=where, field="filename", value=name)
    return IncomingFile(name, kind, file.data)


def parse_webhook_attachments(item: Mapping[str, Any], where: str, limits: AttachmentLimits) -> list[IncomingFile]:
    """``attachments: [{filename, content_type, data (base64)}]`` of one webhook message."""
    raw = item.get("attachments") or []
    if not isinstance(raw, list) or len(raw) > MAX_FILES:
        raise InvalidInput(f"must be a list of at most {MAX_FILES} files", where=where, field="attachments")
    files = []
    for n, entry in enumerate(raw):
        at = f"{where}.attachments[{n}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput("must be an object", where=at)
        try:
            data = base64.b64decode(str(entry.get("data") or ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("is not base64", where=at, field="data") from exc
        file = IncomingFile(str(entry.get("filename") or ""), str(entry.get("content_type") or ""), data)
        files.append(check_file(file, limits, at))
    return files


def attach(
    uow: Any,
    blobs: AttachmentBlobs,
    workspace_id: int,
    message_id: int,
    files: Sequence[IncomingFile],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Store files on a message; a file already on that message (same content) is not added twice."""
    now = now or datetime.now(UTC)
    known = {a["sha256"] for a in uow.quality.message_attachments(workspace_id, [message_id])}
    stored = []
    for file in files:
        digest = blobs.put(file.data)
        if digest in known:
            continue
        known.add(digest)
        row = {
            "workspace_id": workspace_id,
            "message_id": message_id,
            "sha256": digest,
            "size": len(file.data),
            "content_type": file.content_type,
            "filename": file.filename,
            "created_at": now,
        }
        row["id"] = uow.quality.add_attachment(row)
        stored.append(row)
    return stored


def attach_received(
    uow: Any,
    blobs: AttachmentBlobs,
    workspace_id: int,
    channel: str,
    files: Mapping[str, Sequence[IncomingFile]],
    now: datetime | None = None,
) -> int:
    """Files of inbound messages just received, by the channel's message id; returns how many were added."""
    added = 0
    for external_id, found in files.items():
        if not found:
            continue
        message = uow.service.message_by_external(workspace_id, channel, "in", external_id)
        if message is not None:
            added += len(attach(uow, blobs, workspace_id, int(message["id"]), found, now))
    return added
