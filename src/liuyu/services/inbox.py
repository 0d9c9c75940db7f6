"""The service inbox: messages arrive from channel bridges, land on the unified customer, agents reply.

Inbound messages are appended to the event log (``custom`` / ``message_received``) in the same
transaction that stores them in the inbox, so the identity graph decides whose they are. Replies go
to an outbox and a worker delivers them; the outbox row's idempotency key travels with every
attempt so that a receiver can drop a repeat after a worker crash between send and mark.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from liuyu.domain.customers.identifiers import KINDS, Identifier, make_identifier
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.domain.eventlog import Event
from liuyu.services.ingest import ingest_events

log = logging.getLogger(__name__)

#: Channels whose bridges post to ``POST /webhooks/{channel}``.
INBOUND_CHANNELS = ("tmall", "jd", "douyin", "wechat", "wecom", "web", "app")
#: Channels a chat log may name (the bridges' channels plus email and the hotline).
IMPORT_CHANNELS = (*INBOUND_CHANNELS, "email", "hotline")
STATUSES = ("open", "pending", "snoozed", "resolved")
SIGNATURE_HEADER = "X-Liuyu-Signature"
ANGER_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}
MAX_TEXT = 10_000
_ORDER_NUMBER = re.compile(r"(?<!\d)\d{10,20}(?!\d)")

#: Texts in, one analysis (or None when the models are not there) per text out.
Analyzer = Callable[[list[str]], list[dict[str, Any] | None]]


# -- signatures ----------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(secret, body), str(header).strip())


# -- the inbound contract ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message of a conversation as a bridge or a chat log delivers it."""

    channel: str
    message_id: str
    conversation_key: str
    text: str
    sent_at: datetime
    identifiers: tuple[Identifier, ...] = ()
    sender: str = ""
    order_id: str | None = None
    direction: str = "in"  # "out" for an agent's turn in an imported chat log
    reply_to: str | None = None


def _text(item: Mapping[str, Any], name: str, where: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput("is required", where=where, field=name)
        return None
    if not isinstance(value, str | int):
        raise InvalidInput("must be a string", where=where, field=name, value=value)
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidInput(f"longer than {limit} characters", where=where, field=name, value=text)
    return text


def _time(value: Any, where: str, name: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        raise InvalidInput("must be an ISO 8601 time or epoch seconds", where=where, field=name, value=value)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("is not an ISO 8601 time", where=where, field=name, value=value) from exc
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone (e.g. +08:00 or Z)", where=where, field=name, value=value)
    return at.astimezone(UTC)


def parse_message(
    channel: str, item: Any, where: str = "message", *, channels: Sequence[str] = INBOUND_CHANNELS
) -> InboundMessage:
    """Check one message against the contract (docs/service_hub_slice.md); errors name the field."""
    if channel not in channels:
        raise InvalidInput(
            f"unknown channel; use one of {', '.join(channels)}", where=where, field="channel", value=channel
        )
    if not isinstance(item, Mapping):
        raise InvalidInput("must be a JSON object", where=where)
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("is required and must be a non-empty string", where=where, field="text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"longer than {MAX_TEXT} characters", where=where, field="text", value=text)
    sender = item.get("sender") or {}
    if not isinstance(sender, Mapping):
        raise InvalidInput("must be an object of identifier kind to value", where=where, field="sender")
    identifiers: list[Identifier] = []
    for kind, raw in sender.items():
        if kind == "name":
            continue
        if kind not in KINDS:
            raise InvalidInput("unknown identifier kind", where=where, field=f"sender.{kind}", value=kind)
        try:
            found = make_identifier(kind, raw)
        except ValueError as exc:
            raise InvalidInput(str(exc), where=where, field=f"sender.{kind}", value=raw) from exc
        if found:
            identifiers.append(found)
    direction = item.get("direction", "in")
    if direction not in ("in", "out"):
        raise InvalidInput("must be 'in' (customer) or 'out' (agent)", where=where, field="direction", value=direction)
    return InboundMessage(
        channel=channel,
        message_id=_text(item, "message_id", where) or "",
        conversation_key=_text(item, "conversation_key", where) or "",
        text=text.strip(),
        sent_at=_time(item.get("sent_at"), where, "sent_at"),
        identifiers=tuple(identifiers),
        sender=str(sender.get("name") or next((i.value for i in identifiers), ""))[:200],
        order_id=_text(item, "order_id", where, required=False, limit=100),
        direction=direction,
        reply_to=str(sender["email"]) if sender.get("email") else None,
    )


def parse_chat_line(item: Any, where: str) -> InboundMessage:
    """A chat-log line: the inbound contract plus ``channel`` and ``speaker`` (customer | agent)."""
    if not isinstance(item, Mapping):
        raise InvalidInput("must be a JSON object", where=where)
    speaker = item.get("speaker", "customer")
    if speaker not in ("customer", "agent"):
        raise InvalidInput("must be 'customer' or 'agent'", where=where, field="speaker", value=speaker)
    line = {**item, "direction": "in" if speaker == "customer" else "out"}
    return parse_message(str(item.get("channel", "")), line, where, channels=IMPORT_CHANNELS)


#: How the WeCom conversation archive's non-text messages read in the inbox (the media is not fetched).
WECOM_PLACEHOLDERS = {
    "image": "[图片]", "voice": "[语音]", "video": "[视频]", "file": "[文件]", "emotion": "[表情]",
    "location": "[位置]", "link": "[链接]", "card": "[名片]", "weapp": "[小程序]", "redpacket": "[红包]",
    "chatrecord": "[聊天记录]", "meeting_voice_call": "[语音通话]", "docmsg": "[在线文档]",
    "markdown": "[Markdown]", "news": "[图文]", "calendar": "[日程]", "todo": "[待办]", "vote": "[投票]",
}  # fmt: skip


def is_wecom_external(userid: str) -> bool:
    """WeCom gives external contacts ids starting ``wm``/``wo`` (``wb`` for bots); staff keep their userid."""
    return userid[:2] in ("wm", "wo", "wb")


def parse_wecom_archive_line(item: Any, where: str) -> InboundMessage | None:
    """A decrypted 会话存档 message as a ``wecom`` chat turn; None for a recall or switch record.

    Only one-to-one chats between a staff member and an external contact are taken: the contact's
    ``external_userid`` identifies the customer, the staff member's turns are agent replies.
    """
    if not isinstance(item, Mapping):
        raise InvalidInput("must be a JSON object", where=where)
    if item.get("action") in ("recall", "switch") or item.get("msgtype") == "revoke":
        return None
    if item.get("action", "send") != "send":
        raise InvalidInput("must be send, recall or switch", where=where, field="action", value=item.get("action"))
    if item.get("roomid"):
        raise InvalidInput("group chats are not imported", where=where, field="roomid", value=item["roomid"])
    sender = _text(item, "from", where) or ""
    tolist = item.get("tolist")
    if not isinstance(tolist, list) or len(tolist) != 1 or not isinstance(tolist[0], str) or not tolist[0]:
        raise InvalidInput("must list exactly one receiver", where=where, field="tolist", value=tolist)
    receiver = tolist[0].strip()
    if is_wecom_external(sender) == is_wecom_external(receiver):
        raise InvalidInput("must be between a staff member and an external contact", where=where, field="from")
    msgtype = _text(item, "msgtype", where) or ""
    if msgtype == "text":
        body = item.get("text")
        text = body.get("content") if isinstance(body, Mapping) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("is required for a text message", where=where, field="text.content")
    else:
        text = WECOM_PLACEHOLDERS.get(msgtype, f"[{msgtype}]")
    inbound = is_wecom_external(sender)
    contact, staff = (sender, receiver) if inbound else (receiver, sender)
    if not isinstance(item.get("msgtime"), int | float) or isinstance(item.get("msgtime"), bool):
        raise InvalidInput("must be epoch milliseconds", where=where, field="msgtime", value=item.get("msgtime"))
    line = {
        "message_id": item.get("msgid"),
        "conversation_key": f"{staff}:{contact}",
        "text": text,
        "sent_at": datetime.fromtimestamp(item["msgtime"] / 1000, UTC).isoformat(),
        "sender": {"wecom_external_userid": contact} if inbound else {"name": staff},
        "direction": "in" if inbound else "out",
    }
    return parse_message("wecom", line, where, channels=IMPORT_CHANNELS)


# -- analysis ------------------------------------------------------------------------------------


def nlp_analyzer(texts: list[str], *, bulk: bool = False) -> list[dict[str, Any] | None]:
    """The offline text models; every text gets None when they are not installed or fail to load.

    ``bulk`` picks the fast intent model (about 50x faster, a little less accurate) for imports;
    live messages get the accurate one. Aspects are not stored here, so they are not computed.
    """
    try:
        from liuyu.nlp.analyze import AnalyzeOptions, analyze

        insights = analyze(texts, options=AnalyzeOptions(aspects=False, fast_intent=bulk))
    except (ImportError, OSError, ValueError) as exc:
        log.warning("message analysis unavailable: %s", exc)
        return [None] * len(texts)
    return [
        {
            "intent": insight.intent.to_dict() if insight.intent else None,
            "sentiment": insight.sentiment.to_dict(),
            "anger": insight.signals.anger,
            "escalation": insight.signals.escalation,
            "entities": [e.to_dict() for e in insight.entities],
        }
        for insight in insights
    ]


def bulk_nlp_analyzer(texts: list[str]) -> list[dict[str, Any] | None]:
    """``nlp_analyzer`` for chat-log imports: the fast intent model."""
    return nlp_analyzer(texts, bulk=True)


# -- receiving -----------------------------------------------------------------------------------


class ServiceUnitOfWork(Protocol):
    """What the inbox needs of a unit of work (``liuyu.storage.uow.SqlUnitOfWork`` is one)."""

    ingest: Any
    service: Any

    def projections(self) -> list[Any]: ...
    def commit(self) -> None: ...


@dataclass
class ReceiveReport:
    received: int = 0
    stored: int = 0
    duplicate: int = 0
    conversations: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicate": self.duplicate,
            "conversations": self.conversations,
        }


def message_key(m: InboundMessage) -> tuple[str, str, str]:
    return (m.channel, m.direction, m.message_id)


def analyze_messages(
    items: Sequence[InboundMessage], analyzer: Analyzer = nlp_analyzer
) -> dict[tuple[str, str, str], dict[str, Any] | None]:
    """The analysis of each customer message of a batch, keyed by ``message_key``."""
    inbound = [m for m in items if m.direction == "in"]
    return dict(zip((message_key(m) for m in inbound), analyzer([m.text for m in inbound]), strict=True))


def heat(analysis: Mapping[str, Any] | None) -> int:
    """How urgently a message needs a human: the higher of its anger and escalation levels (0-3)."""
    if not analysis:
        return 0
    return max(ANGER_RANK.get(str(analysis.get("anger")), 0), ANGER_RANK.get(str(analysis.get("escalation")), 0))


def _event(workspace_id: int, m: InboundMessage) -> Event:
    return Event(
        source=f"service.{m.channel}",
        external_id=m.message_id,
        type="custom",
        name="message_received",
        occurred_at=m.sent_at,
        channel=m.channel,
        identifiers=m.identifiers,
        properties={"conversation_key": m.conversation_key, "text": m.text, "order_id": m.order_id},
    )


def _order_candidates(m: InboundMessage, analysis: dict[str, Any] | None) -> list[str]:
    found = [m.order_id] if m.order_id else []
    for entity in (analysis or {}).get("entities", []):
        if entity.get("type") == "order_number":
            found.append(str(entity.get("text", "")))
    found.extend(_ORDER_NUMBER.findall(m.text))
    return [f for f in found if f]


def receive_messages(
    uow: ServiceUnitOfWork,
    workspace_id: int,
    items: Sequence[InboundMessage],
    *,
    analyzer: Analyzer | None = None,
    analyses: Mapping[tuple[str, str, str], dict[str, Any] | None] | None = None,
    policy: IdentityPolicy | None = None,
    now: datetime | None = None,
) -> ReceiveReport:
    """Store the new messages of a batch once: log, customer, conversation, analysis, order link.

    Pass ``analyses`` from ``analyze_messages`` run before the unit of work opened, so the text
    models (tens of ms a message) never hold the workspace's write lock; without them the new
    messages are analysed here. Does not commit: the caller commits the unit of work.
    """
    now = now or datetime.now(UTC)
    report = ReceiveReport(received=len(items))
    uow.ingest.lock_workspace(workspace_id)  # serializes conversation creation per workspace
    fresh: dict[tuple[str, str, str], InboundMessage] = {}
    for m in items:
        fresh.setdefault((m.channel, m.direction, m.message_id), m)
    for channel, direction in {(c, d) for c, d, _ in fresh}:
        ids = [i for c, d, i in fresh if (c, d) == (channel, direction)]
        for known in uow.service.existing_messages(workspace_id, channel, direction, ids):
            del fresh[(channel, direction, known)]
    new = list(fresh.values())
    report.stored = len(new)
    report.duplicate = len(items) - len(new)
    if not new:
        return report

    inbound = [m for m in new if m.direction == "in"]
    events = [_event(workspace_id, m) for m in inbound]
    ingest_events(uow.ingest, workspace_id, events, policy=policy, now=now, projections=uow.projections())
    customers = uow.service.event_customers(workspace_id, [e.key for e in events])
    if analyses is None:
        analyses = analyze_messages(inbound, analyzer or nlp_analyzer)
    wanted = {c for m in inbound for c in _order_candidates(m, analyses.get(message_key(m)))}
    known_orders = uow.service.known_orders(workspace_id, wanted)

    by_conversation: dict[tuple[str, str], list[InboundMessage]] = {}
    for m in new:
        by_conversation.setdefault((m.channel, m.conversation_key), []).append(m)
    for (channel, key), group in by_conversation.items():
        group.sort(key=lambda m: m.sent_at)
        conversation_id = uow.service.conversation_ids(workspace_id, channel, {key}).get(key)
        if conversation_id is None:
            conversation_id = uow.service.open_conversation(workspace_id, channel, key, group[0].sent_at, now)
        rows = []
        anger = 0
        customer_id: int | None = None
        order: tuple[str, str, int | None] | None = None
        for m in group:
            analysis = analyses.get(message_key(m))
            anger = max(anger, heat(analysis))
            if m.direction == "in":
                customer_id = customers.get((f"service.{m.channel}", m.message_id)) or customer_id
                order = order or next(
                    (known_orders[c] for c in _order_candidates(m, analysis) if c in known_orders), None
                )
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "conversation_id": conversation_id,
                    "channel": channel,
                    "direction": m.direction,
                    "external_id": m.message_id,
                    "sender": m.sender,
                    "text": m.text,
                    "sent_at": m.sent_at,
                    "received_at": now,
                    "analysis": analysis,
                    "delivery_status": "imported" if m.direction == "out" else None,
                }
            )
        uow.service.add_messages(rows)
        uow.service.touch_conversation(
            conversation_id,
            last_message_at=max(m.sent_at for m in group),
            anger=anger,
            now=max(now, datetime.now(UTC)),  # after the analysis: the live stream looks for recent changes
            customer_id=customer_id or (order[2] if order else None),
            order=order[:2] if order else None,
            reply_to=next((m.reply_to for m in group if m.reply_to), None),
            reopen=any(m.direction == "in" for m in group),
        )
        report.conversations.append(conversation_id)
    return report


# -- the agent's side ----------------------------------------------------------------------------


def conversation_view(uow: ServiceUnitOfWork, workspace_id: int, conversation_id: int) -> dict[str, Any]:
    conversation = uow.service.conversation(workspace_id, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    return {"conversation": conversation, "messages": uow.service.conversation_messages(conversation_id)}


def _conversation(uow: ServiceUnitOfWork, workspace_id: int, conversation_id: int) -> dict[str, Any]:
    conversation = uow.service.conversation(workspace_id, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation  # type: ignore[no-any-return]


def change_conversation(
    uow: ServiceUnitOfWork,
    workspace_id: int,
    conversation_id: int,
    *,
    status: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Set the status and/or the assignee (an empty assignee unassigns)."""
    _conversation(uow, workspace_id, conversation_id)
    values: dict[str, Any] = {}
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"use one of {', '.join(STATUSES)}", field="status", value=status)
        values["status"] = status
        if status == "resolved":
            values["resolved_at"] = now or datetime.now(UTC)
    if assignee is not None:
        values["assignee"] = assignee.strip()[:200] or None
    if values:
        uow.service.update_conversation(conversation_id, values, now or datetime.now(UTC))
    return _conversation(uow, workspace_id, conversation_id)


def _agent_message(
    uow: ServiceUnitOfWork, conversation: dict[str, Any], direction: str, text: str, actor: str, key: str, now: datetime
) -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise InvalidInput("must not be empty", field="text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"longer than {MAX_TEXT} characters", field="text", value=text)
    row = {
        "workspace_id": conversation["workspace_id"],
        "conversation_id": conversation["id"],
        "channel": conversation["channel"],
        "direction": direction,
        "external_id": key,
        "sender": actor,
        "text": text,
        "sent_at": now,
        "received_at": now,
        "delivery_status": "queued" if direction == "out" else None,
    }
    row["id"] = uow.service.add_message(row)
    uow.service.update_conversation(conversation["id"], {}, now)
    return row


def add_note(
    uow: ServiceUnitOfWork, workspace_id: int, conversation_id: int, text: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """An internal note: seen by agents, never sent to the customer."""
    conversation = _conversation(uow, workspace_id, conversation_id)
    return _agent_message(uow, conversation, "note", text, actor, "note-" + uuid.uuid4().hex, now or datetime.now(UTC))


def reply(
    uow: ServiceUnitOfWork,
    workspace_id: int,
    conversation_id: int,
    text: str,
    actor: str,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Queue a reply in the outbox. Sending the same idempotency key again returns the first reply."""
    now = now or datetime.now(UTC)
    conversation = _conversation(uow, workspace_id, conversation_id)
    key = (idempotency_key or uuid.uuid4().hex).strip()[:100]
    if not key:
        raise InvalidInput("must not be empty", field="idempotency_key")
    existing = uow.service.message_by_external(workspace_id, conversation["channel"], "out", key)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    message = _agent_message(uow, conversation, "out", text, actor, key, now)
    uow.service.enqueue(
        {
            "workspace_id": workspace_id,
            "message_id": message["id"],
            "channel": conversation["channel"],
            "idempotency_key": f"{workspace_id}:{key}",
            "payload": {
                "conversation_key": conversation["conversation_key"],
                "channel": conversation["channel"],
                "message_id": key,
                "text": message["text"],
                "sent_at": now.isoformat(),
                "agent": actor,
                "reply_to": conversation.get("reply_to"),
            },
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
    )
    return message


# -- the outbox worker ---------------------------------------------------------------------------


class DeliveryError(Exception):
    """A send failed; ``permanent`` failures are not retried."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class OutboundAdapter(Protocol):
    """Delivers one reply through a channel; raises DeliveryError when it did not go out."""

    def send(self, channel: Mapping[str, Any], payload: Mapping[str, Any], idempotency_key: str) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)  # a crashed worker's claim expires after this

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_delay * (2 ** max(attempts - 1, 0)), self.max_delay)


@dataclass
class OutboxReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class OutboxRoute(Protocol):
    """One kind of outbox row (a ``route``): where its rows go and what to update once they went."""

    def target(self, uow: Any, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The adapter settings for the row (``outbound_kind``, ``outbound_target``, ...), or None."""

    def finish(self, uow: Any, row: Mapping[str, Any], status: str, at: datetime, values: dict[str, Any]) -> None:
        """Store the attempt's outcome: ``sent``, ``pending`` (retrying) or ``failed``."""


class ServiceReplies:
    """The service hub's route: agents' replies, sent to the conversation's channel bridge."""

    def target(self, uow: Any, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return uow.service.channel(row["workspace_id"], row["channel"])  # type: ignore[no-any-return]

    def finish(self, uow: Any, row: Mapping[str, Any], status: str, at: datetime, values: dict[str, Any]) -> None:
        uow.service.finish(row["id"], row["message_id"], status, at, **values)


def send_outbox(
    unit_of_work: Callable[[], AbstractContextManager[ServiceUnitOfWork]],
    adapters: Mapping[str, OutboundAdapter],
    *,
    policy: RetryPolicy | None = None,
    limit: int = 100,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    routes: Mapping[str, OutboxRoute] | None = None,
) -> OutboxReport:
    """Claim due rows (committed before sending), deliver each, then mark it in its own transaction.

    ``routes`` names the kinds of rows this worker handles (default: the service hub's replies).
    """
    policy = policy or RetryPolicy()
    routes = routes or {"service": ServiceReplies()}
    report = OutboxReport()
    with unit_of_work() as uow:
        rows = uow.service.claim_due(now(), limit, policy.lease, routes=tuple(routes))
        targets: dict[tuple[str, int, str], Mapping[str, Any] | None] = {}
        for r in rows:
            key = (r["route"], r["workspace_id"], r["channel"])
            if key not in targets:
                targets[key] = routes[r["route"]].target(uow, r)
        uow.commit()
    report.claimed = len(rows)
    for row in rows:
        target = targets.get((row["route"], row["workspace_id"], row["channel"]))
        status, values = _deliver(row, target, adapters, policy, now())
        with unit_of_work() as uow:
            routes[row["route"]].finish(uow, row, status, now(), values)
            uow.commit()
        name = "retrying" if status == "pending" else status
        setattr(report, name, getattr(report, name) + 1)
    return report


def _deliver(
    row: Mapping[str, Any],
    channel: Mapping[str, Any] | None,
    adapters: Mapping[str, OutboundAdapter],
    policy: RetryPolicy,
    at: datetime,
) -> tuple[str, dict[str, Any]]:
    try:
        if channel is None or not channel.get("outbound_target"):
            raise DeliveryError(f"no outbound target configured for channel {row['channel']}")
        adapter = adapters.get(str(channel.get("outbound_kind") or "webhook"))
        if adapter is None:
            raise DeliveryError(f"no adapter for {channel.get('outbound_kind')!r}", permanent=True)
        adapter.send(channel, row["payload"], row["idempotency_key"])
    except DeliveryError as exc:
        if exc.permanent or row["attempts"] >= policy.max_attempts:
            return "failed", {"last_error": str(exc)[:1000]}
        return "pending", {"last_error": str(exc)[:1000], "next_attempt_at": at + policy.delay(row["attempts"])}
    return "sent", {"sent_at": at, "last_error": None}


def batches(items: Sequence[InboundMessage], size: int = 500) -> Iterator[Sequence[InboundMessage]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def configure_channel(
    uow: ServiceUnitOfWork,
    workspace_id: int,
    channel: str,
    *,
    rotate: bool = False,
    outbound_kind: str | None = None,
    outbound_target: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create or change a channel; the inbound secret (and the outbound one) are returned only when
    new, so the caller can show them once."""
    if channel not in IMPORT_CHANNELS:
        raise InvalidInput(f"use one of {', '.join(IMPORT_CHANNELS)}", field="channel", value=channel)
    if outbound_kind is not None and outbound_kind not in ("webhook", "smtp"):
        raise InvalidInput("use webhook or smtp", field="outbound_kind", value=outbound_kind)
    current = uow.service.channel(workspace_id, channel)
    values: dict[str, Any] = {}
    shown: dict[str, Any] = {"channel": channel}
    if current is None or rotate:
        values["secret"] = shown["secret"] = new_secret()
        values["outbound_secret"] = shown["outbound_secret"] = new_secret()
    if outbound_kind is not None:
        values["outbound_kind"] = outbound_kind
    elif current is None:
        values["outbound_kind"] = "webhook"
    if outbound_target is not None:
        values["outbound_target"] = outbound_target.strip() or None
    if values:  # nothing to change is a no-op: an UPDATE with no columns is not SQL
        uow.service.save_channel(workspace_id, channel, values, now or datetime.now(UTC))
    saved = uow.service.channel(workspace_id, channel)
    shown.update(outbound_kind=saved["outbound_kind"], outbound_target=saved["outbound_target"])
    return shown
