"""Inbound email: a parsed mail becomes a message of the ``email`` channel, in the right thread.

The thread is found from In-Reply-To and References: a mail answering any message already stored
(the customer's earlier mail, or our reply, whose Message-ID is ``<ws.key@liuyu>``) joins that
conversation; otherwise the oldest referenced id, or the mail's own Message-ID, opens a new one.
The Message-ID is the dedupe key, so a mail delivered twice is stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.domain.errors import InvalidInput
from liuyu.services.attachments import AttachmentBlobs, IncomingFile, attach_received
from liuyu.services.inbox import MAX_TEXT, Analyzer, InboundMessage, analyze_messages, nlp_analyzer, receive_messages


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str  # the address
    sender_name: str
    subject: str
    text: str
    sent_at: datetime
    references: tuple[str, ...] = ()  # References then In-Reply-To, oldest first
    files: tuple[IncomingFile, ...] = ()
    rejected: tuple[str, ...] = field(default=())  # attachments refused, with the reason


def _candidates(reference: str) -> list[str]:
    """A referenced Message-ID and, for our own replies (``ws.key@liuyu``), the reply's key."""
    found = [reference]
    local, _, domain = reference.partition("@")
    if domain == "liuyu" and "." in local:
        found.append(local.split(".", 1)[1])
    return found


def thread_key(uow: Any, workspace_id: int, mail: ParsedMail) -> str:
    known = [c for r in mail.references for c in _candidates(r)]
    return uow.quality.email_thread(workspace_id, known) or (mail.references[0] if mail.references else mail.message_id)


def receive_mail(
    unit_of_work: Callable[[], AbstractContextManager[Any]],
    blobs: AttachmentBlobs,
    workspace_id: int,
    mail: ParsedMail,
    *,
    analyzer: Analyzer = nlp_analyzer,
    policy: IdentityPolicy | None = None,
) -> dict[str, Any]:
    """Store one mail (analysed before the transaction) with its attachments; returns the receive report."""
    try:
        email = make_identifier("email", mail.sender)
    except ValueError:
        email = None
    if email is None:
        raise InvalidInput("the sender has no usable address", field="From", value=mail.sender)
    text = (mail.text.strip() or mail.subject.strip() or "(empty mail)")[:MAX_TEXT]
    with unit_of_work() as uow:
        key = thread_key(uow, workspace_id, mail)
    message = InboundMessage(
        channel="email",
        message_id=mail.message_id[:200],
        conversation_key=key[:200],
        text=text,
        sent_at=mail.sent_at,
        identifiers=(email,),
        sender=(mail.sender_name or email.value)[:200],
        reply_to=email.value,
    )
    analyses = analyze_messages([message], analyzer)
    with unit_of_work() as uow:
        report = receive_messages(uow, workspace_id, [message], analyses=analyses, policy=policy)
        added = attach_received(uow, blobs, workspace_id, "email", {message.message_id: mail.files})
        uow.commit()
    return report.as_dict() | {"attachments": added, "rejected_attachments": list(mail.rejected)}
