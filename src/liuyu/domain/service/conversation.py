"""A conversation as an event-sourced tracker: what was said, by whom, and where it stands.

Every change is an event appended to ``events``; status, assignee, notes and the derived figures
(first response time, longest customer wait, reopens) come from replaying them, so a stored
conversation rebuilds to the same state. Two things the channels do are absorbed here:
webhooks deliver the same message twice (ignored by message id) and deliver messages out of
order (shown in timestamp order; a late message never reopens a conversation resolved after it
was written).

A *reply* is an outbound message written by an agent. Bot answers and system notices are shown
but do not stop the customer's wait: the wait is for a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.service.calendar import require_aware
from liuyu.domain.service.sla import Pause, SlaFacts

Status = Literal["open", "pending", "snoozed", "resolved"]
STATUSES: tuple[Status, ...] = ("open", "pending", "snoozed", "resolved")
#: Allowed moves. ``pending`` waits on the customer (SLA paused); ``snoozed`` is the agent's own
#: "remind me later" and does not pause SLA clocks.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    "open": frozenset({"pending", "snoozed", "resolved"}),
    "pending": frozenset({"open", "snoozed", "resolved"}),
    "snoozed": frozenset({"open", "pending", "resolved"}),
    "resolved": frozenset({"open"}),
}
AuthorKind = Literal["customer", "agent", "bot", "system"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message in or out; ``id`` is the channel's message id, unique within a conversation."""

    id: str
    direction: Literal["in", "out"]
    at: datetime
    text: str
    channel: str
    author: str = ""
    author_kind: AuthorKind = "customer"

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, "at"))
        if not self.id:
            raise InvalidInput("a message needs the channel's message id", field="id")
        expected_in = self.author_kind == "customer"
        if expected_in != (self.direction == "in"):
            raise InvalidInput("customers write inbound messages; agents, bots and the system outbound", value=self)

    @property
    def is_reply(self) -> bool:
        return self.direction == "out" and self.author_kind == "agent"


@dataclass(frozen=True, slots=True)
class MessageAdded:
    message: Message
    name: str = "service.conversation.message_added"


@dataclass(frozen=True, slots=True)
class StatusChanged:
    at: datetime
    status: Status
    actor: str
    reason: str = ""
    snooze_until: datetime | None = None
    name: str = "service.conversation.status_changed"


@dataclass(frozen=True, slots=True)
class Assigned:
    at: datetime
    agent: str | None  # None: back to the queue
    actor: str
    reason: str = ""
    name: str = "service.conversation.assigned"


@dataclass(frozen=True, slots=True)
class NoteAdded:
    """An internal note: seen by colleagues, never sent to the customer."""

    at: datetime
    author: str
    text: str
    name: str = "service.conversation.note_added"


ConversationEvent = MessageAdded | StatusChanged | Assigned | NoteAdded


@dataclass(frozen=True, slots=True)
class StatusEntry:
    at: datetime
    status: Status
    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class CustomerWait:
    """The customer waited from ``since`` (message ``message_id``) until ``until``."""

    message_id: str
    since: datetime
    until: datetime
    answered: bool

    @property
    def waited(self) -> timedelta:
        return self.until - self.since


@dataclass(slots=True)
class Conversation:
    id: str
    channel: str
    opened_at: datetime
    customer_id: str | None = None
    events: list[ConversationEvent] = field(default_factory=list, init=False)
    # Derived from the events; set only by replaying them.
    status: Status = field(default="open", init=False)
    assignee: str | None = field(default=None, init=False)
    snooze_until: datetime | None = field(default=None, init=False)
    reopen_count: int = field(default=0, init=False)
    status_history: list[StatusEntry] = field(default_factory=list, init=False)
    _messages: dict[str, tuple[int, Message]] = field(default_factory=dict, init=False)
    _notes: list[NoteAdded] = field(default_factory=list, init=False)
    _pauses: list[Pause] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.opened_at = require_aware(self.opened_at, "opened_at")
        self.status_history.append(StatusEntry(self.opened_at, "open", "system", "opened"))

    @classmethod
    def replay(
        cls,
        id: str,
        channel: str,
        opened_at: datetime,
        events: Iterable[ConversationEvent],
        customer_id: str | None = None,
    ) -> Conversation:
        """Rebuild a stored conversation; replaying the same events gives the same state."""
        conversation = cls(id, channel, opened_at, customer_id)
        for event in events:
            conversation.record(event)
        return conversation

    # -- commands -------------------------------------------------------------------------------

    def record(self, event: ConversationEvent) -> bool:
        """Apply and append one event; False when it is a message already recorded (a redelivery)."""
        if isinstance(event, MessageAdded):
            if event.message.id in self._messages:
                return False
            self._apply_message(event.message)
        elif isinstance(event, StatusChanged):
            self._apply_status(event.at, event.status, event.actor, event.reason, event.snooze_until)
        elif isinstance(event, Assigned):
            self.assignee = event.agent
        else:
            self._notes.append(event)
        self.events.append(event)
        return True

    def add_message(self, message: Message) -> bool:
        return self.record(MessageAdded(message))

    def change_status(
        self, status: Status, at: datetime, actor: str, reason: str = "", snooze_until: datetime | None = None
    ) -> None:
        self.record(StatusChanged(require_aware(at), status, actor, reason, snooze_until))

    def assign(self, agent: str | None, at: datetime, actor: str, reason: str = "") -> None:
        self.record(Assigned(require_aware(at), agent, actor, reason))

    def add_note(self, author: str, text: str, at: datetime) -> None:
        self.record(NoteAdded(require_aware(at), author, text))

    def wake_if_due(self, now: datetime) -> bool:
        """Snoozed conversations come back on their own when the snooze time passes."""
        if self.status == "snoozed" and self.snooze_until is not None and require_aware(now) >= self.snooze_until:
            self.change_status("open", self.snooze_until, "system", "snooze ended")
            return True
        return False

    # -- applying events ------------------------------------------------------------------------

    def _apply_message(self, message: Message) -> None:
        self._messages[message.id] = (len(self._messages), message)
        # Only a message written after the last status change reopens: a late delivery does not.
        if message.direction == "in" and self.status != "open" and message.at > self.status_history[-1].at:
            self._apply_status(message.at, "open", message.author or "customer", "customer wrote", None)

    def _apply_status(
        self, at: datetime, status: Status, actor: str, reason: str, snooze_until: datetime | None
    ) -> None:
        if status not in STATUSES:
            raise InvalidInput(f"status is one of {', '.join(STATUSES)}", field="status", value=status)
        if status not in TRANSITIONS[self.status]:
            raise Conflict(f"conversation {self.id} cannot go from {self.status} to {status}")
        if status == "snoozed" and snooze_until is None:
            raise InvalidInput("snoozing needs a time to wake up", field="snooze_until")
        if self.status == "pending":
            self._pauses[-1] = (self._pauses[-1][0], at)
        if status == "pending":
            self._pauses.append((at, None))
        if self.status == "resolved" and status == "open":
            self.reopen_count += 1
        self.status = status
        self.snooze_until = snooze_until if status == "snoozed" else None
        self.status_history.append(StatusEntry(at, status, actor, reason))

    # -- what the agent and the reports see -----------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """In timestamp order; messages with the same timestamp keep their arrival order."""
        return [m for _, m in sorted(self._messages.values(), key=lambda pair: (pair[1].at, pair[0]))]

    @property
    def notes(self) -> list[NoteAdded]:
        return list(self._notes)

    @property
    def reopened(self) -> bool:
        return self.reopen_count > 0

    @property
    def resolved_at(self) -> datetime | None:
        return self.status_history[-1].at if self.status == "resolved" else None

    def first_customer_message(self) -> Message | None:
        return next((m for m in self.messages if m.direction == "in"), None)

    def first_reply(self) -> Message | None:
        first = self.first_customer_message()
        if first is None:
            return None
        return next((m for m in self.messages if m.is_reply and m.at >= first.at), None)

    @property
    def first_response_time(self) -> timedelta | None:
        """Wall-clock time from the customer's first message to the first agent reply."""
        first, reply = self.first_customer_message(), self.first_reply()
        return None if first is None or reply is None else reply.at - first.at

    def customer_waits(self, now: datetime | None = None) -> list[CustomerWait]:
        """Each stretch from a customer's first unanswered message to the agent's next reply."""
        waits: list[CustomerWait] = []
        waiting: Message | None = None
        for message in self.messages:
            if message.direction == "in" and waiting is None:
                waiting = message
            elif message.is_reply and waiting is not None:
                waits.append(CustomerWait(waiting.id, waiting.at, message.at, answered=True))
                waiting = None
        if waiting is not None and now is not None and self.status != "resolved":
            waits.append(CustomerWait(waiting.id, waiting.at, max(require_aware(now), waiting.at), answered=False))
        return waits

    def longest_customer_wait(self, now: datetime | None = None) -> CustomerWait | None:
        return max(self.customer_waits(now), key=lambda wait: wait.waited, default=None)

    def awaiting_reply_since(self) -> datetime | None:
        """The oldest customer message after the last reply, if the customer is waiting for us."""
        if self.status == "resolved":
            return None
        waiting: datetime | None = None
        for message in self.messages:
            if message.is_reply:
                waiting = None
            elif message.direction == "in" and waiting is None:
                waiting = message.at
        return waiting

    def pending_spans(self) -> tuple[Pause, ...]:
        return tuple(self._pauses)

    def sla_facts(self, priority: str = "normal") -> SlaFacts:
        """The conversation as the SLA clocks see it."""
        first, reply = self.first_customer_message(), self.first_reply()
        return SlaFacts(
            opened_at=first.at if first is not None else self.opened_at,
            first_response_at=None if reply is None else reply.at,
            awaiting_reply_since=self.awaiting_reply_since() if reply is not None else None,
            resolved_at=self.resolved_at,
            pauses=self.pending_spans(),
            priority=priority,
        )
