"""Order follow-ups (跟单): payment reminders, logistics exceptions and satisfaction surveys.

The domain (``domain/service/followup.py``) decides what one order needs now; this module finds
the orders worth asking about, records each follow-up *before* doing it (a unique row per order
and kind, so overlapping runs and re-runs never send twice), sends customer messages through the
inbox's reply outbox on the customer's latest conversation (or, with no conversation, as an SMS
through ``messaging.request_send`` when the workspace has a ``followup_<kind>`` template), and
opens logistics tickets.
Messages held for quiet hours are simply not due yet: a later run sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from liuyu.domain.errors import InvalidInput
from liuyu.domain.orders import Order
from liuyu.domain.service.calendar import require_aware
from liuyu.domain.service.followup import FollowupAction, Parcel, decide, reminder_report
from liuyu.services import inbox
from liuyu.services.messaging import SendRequest, request_send
from liuyu.services.tickets import TicketUnitOfWork, load_settings, open_ticket

ACTOR = "followup"
PARCEL_STATUSES = ("in_transit", "delivered", "returned", "exception")
#: Surveys go to orders delivered in the last few days only: an import of last year's orders
#: must not send a survey for each of them.
SURVEY_WINDOW = timedelta(days=3)
TEXTS = {
    "payment_reminder": "亲，您的订单 {order_id} 还没有付款哦，商品已为您保留，付款后我们会尽快发货。",
    "logistics_notice": "亲，您的订单 {order_id} 的包裹{problem}，我们已经在联系快递处理，有进展会第一时间告诉您。",
    "satisfaction_survey": "亲，您的订单 {order_id} 已签收，这次购物还满意吗？回复 1-5 分告诉我们吧，感谢您的支持！",
}
PROBLEMS = {"returned": "被退回了", "exception": "运输出现异常", "in_transit": "物流信息很久没有更新"}


@dataclass
class FollowupReport:
    checked: int = 0
    sent: int = 0
    tickets: int = 0
    no_channel: int = 0
    held: int = 0  # due, but waiting for quiet hours to end


def _order(row: Mapping[str, Any]) -> Order:
    return Order(
        platform=row["platform"],
        order_id=row["order_id"],
        status=row["status"],
        total=Decimal(row["total_fen"]) / 100,
        placed_at=row["placed_at"],
        paid_at=row["paid_at"],
        shipped_at=row["shipped_at"],
        completed_at=row["completed_at"],
    )


def _parcel(row: Mapping[str, Any]) -> Parcel | None:
    if row.get("parcel_status") is None:
        return None
    return Parcel(row["tracking_no"], row["parcel_status"], row["last_update_at"], row["delivered_at"])


def _send(uow: TicketUnitOfWork, workspace_id: int, conversation_id: int, text: str, key: str, now: datetime) -> int:
    """A message to the customer through the reply outbox; the key makes a repeat return the first."""
    message = inbox.reply(uow, workspace_id, conversation_id, text, ACTOR, idempotency_key=key, now=now)  # type: ignore[arg-type]
    return int(message["id"])


def _carry_out(
    uow: TicketUnitOfWork,
    workspace_id: int,
    row: Mapping[str, Any],
    action: FollowupAction,
    now: datetime,
    texts: Mapping[str, str],
) -> str | None:
    """Do one follow-up once; the outcome, or None when another run did it first."""
    record = {
        "workspace_id": workspace_id,
        "platform": row["platform"],
        "order_id": row["order_id"],
        "kind": action.kind,
        "outcome": "claimed",
        "reason": action.reason,
        "at": now,
    }
    followup_id = uow.tickets.claim_followup(record)
    if followup_id is None:
        return None
    customer = row["customer_id"]
    if action.kind == "logistics_ticket":
        ticket = open_ticket(
            uow,
            workspace_id,
            customer_id=customer,
            subject=f"物流异常：订单 {row['order_id']}",
            category="物流",
            order_id=row["order_id"],
            source="followup",
            actor=ACTOR,
            now=now,
            fields={"快递单号": row["tracking_no"]} if row.get("tracking_no") else None,
            reason=action.reason,
        )
        uow.tickets.finish_followup(followup_id, {"outcome": "opened", "ticket_id": ticket["id"]})
        return "opened"
    conversation = None if customer is None else uow.tickets.latest_conversation(workspace_id, customer)
    if conversation is None:
        return _by_messaging(uow, workspace_id, row, action, followup_id, now)
    problem = PROBLEMS.get(str(row.get("parcel_status")), PROBLEMS["in_transit"])
    text = {**TEXTS, **texts}[action.kind].format(order_id=row["order_id"], problem=problem)
    message_id = _send(uow, workspace_id, conversation["id"], text, f"followup-{followup_id}", now)
    values = {"outcome": "sent", "conversation_id": conversation["id"], "message_id": message_id}
    uow.tickets.finish_followup(followup_id, values)
    return "sent"


def _by_messaging(
    uow: TicketUnitOfWork,
    workspace_id: int,
    row: Mapping[str, Any],
    action: FollowupAction,
    followup_id: int,
    now: datetime,
) -> str:
    """No conversation to answer in: an SMS through ``messaging.request_send`` (its guardrails decide),
    when the workspace has an SMS template named ``followup_<kind>``; else recorded as no channel."""
    decision = None
    if row["customer_id"] is not None:
        request = SendRequest(
            workspace_id=workspace_id,
            customer_id=row["customer_id"],
            channel="sms",
            template=f"followup_{action.kind}",
            variables={"order_id": row["order_id"]},
            purpose="transactional",
            source=f"followup:{action.kind}:{row['order_id']}",
            idempotency_key=f"followup-{followup_id}",
        )
        decision = request_send(uow, request, now=now)
    if decision is None or not decision.queued:
        reason = action.reason if decision is None else f"{action.reason}; sms: {decision.reason}"
        uow.tickets.finish_followup(followup_id, {"outcome": "no_channel", "reason": reason})
        return "no_channel"
    uow.tickets.finish_followup(followup_id, {"outcome": "sent"})
    return "sent"


def run_followups(uow: TicketUnitOfWork, workspace_id: int, now: datetime, *, limit: int = 500) -> FollowupReport:
    """One pass over a workspace's orders; does not commit (the caller commits)."""
    now = require_aware(now, "now")
    settings = load_settings(uow, workspace_id)
    rules = settings.followups
    report = FollowupReport()
    rows = uow.tickets.followup_candidates(
        workspace_id,
        unpaid_between=(
            now - timedelta(hours=rules.payment_reminder_until_hours),
            now - timedelta(minutes=rules.payment_reminder_after_minutes),
        ),
        stale_before=now - timedelta(hours=rules.stale_tracking_hours),
        delivered_since=now - timedelta(hours=rules.survey_after_hours) - SURVEY_WINDOW,
        limit=limit,
    )
    done = uow.tickets.followups_done(workspace_id, [(r["platform"], r["order_id"]) for r in rows])
    for row in rows:
        report.checked += 1
        actions = decide(_order(row), _parcel(row), done.get((row["platform"], row["order_id"]), set()), rules, now)
        for action in actions:
            if action.at > now:
                report.held += 1
                continue
            outcome = _carry_out(uow, workspace_id, row, action, now, settings.followup_texts)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "opened":
                report.tickets += 1
            elif outcome == "no_channel":
                report.no_channel += 1
    return report


def parse_parcels(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Check a parcel feed (the ERP's or the carrier's); errors name the item and the field."""
    parsed = []
    for index, item in enumerate(items):
        where = f"parcels[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInput("must be a JSON object", where=where)
        for name in ("order_id", "tracking_no", "status", "last_update_at"):
            if not item.get(name):
                raise InvalidInput("is required", where=where, field=name)
        if item["status"] not in PARCEL_STATUSES:
            raise InvalidInput(
                f"use one of {', '.join(PARCEL_STATUSES)}", where=where, field="status", value=item["status"]
            )
        parsed.append(
            {
                "platform": item.get("platform"),
                "order_id": str(item["order_id"])[:100],
                "tracking_no": str(item["tracking_no"])[:100],
                "status": item["status"],
                "last_update_at": _when(item["last_update_at"], where, "last_update_at"),
                "delivered_at": _when(item["delivered_at"], where, "delivered_at")
                if item.get("delivered_at")
                else None,
            }
        )
    return parsed


def _when(value: Any, where: str, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("is not an ISO 8601 time", where=where, field=name, value=value) from exc
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone (e.g. +08:00 or Z)", where=where, field=name, value=value)
    return at.astimezone(UTC)


def record_parcels(uow: TicketUnitOfWork, workspace_id: int, items: Sequence[Any], now: datetime) -> dict[str, int]:
    """Store the latest parcel state per order; an order this workspace does not have is refused by index."""
    parsed = parse_parcels(items)
    known = uow.service.known_orders(workspace_id, {p["order_id"] for p in parsed})
    rows = []
    for index, parcel in enumerate(parsed):
        if parcel["order_id"] not in known:
            raise InvalidInput(
                "no such order in this workspace", where=f"parcels[{index}]", field="order_id", value=parcel["order_id"]
            )
        platform = parcel["platform"] or known[parcel["order_id"]][0]
        rows.append({**parcel, "platform": platform, "workspace_id": workspace_id, "updated_at": now})
    uow.tickets.save_parcels(rows)
    return {"stored": len(rows)}


def reminders(uow: TicketUnitOfWork, workspace_id: int, since: datetime | None = None) -> dict[str, Any]:
    """Payment reminders sent, and how many of those orders were paid after their reminder."""
    rows = uow.tickets.reminders(workspace_id, since)
    sent_at = {r["order_id"]: r["at"] for r in rows}
    orders = [
        Order(r["platform"], r["order_id"], "paid" if r["paid_at"] else "pending_payment", paid_at=r["paid_at"])
        for r in rows
    ]
    report = reminder_report(sent_at, orders)
    return {"sent": report.sent, "paid_after": report.paid_after, "conversion": report.conversion}


def report_dict(report: FollowupReport) -> dict[str, int]:
    return asdict(report)
