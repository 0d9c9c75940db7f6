"""Attachments of service messages, for download only.

Whatever a sender declared, a file is served as ``application/octet-stream`` with
``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff`` and a sandboxing
Content-Security-Policy, so a browser never renders or runs it in liuyu's origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import FileResponse

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.domain.errors import NotFound
from liuyu.storage.attachment_blobs import blobs_for
from liuyu.storage.uow import SqlUnitOfWork

router = APIRouter(tags=["service quality and reports"])
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "message_id": row["message_id"],
        "filename": row["filename"],
        "content_type": row["content_type"],
        "size": row["size"],
        "sha256": row["sha256"],
        "url": f"/api/v1/service/attachments/{row['id']}",
    }


@router.get("/conversations/{conversation_id}/attachments", summary="The attachments of a conversation's messages")
def list_attachments(conversation_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        if uow.service.conversation(principal.workspace_id, conversation_id) is None:
            raise NotFound(f"no conversation {conversation_id}")
        ids = [m["id"] for m in uow.service.conversation_messages(conversation_id)]
        rows = uow.quality.message_attachments(principal.workspace_id, ids)
    return {"attachments": [public(r) for r in rows]}


@router.get("/attachments/{attachment_id}", summary="Download one attachment (never rendered inline)")
def download(attachment_id: int, container: ContainerDep, principal: CurrentReader) -> FileResponse:
    with SqlUnitOfWork(container.engine) as uow:
        row = uow.quality.attachment(principal.workspace_id, attachment_id)
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    blobs, _ = blobs_for(container.settings.database_url)
    path = blobs.path(row["sha256"])
    if not path.exists():
        raise NotFound(f"attachment {attachment_id} is listed but its file is missing")
    ascii_name = row["filename"].encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row['filename'])}"
    headers = {**SAFE_HEADERS, "Content-Disposition": disposition}
    return FileResponse(path, media_type="application/octet-stream", headers=headers)
