"""Order follow-ups on a real database: one 催付 per order outside quiet hours, a logistics notice
before the logistics ticket, a survey after delivery, and the reminder report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order
from liuyu.jobs.tickets import send_followups
from liuyu.services import accounts, followups, inbox
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork

SH = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 18, 10, 0, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return ws


def order_event(order_id: str, status: str, at: datetime, *, nick: str = "小鹿", **times: datetime) -> Event:
    kind = {"pending_payment": "placed", "paid": "paid", "completed": "completed"}[status]
    order = Order(platform="tmall", order_id=order_id, status=status, total=Decimal("99"), placed_at=at, **times)
    return Event(
        source="tmall",
        external_id=f"{order_id}:{kind}",
        type=f"order_{kind}",
        occurred_at=times.get("paid_at") or times.get("completed_at") or at,
        identifiers=(Identifier("tmall_nick", nick),),
        order=order,
    )


def ingest(engine: Engine, ws: int, *events: Event) -> None:
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, ws, list(events))
        uow.commit()


def chat(engine: Engine, ws: int, nick: str = "小鹿") -> int:
    body = {"message_id": f"hi-{nick}", "conversation_key": nick, "text": "在吗", "sent_at": MORNING.isoformat()}
    message = inbox.parse_message("tmall", body | {"sender": {"tmall_nick": nick}})
    with SqlUnitOfWork(engine) as uow:
        report = inbox.receive_messages(uow, ws, [message], analyzer=lambda texts: [None] * len(texts))
        uow.commit()
    return report.conversations[0]


def run(engine: Engine, ws: int, now: datetime) -> followups.FollowupReport:
    with SqlUnitOfWork(engine) as uow:
        report = followups.run_followups(uow, ws, now)
        uow.commit()
    return report


def sent_texts(engine: Engine, ws: int) -> list[str]:
    with SqlUnitOfWork(engine) as uow:
        return [row["payload"]["text"] for row in uow.service.outbox_rows(ws)]


def test_an_unpaid_order_gets_one_payment_reminder_and_the_report_counts_payments_after_it(
    engine: Engine, workspace: int
) -> None:
    chat(engine, workspace)
    ingest(engine, workspace, order_event("A-1", "pending_payment", MORNING))
    assert run(engine, workspace, MORNING + timedelta(minutes=10)).sent == 0
    assert run(engine, workspace, MORNING + timedelta(minutes=31)).sent == 1
    assert run(engine, workspace, MORNING + timedelta(minutes=40)).sent == 0
    assert send_followups(engine, MORNING + timedelta(minutes=50)) == 0  # the scheduled job: nothing twice
    texts = sent_texts(engine, workspace)
    assert len(texts) == 1 and "A-1" in texts[0] and "付款" in texts[0]

    evening = datetime(2026, 11, 18, 20, 45, tzinfo=SH)
    ingest(engine, workspace, order_event("A-2", "pending_payment", evening))
    held = run(engine, workspace, evening + timedelta(minutes=35))  # 21:20: quiet hours
    assert (held.sent, held.held) == (0, 1)
    assert run(engine, workspace, datetime(2026, 11, 19, 9, 0, tzinfo=SH)).sent == 1

    paid = MORNING + timedelta(minutes=45)
    ingest(engine, workspace, order_event("A-1", "paid", MORNING, paid_at=paid))
    with SqlUnitOfWork(engine) as uow:
        assert followups.reminders(uow, workspace) == {"sent": 2, "paid_after": 1, "conversion": 0.5}


def test_a_silent_parcel_tells_the_customer_first_then_opens_a_logistics_ticket(engine: Engine, workspace: int) -> None:
    conversation = chat(engine, workspace)
    ingest(
        engine, workspace, order_event("B-1", "paid", MORNING - timedelta(days=3), paid_at=MORNING - timedelta(days=3))
    )
    feed = [
        {
            "order_id": "B-1",
            "tracking_no": "SF123",
            "status": "in_transit",
            "last_update_at": "2026-11-16T09:00:00+08:00",
        }
    ]
    with SqlUnitOfWork(engine) as uow:
        followups.record_parcels(uow, workspace, feed, MORNING)
        uow.commit()
    report = run(engine, workspace, MORNING)
    assert (report.sent, report.tickets) == (1, 1)
    assert run(engine, workspace, MORNING + timedelta(hours=1)).tickets == 0
    with SqlUnitOfWork(engine) as uow:
        done = sorted(uow.tickets.followups(workspace), key=lambda r: r["id"])
        ticket = uow.tickets.ticket(workspace, done[1]["ticket_id"])
    assert [(r["kind"], r["outcome"]) for r in done] == [("logistics_notice", "sent"), ("logistics_ticket", "opened")]
    assert done[0]["conversation_id"] == conversation
    assert (ticket["queue"], ticket["source"], ticket["order_id"]) == ("物流", "followup", "B-1")
    assert ticket["fields"] == {"快递单号": "SF123"}
    assert "SF123" in ticket["subject"] or "B-1" in ticket["subject"]
    assert "物流信息很久没有更新" in sent_texts(engine, workspace)[0]


def test_a_delivered_order_gets_a_survey_and_a_customer_without_a_channel_is_recorded(
    engine: Engine, workspace: int
) -> None:
    chat(engine, workspace)
    done_at = MORNING - timedelta(hours=25)
    ingest(
        engine,
        workspace,
        order_event("C-1", "completed", done_at - timedelta(days=3), completed_at=done_at),
        order_event("C-2", "completed", done_at - timedelta(days=3), nick="没聊过", completed_at=done_at),
        order_event("C-3", "completed", done_at - timedelta(days=90), completed_at=done_at - timedelta(days=60)),
    )
    report = run(engine, workspace, MORNING)
    assert (report.sent, report.no_channel) == (1, 1)  # C-3 was delivered long ago: no survey
    assert "满意" in sent_texts(engine, workspace)[0]


def test_a_parcel_feed_names_the_bad_item_and_field(engine: Engine, workspace: int) -> None:
    bad: list[Any] = [{"order_id": "X", "tracking_no": "1", "status": "lost", "last_update_at": "2026-11-16T09:00:00Z"}]
    with SqlUnitOfWork(engine) as uow, pytest.raises(InvalidInput) as problem:
        followups.record_parcels(uow, workspace, bad, MORNING)
    assert problem.value.where == "parcels[0]" and problem.value.field == "status"
    unknown = [bad[0] | {"status": "delivered"}]
    with SqlUnitOfWork(engine) as uow, pytest.raises(InvalidInput) as problem:
        followups.record_parcels(uow, workspace, unknown, MORNING)
    assert problem.value.field == "order_id"


def test_a_workspace_writes_its_own_reminder_text(engine: Engine, workspace: int) -> None:
    from liuyu.services import tickets

    with SqlUnitOfWork(engine) as uow, pytest.raises(InvalidInput) as problem:
        tickets.save_settings(uow, workspace, {"followup_texts": {"payment_reminder": "{name} 快付款"}}, MORNING)
    assert problem.value.field == "followup_texts"
    with SqlUnitOfWork(engine) as uow:
        tickets.save_settings(
            uow, workspace, {"followup_texts": {"payment_reminder": "【栖木】订单{order_id}待付款"}}, MORNING
        )
        uow.commit()
    chat(engine, workspace)
    ingest(engine, workspace, order_event("D-1", "pending_payment", MORNING))
    assert run(engine, workspace, MORNING + timedelta(minutes=31)).sent == 1
    assert sent_texts(engine, workspace) == ["【栖木】订单D-1待付款"]
