"""The inbound email edge: an SMTP listener (aiosmtpd) and the parsing of one mail.

``liuyu service smtp`` runs the listener; a mail relay (Postfix, the provider's forwarder) delivers
the support address to it. Each accepted mail is parsed here (From, Message-ID, In-Reply-To and
References, the text/plain body or the HTML body stripped of markup, attachments) and stored by
``services.email_inbound.receive_mail``. A mail that cannot be stored gets a 4xx/5xx reply, so the
relay keeps it or bounces it instead of losing it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import hashlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

from liuyu.domain.errors import InvalidInput
from liuyu.services.attachments import AttachmentLimits, IncomingFile, check_file
from liuyu.services.email_inbound import ParsedMail

log = logging.getLogger(__name__)
_IDS = re.compile(r"<([^<>\s]+)>")
MAX_MAIL_BYTES = 25 * 1024 * 1024


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML body: scripts and styles dropped, blocks on their own lines."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.hidden = max(self.hidden - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _ids(value: str | None) -> list[str]:
    return _IDS.findall(value or "")


def parse_mail(raw: bytes, limits: AttachmentLimits, *, now: datetime | None = None) -> ParsedMail:
    """One RFC 5322 mail as the inbox sees it; refused attachments are listed, not fatal."""
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    name, address = email.utils.parseaddr(str(mail.get("From", "")))
    own = _ids(str(mail.get("Message-ID", "")))
    message_id = own[0] if own else "sha256-" + hashlib.sha256(raw).hexdigest()[:40]
    references = _ids(str(mail.get("References", ""))) + _ids(str(mail.get("In-Reply-To", "")))
    try:
        sent_at = email.utils.parsedate_to_datetime(str(mail["Date"])).astimezone(UTC) if mail["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    body = mail.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = html_to_text(content) if body.get_content_type() == "text/html" else str(content)
    files: list[IncomingFile] = []
    rejected: list[str] = []
    for n, part in enumerate(mail.iter_attachments()):
        filename = part.get_filename() or f"attachment-{n + 1}"
        data = part.get_payload(decode=True) or b""
        try:
            files.append(check_file(IncomingFile(filename, part.get_content_type(), data), limits, filename))
        except InvalidInput as exc:
            rejected.append(str(exc))
    subject = str(mail.get("Subject", "") or "")
    if not references and subject:
        text = f"{subject}\n\n{text}".strip()
    return ParsedMail(
        message_id=message_id,
        sender=address,
        sender_name=name,
        subject=subject,
        text=text,
        sent_at=sent_at or now or datetime.now(UTC),
        references=tuple(dict.fromkeys(r for r in references if r != message_id)),
        files=tuple(files),
        rejected=tuple(rejected),
    )


class InboxHandler:
    """aiosmtpd handler: each mail is parsed and stored (in a worker thread) before we say 250."""

    def __init__(self, store: Callable[[ParsedMail], dict[str, Any]], limits: AttachmentLimits) -> None:
        self.store, self.limits = store, limits

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            mail = parse_mail(envelope.original_content or envelope.content, self.limits)
            report = await asyncio.to_thread(self.store, mail)
        except InvalidInput as exc:
            return f"550 {exc}"[:500]
        except Exception:
            log.exception("could not store a mail from %s", envelope.mail_from)
            return "451 could not store the mail now, try again later"
        log.info("mail %s from %s: %s", mail.message_id, mail.sender, report)
        return "250 stored"


def serve(store: Callable[[ParsedMail], dict[str, Any]], limits: AttachmentLimits, host: str, port: int) -> Any:
    """Start the listener in its own thread; returns the aiosmtpd controller (``.stop()`` ends it)."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        InboxHandler(store, limits), hostname=host, port=port, data_size_limit=MAX_MAIL_BYTES, decode_data=False
    )
    controller.start()
    return controller
