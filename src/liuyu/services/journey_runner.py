"""The worker's journey pass: take due enrollments and walk each one to its next wait or its end.

Set-wise: enrollments at the same step of the same journey version are handled together (one
query for a branch; one call to tag, to issue coupons, or to decide the step's messages or
webhooks). Everything happens in the caller's transaction, so a crash undoes the whole pass and the
next worker does it again exactly once.

Actions reach the rest of liuyu through ports: messages and webhooks through ``SendPort`` (the
messaging service with its guardrails: consent, quiet hours, caps), tickets through
``TicketPort``; coupons, points and tags through the member center and engagement services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from liuyu.domain.engagement.journey import COMPUTED_VARIABLES, Journey, Step, wait_until
from liuyu.domain.engagement.segment import to_text
from liuyu.domain.errors import LiuyuError
from liuyu.services import engagement, loyalty
from liuyu.services.journeys import journey_of

MAX_HOPS = 250  # steps one enrollment may take in one pass; validation forbids loops without a wait


@dataclass(frozen=True)
class SendRequest:
    """What a journey asks of the messaging service (same shape as ``services.messaging.SendRequest``)."""

    workspace_id: int
    customer_id: int
    channel: str
    template: str
    variables: Mapping[str, Any]
    purpose: str
    source: str
    idempotency_key: str


class SendDecision(Protocol):
    queued: bool
    reason: str | None
    outbox_id: int | None
    not_before: datetime | None


class SendPort(Protocol):
    def __call__(self, uow: Any, request: SendRequest, *, now: datetime) -> SendDecision: ...


class SendManyPort(Protocol):
    def __call__(self, uow: Any, requests: Sequence[SendRequest], *, now: datetime) -> Sequence[SendDecision]: ...


class TicketPort(Protocol):
    def __call__(
        self,
        uow: Any,
        workspace_id: int,
        customer_id: int,
        *,
        subject: str,
        body: str,
        priority: str,
        source: str,
        now: datetime,
    ) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class _Unavailable:
    queued: bool = False
    reason: str | None = "messaging is not set up in this installation"
    outbox_id: int | None = None
    not_before: datetime | None = None


def _no_messaging(uow: Any, request: SendRequest, *, now: datetime) -> SendDecision:
    return _Unavailable()


@dataclass
class JourneyPorts:
    send: SendPort = _no_messaging
    open_ticket: TicketPort | None = None
    send_many: SendManyPort | None = None  # a step's sends at once; without it, ``send`` one by one

    def send_all(self, uow: Any, requests: Sequence[SendRequest], *, now: datetime) -> Sequence[SendDecision]:
        if self.send_many is not None:
            return self.send_many(uow, requests, now=now)
        return [self.send(uow, request, now=now) for request in requests]


def default_ports() -> JourneyPorts:
    """The real adapters: liuyu's messaging service and ticket desk, when they are installed."""
    ports = JourneyPorts()
    try:
        from liuyu.services import messaging
    except ImportError:
        pass
    else:

        def real(request: SendRequest) -> messaging.SendRequest:
            return messaging.SendRequest(**{k: getattr(request, k) for k in SendRequest.__dataclass_fields__})

        def send(uow: Any, request: SendRequest, *, now: datetime) -> SendDecision:
            return messaging.request_send(uow, real(request), now=now)

        def send_many(uow: Any, requests: Sequence[SendRequest], *, now: datetime) -> Sequence[SendDecision]:
            return messaging.request_send_many(uow, [real(r) for r in requests], now=now)

        ports.send, ports.send_many = send, send_many
    try:
        from liuyu.services import tickets
    except ImportError:
        pass
    else:

        def open_ticket(
            uow: Any,
            workspace_id: int,
            customer_id: int,
            *,
            subject: str,
            body: str,
            priority: str,
            source: str,
            now: datetime,
        ) -> Mapping[str, Any]:
            return tickets.open_ticket(
                uow,
                workspace_id,
                customer_id=customer_id,
                subject=subject,
                source="journey",
                actor=source,
                now=now,
                priority=priority,
                reason=body or source,
            )

        ports.open_ticket = open_ticket
    return ports


@dataclass
class _Enrollment:
    """One enrollment in flight: where it is and what the pass decided for it."""

    row: dict[str, Any]
    state: str = "active"
    step_key: str | None = None
    next_run_at: datetime | None = None
    waiting_until: datetime | None = None
    finished_at: datetime | None = None
    hops: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


def run_due(uow: Any, now: datetime, ports: JourneyPorts, *, limit: int = 1000) -> int:
    """Claim up to ``limit`` due enrollments and run them; returns how many steps were taken."""
    store = uow.journeys
    claimed = store.claim_due(now, limit)
    if not claimed:
        return 0
    flight = {r["id"]: _Enrollment(r, step_key=r["step_key"], waiting_until=r["waiting_until"]) for r in claimed}
    pending = list(flight.values())
    definitions: dict[tuple[int, int], Mapping[str, Any]] = {}
    steps = 0
    while pending:
        groups: dict[tuple[int, int, int, str], list[_Enrollment]] = {}
        for item in pending:
            assert item.step_key is not None
            groups.setdefault(
                (item.row["workspace_id"], item.row["journey_id"], item.row["version"], item.step_key), []
            ).append(item)
        pending = []
        for (ws, journey_id, version, key), items in groups.items():
            if (journey_id, version) not in definitions:  # a version never changes: once per pass
                definitions[(journey_id, version)] = store.definition(journey_id, version)["definition"]
            journey = journey_of(journey_id, version, definitions[(journey_id, version)])
            step = journey.step(key)
            moves = _run_step(uow, ws, journey_id, journey, step, items, now, ports)
            steps += len(items)
            for item, target in moves:
                item.hops += 1
                if target is None:
                    item.state, item.step_key, item.next_run_at, item.finished_at = "completed", None, None, now
                elif item.hops >= MAX_HOPS:
                    item.step_key, item.next_run_at = target, now  # the next pass goes on
                else:
                    item.step_key = target
                    pending.append(item)
    store.save_progress(
        [
            {
                "id": item.row["id"],
                "state": item.state,
                "step_key": item.step_key,
                "next_run_at": item.next_run_at,
                "waiting_until": item.waiting_until,
                "finished_at": item.finished_at,
            }
            for item in flight.values()
        ]
    )
    store.log(entry for item in flight.values() for entry in item.log)
    return steps


def _note(
    item: _Enrollment, ws: int, journey_id: int, key: str, outcome: str, detail: dict[str, Any], now: datetime
) -> None:
    item.log.append(
        {
            "workspace_id": ws,
            "journey_id": journey_id,
            "enrollment_id": item.row["id"],
            "customer_id": item.row["customer_id"],
            "step_key": key,
            "outcome": outcome,
            "detail": detail,
            "at": now,
        }
    )


def _run_step(
    uow: Any,
    ws: int,
    journey_id: int,
    journey: Journey,
    step: Step,
    items: list[_Enrollment],
    now: datetime,
    ports: JourneyPorts,
) -> list[tuple[_Enrollment, str | None]]:
    """Do one step for a group; returns who moves on to which step (None: the end). Those that stay
    (waiting) are not returned."""
    key = step.key
    if step.kind == "wait":
        moves = []
        for item in items:
            if item.waiting_until is not None and item.waiting_until <= now:
                item.waiting_until = None  # the wait is over
                moves.append((item, journey.after(key)))
                continue
            until = wait_until(step, now, journey.timezone)
            if until <= now:
                moves.append((item, journey.after(key)))
                continue
            item.waiting_until = item.next_run_at = until
            _note(item, ws, journey_id, key, "waiting", {"until": until.isoformat()}, now)
        return moves
    if step.kind == "branch":
        assert step.condition is not None
        members = uow.journeys.in_audience(ws, step.condition, [i.row["customer_id"] for i in items], now)
        moves = []
        for item in items:
            result = item.row["customer_id"] in members
            detail = {"condition": to_text(step.condition), "result": result}
            _note(item, ws, journey_id, key, "yes" if result else "no", detail, now)
            moves.append((item, journey.branch_to(key, result)))
        return moves
    results = _act(uow, ws, journey_id, step, items, now, ports)
    for item in items:
        outcome, detail = results[item.row["id"]]
        _note(item, ws, journey_id, key, outcome, detail, now)
    return [(item, journey.after(key)) for item in items]


Outcome = tuple[str, dict[str, Any]]


def _act(
    uow: Any, ws: int, journey_id: int, step: Step, items: list[_Enrollment], now: datetime, ports: JourneyPorts
) -> dict[int, Outcome]:
    """Run an action for the group, all at once where the service allows; a failure is tried again
    one customer at a time so one bad customer does not stop the others."""
    source = f"journey:{journey_id}:step:{step.key}"
    params = step.params
    computed = {k: v for k, v in dict(params.get("variables") or {}).items() if v in COMPUTED_VARIABLES}
    suggested: dict[int, str] = {}
    if computed and step.kind in ("send", "webhook"):
        suggested = uow.journeys.suggested_categories(ws, [i.row["customer_id"] for i in items])

    def one(item: _Enrollment) -> Outcome:
        cid, eid = item.row["customer_id"], item.row["id"]
        if step.kind == "points":
            done = loyalty.adjust(
                uow,
                ws,
                cid,
                points=params["amount"],
                adjustment_id=f"journey-{eid}-{step.key}",
                operator=source,
                reason=params["reason"],
                at=now,
            )
            return "done", {"points": params["amount"], "replayed": done["replayed"]}
        if step.kind == "ticket":
            if ports.open_ticket is None:
                return "skipped", {"reason": "no ticket desk in this installation"}
            ticket = ports.open_ticket(
                uow,
                ws,
                cid,
                subject=params["subject"],
                body=params["body"],
                priority=params["priority"],
                source=source,
                now=now,
            )
            return "done", {"ticket_id": ticket.get("id")}
        raise AssertionError(step.kind)

    def sends(group: list[_Enrollment]) -> dict[int, Outcome]:
        """The step's messages or webhooks, decided in one call to the messaging service."""
        results: dict[int, Outcome] = {}
        asked: list[tuple[_Enrollment, SendRequest]] = []
        for item in group:
            cid, eid = item.row["customer_id"], item.row["id"]
            variables = dict(params["variables"])
            if computed:
                if cid not in suggested:
                    results[eid] = "skipped", {"channel": params.get("channel"), "reason": "no_suggested_category"}
                    continue
                variables.update({k: suggested[cid] for k in computed})
            request = SendRequest(
                ws,
                cid,
                params["channel"],
                params["template"],
                variables,
                params["purpose"],
                source,
                f"journey:{eid}:{step.key}",
            )
            asked.append((item, request))
        decisions = ports.send_all(uow, [r for _, r in asked], now=now)
        for (item, _), decision in zip(asked, decisions, strict=True):
            detail = {"channel": params["channel"], "template": params["template"], "outbox_id": decision.outbox_id}
            if decision.not_before is not None:
                detail["not_before"] = decision.not_before.isoformat()
            if decision.queued:
                results[item.row["id"]] = "sent", detail
            else:
                results[item.row["id"]] = "skipped", {**detail, "reason": decision.reason}
        return {i.row["id"]: results[i.row["id"]] for i in group}

    def many(group: list[_Enrollment]) -> dict[int, Outcome]:
        ids = [i.row["customer_id"] for i in group]
        if step.kind in ("send", "webhook"):
            return sends(group)
        if step.kind == "tag":
            reason = f"{source}: {params['reason']}"
            engagement.apply_tags(uow, ws, [(cid, params["tag"], reason) for cid in ids], source="rule", now=now)
            return {i.row["id"]: ("done", {"tag": params["tag"]}) for i in group}
        if step.kind == "coupon":
            made = loyalty.issue_coupons(
                uow, ws, params["template"], ids, at=now, batch=f"journey-{journey_id}-{step.key}"
            )
            codes = {c["customer_id"]: c["code"] for c in made}
            return {i.row["id"]: ("done", {"coupon": codes.get(i.row["customer_id"])}) for i in group}
        return {i.row["id"]: one(i) for i in group}

    return _guarded(uow, items, many)


def _guarded(
    uow: Any, items: list[_Enrollment], many: Callable[[list[_Enrollment]], dict[int, Outcome]]
) -> dict[int, Outcome]:
    try:
        with uow.journeys.savepoint():
            return many(items)
    except (LiuyuError, ValueError, LookupError) as exc:
        if len(items) == 1:
            return {items[0].row["id"]: ("failed", {"error": str(exc)[:300]})}
    results: dict[int, Outcome] = {}
    for item in items:
        results.update(_guarded(uow, [item], many))
    return results


def queue(uow: Any, now: datetime, *, workspace_id: int | None = None) -> dict[str, Any]:
    """Queue depth and lag: how many steps are due and how late the oldest is, in seconds."""
    depth, oldest = uow.journeys.due_count(now, workspace_id)
    return {"due": depth, "lag_seconds": 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())}
