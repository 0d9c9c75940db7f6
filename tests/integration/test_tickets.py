"""Tickets on a real database: routing explained, SLA due times on the holiday calendar, transfers
that keep the history, escalation exactly once, and one workspace never seeing another's tickets."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.errors import Conflict, InvalidInput, NotFound
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.services import accounts, inbox, tickets
from liuyu.services.identity import unmerge
from liuyu.services.ingest import ingest_events
from liuyu.storage.tables import merges
from liuyu.storage.uow import SqlUnitOfWork

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 18, 10, 0, tzinfo=SH).astimezone(UTC)  # a Wednesday morning


def analysed(intent: str) -> Any:
    def analyzer(texts: list[str]) -> list[dict[str, Any] | None]:
        return [
            {"anger": "none", "escalation": "none", "sentiment": None, "intent": {"label": intent, "score": 0.9}}
            | {"entities": []}
            for _ in texts
        ]

    return analyzer


@pytest.fixture
def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return ws


def seed_order(engine: Engine, ws: int, order_id: str = "3312345678901", *, nick: str = "小鹿") -> None:
    order = Order(
        platform="tmall",
        order_id=order_id,
        status="paid",
        total=Decimal("299"),
        placed_at=T0 - timedelta(days=2),
        lines=(OrderLine(title="黑武士-手柄", sku="BW-PAD"),),
    )
    event = Event(
        source="tmall",
        external_id=f"{order_id}:paid",
        type="order_paid",
        occurred_at=T0 - timedelta(days=2),
        identifiers=(Identifier("tmall_nick", nick),),
        order=order,
    )
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, ws, [event])
        uow.commit()


def conversation(engine: Engine, ws: int, text: str, intent: str, *, key: str = "c1", nick: str = "小鹿") -> int:
    body = {
        "message_id": f"{key}-1",
        "conversation_key": key,
        "text": text,
        "sent_at": T0.isoformat(),
        "sender": {"tmall_nick": nick},
    }
    with SqlUnitOfWork(engine) as uow:
        report = inbox.receive_messages(uow, ws, [inbox.parse_message("tmall", body)], analyzer=analysed(intent))
        uow.commit()
    return report.conversations[0]


def run(engine: Engine, action: Any, *args: Any, **kwargs: Any) -> Any:
    with SqlUnitOfWork(engine) as uow:
        result = action(uow, *args, **kwargs)
        uow.commit()
    return result


def view(engine: Engine, ws: int, ticket_id: int, now: datetime = T0) -> dict[str, Any]:
    with SqlUnitOfWork(engine) as uow:
        return tickets.ticket_view(uow, ws, ticket_id, now)


def test_a_ticket_opened_from_a_conversation_is_routed_and_says_why(engine: Engine, workspace: int) -> None:
    seed_order(engine, workspace)
    cid = conversation(engine, workspace, "订单3312345678901的快递三天没动了", "shipping_logistics")
    ticket = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="快递三天没动",
        conversation_id=cid, source="conversation", actor="user:agent@qimu.cn", now=T0,
    )  # fmt: skip
    assert ticket["queue"] == "物流"
    assert ticket["routing_rule"] == "物流快递"
    assert "intent=shipping_logistics" in ticket["routing_explanation"]
    assert ticket["order_id"] == "3312345678901"
    assert ticket["customer_id"] is not None
    history = view(engine, workspace, ticket["id"])["history"]
    assert [h["action"] for h in history] == ["created", "routed"]
    assert history[1]["new"] == "物流" and history[1]["reason"] == ticket["routing_explanation"]


def test_sla_due_times_skip_weekends_public_holidays_and_work_on_make_up_days(engine: Engine, workspace: int) -> None:
    run(engine, tickets.save_settings, workspace, {"hours": {"mon-fri": "09:00-18:00"}}, T0)
    friday = datetime(2026, 11, 20, 17, 30, tzinfo=SH)
    weekend = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="周五傍晚的工单",
        source="api", actor="api", now=friday,
    )  # fmt: skip
    assert weekend["first_response_due_at"] == datetime(2026, 11, 23, 9, 30, tzinfo=SH)  # Monday
    new_year_eve = datetime(2025, 12, 31, 17, 30, tzinfo=SH)
    holiday = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="元旦前的工单",
        source="api", actor="api", now=new_year_eve,
    )  # fmt: skip
    # 1 and 2 January are days off, Saturday 3 January too; Sunday 4 January 2026 is a 调休 working day.
    assert holiday["first_response_due_at"] == datetime(2026, 1, 4, 9, 30, tzinfo=SH)
    clocks = {c["metric"]: c for c in view(engine, workspace, holiday["id"], new_year_eve)["sla"]}
    assert clocks["first_response"]["explanation"].endswith("due 2026-01-04 09:30 Asia/Shanghai")


def test_a_transfer_keeps_the_whole_history_and_needs_a_reason(engine: Engine, workspace: int) -> None:
    ticket = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="手柄摇杆漂移",
        category="质量", source="api", actor="api", now=T0,
    )  # fmt: skip
    tid = ticket["id"]
    run(engine, tickets.change_ticket, workspace, tid, actor="user:q@qimu.cn", now=T0, assignee="user:q@qimu.cn")
    with pytest.raises(InvalidInput):
        run(engine, tickets.transfer_ticket, workspace, tid, to_queue="财务", reason=" ", actor="x", now=T0)
    later = T0 + timedelta(hours=1)
    moved = run(
        engine, tickets.transfer_ticket, workspace, tid, to_queue="财务", reason="客户要求退款",
        actor="user:q@qimu.cn", now=later,
    )  # fmt: skip
    assert (moved["queue"], moved["assignee"]) == ("财务", None)
    actions = [(h["action"], h["old"], h["new"]) for h in view(engine, workspace, tid)["history"]]
    assert actions == [
        ("created", None, "售后"),
        ("routed", "售后", "质量"),
        ("assigned", None, "user:q@qimu.cn"),
        ("transferred", "质量", "财务"),
        ("assigned", "user:q@qimu.cn", None),
    ]
    with pytest.raises(InvalidInput):
        run(engine, tickets.transfer_ticket, workspace, tid, to_queue="火星", reason="r", actor="x", now=later)


def test_resolve_and_reopen_run_the_resolution_clock_again(engine: Engine, workspace: int) -> None:
    tid = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="发票", source="api", actor="api", now=T0
    )["id"]
    with pytest.raises(Conflict):
        run(engine, tickets.reopen_ticket, workspace, tid, actor="a", now=T0)
    done = run(engine, tickets.resolve_ticket, workspace, tid, actor="a", now=T0 + timedelta(hours=1), reason="已开")
    assert done["status"] == "resolved" and done["resolved_at"] is not None and done["sla_check_at"] is None
    again = run(engine, tickets.reopen_ticket, workspace, tid, actor="a", now=T0 + timedelta(hours=2), reason="抬头错")
    assert again["status"] == "open" and again["resolved_at"] is None and again["sla_check_at"] is not None


def test_a_change_made_on_a_stale_copy_is_refused(engine: Engine, workspace: int) -> None:
    tid = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="改地址", source="api", actor="api", now=T0
    )["id"]
    with SqlUnitOfWork(engine) as uow:
        row = uow.tickets.ticket(workspace, tid)
    run(engine, tickets.change_ticket, workspace, tid, actor="a", now=T0, priority="high")
    with SqlUnitOfWork(engine) as uow:
        assert not uow.tickets.update_ticket(tid, row["version"], {"priority": "low"})


def test_a_breach_escalates_once_even_when_two_job_runs_overlap(engine: Engine, workspace: int) -> None:
    tid = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="一直没人理", source="api",
        actor="api", now=T0, priority="normal",
    )  # fmt: skip
    run(engine, tickets.change_ticket, workspace, tid["id"], actor="user:a", now=T0, assignee="user:a")
    late = T0 + timedelta(days=10)  # far past first response and resolution
    start = threading.Barrier(2)
    results: list[int] = []

    def job() -> None:
        start.wait()
        with SqlUnitOfWork(engine) as uow:
            results.append(tickets.escalate_due(uow, late))
            uow.commit()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = run(engine, tickets.escalate_due, late + timedelta(hours=1))
    assert sorted(results) == [0, 4] and again == 0  # notify on first response; raise, notify, reassign on resolution
    shown = view(engine, workspace, tid["id"], late)
    assert shown["ticket"]["priority"] == "high"
    assert shown["ticket"]["assignee"] is None
    assert shown["ticket"]["sla_state"] == "breached"
    assert [h["new"] for h in shown["history"] if h["action"] == "escalated"] == [
        "notify_supervisor",
        "raise_priority",
        "notify_supervisor",
        "reassign",
    ]
    with SqlUnitOfWork(engine) as uow:
        notes = uow.tickets.notifications(workspace)
    assert len(notes) == 2 and {n["recipient"] for n in notes} == {"主管"}
    assert "breached" in notes[0]["reason"]


def test_one_workspace_never_reads_or_changes_anothers_tickets(engine: Engine, workspace: int) -> None:
    tid = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="王小明的工单", source="api",
        actor="api", now=T0,
    )["id"]  # fmt: skip
    with SqlUnitOfWork(engine) as uow:
        other = accounts.create_workspace(uow.accounts, "other")
        uow.commit()
    with pytest.raises(NotFound):
        view(engine, other, tid)
    with pytest.raises(NotFound):
        run(engine, tickets.resolve_ticket, other, tid, actor="x", now=T0)
    with SqlUnitOfWork(engine) as uow:
        assert uow.tickets.list_tickets(other) == []
    seed_order(engine, workspace)
    cid = conversation(engine, workspace, "在吗", "other")
    with pytest.raises(NotFound):
        run(engine, tickets.open_ticket, other, customer_id=None, subject="x", conversation_id=cid,
            source="api", actor="x", now=T0)  # fmt: skip


def test_an_answer_in_the_linked_conversation_stops_the_first_response_clock(engine: Engine, workspace: int) -> None:
    cid = conversation(engine, workspace, "发票什么时候开", "payment_invoice")
    tid = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="开发票", conversation_id=cid,
        source="conversation", actor="user:a", now=T0,
    )["id"]  # fmt: skip
    answered = T0 + timedelta(minutes=20)
    run(engine, inbox.reply, workspace, cid, "今天下午开好", "user:a", now=answered)
    run(engine, tickets.escalate_due, T0 + timedelta(days=10))
    shown = view(engine, workspace, tid, T0 + timedelta(days=10))
    assert shown["ticket"]["first_response_at"] == answered
    clocks = {c["metric"]: c["state"] for c in shown["sla"]}
    assert clocks["first_response"] == "met" and clocks["resolution"] == "breached"
    escalated = [h["old"] for h in shown["history"] if h["action"] == "escalated"]
    assert escalated and all(rule.startswith("resolution") for rule in escalated)


def test_a_ticket_follows_its_customer_into_a_merge_and_back_out_of_it(engine: Engine, workspace: int) -> None:
    def identify(key: str, at: datetime, *ids: Identifier) -> None:
        event = Event(source="crm", external_id=key, type="identify", occurred_at=at, identifiers=ids)
        with SqlUnitOfWork(engine) as uow:
            ingest_events(uow.ingest, workspace, [event], projections=uow.projections())
            uow.commit()

    phone, nick = Identifier("phone", "+8613800138000"), Identifier("tmall_nick", "小鹿")
    identify("member", T0 - timedelta(days=30), phone)
    cid = conversation(engine, workspace, "退款怎么还没到", "return_refund")
    ticket = run(
        engine, tickets.open_ticket, workspace, customer_id=None, subject="退款", conversation_id=cid,
        source="conversation", actor="api", now=T0,
    )  # fmt: skip
    buyer_alone = ticket["customer_id"]
    identify("link", T0 + timedelta(hours=1), phone, nick)
    merged = view(engine, workspace, ticket["id"])["ticket"]["customer_id"]
    assert merged != buyer_alone, "the buyer's ticket moved to the member who holds the phone"
    with engine.connect() as conn:
        merge_id = conn.execute(select(merges.c.id).where(merges.c.workspace_id == workspace)).scalar_one()
    with SqlUnitOfWork(engine) as uow:
        unmerge(uow, workspace, merge_id, actor="test")
        uow.commit()
    assert view(engine, workspace, ticket["id"])["ticket"]["customer_id"] == buyer_alone
