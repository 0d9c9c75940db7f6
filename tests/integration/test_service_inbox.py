"""The inbox on a real database: messages are stored once, in time order, on the unified customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order
from liuyu.services import accounts, inbox
from liuyu.services.ingest import ingest_events
from liuyu.storage.tables import events
from liuyu.storage.uow import SqlUnitOfWork

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def quiet(texts: list[str]) -> list[dict[str, Any] | None]:
    """Stands in for the text models in tests that are not about analysis."""
    return [{"anger": "none", "escalation": "none", "sentiment": None, "intent": None, "entities": []} for _ in texts]


def message(n: int, text: str = "在吗", *, at: datetime | None = None, key: str = "c1", **sender: str) -> Any:
    body = {
        "message_id": f"m{n}",
        "conversation_key": key,
        "text": text,
        "sent_at": (at or T0 + timedelta(minutes=n)).isoformat(),
        "sender": sender or {"tmall_nick": "小鹿"},
    }
    return inbox.parse_message("tmall", body)


@pytest.fixture
def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return ws


def receive(engine: Engine, ws: int, items: list[Any], analyzer: Any = quiet) -> inbox.ReceiveReport:
    with SqlUnitOfWork(engine) as uow:
        report = inbox.receive_messages(uow, ws, items, analyzer=analyzer)
        uow.commit()
    return report


def view(engine: Engine, ws: int, conversation_id: int) -> dict[str, Any]:
    with SqlUnitOfWork(engine) as uow:
        return inbox.conversation_view(uow, ws, conversation_id)


def test_a_message_delivered_twice_is_stored_once(engine: Engine, workspace: int) -> None:
    first = receive(engine, workspace, [message(1)])
    again = receive(engine, workspace, [message(1), message(1)])
    assert (first.stored, again.stored, again.duplicate) == (1, 0, 2)
    assert len(view(engine, workspace, first.conversations[0])["messages"]) == 1


def test_messages_arriving_out_of_order_are_shown_in_time_order(engine: Engine, workspace: int) -> None:
    late = receive(engine, workspace, [message(3, "第三句")])
    receive(engine, workspace, [message(1, "第一句"), message(2, "第二句")])
    texts = [m["text"] for m in view(engine, workspace, late.conversations[0])["messages"]]
    assert texts == ["第一句", "第二句", "第三句"]
    assert view(engine, workspace, late.conversations[0])["conversation"]["last_message_at"] == T0 + timedelta(
        minutes=3
    )


def test_a_message_lands_on_the_unified_customer_and_in_the_event_log(engine: Engine, workspace: int) -> None:
    known = Event(
        source="crm",
        external_id="member-1",
        type="identify",
        occurred_at=T0 - timedelta(days=30),
        identifiers=(Identifier("phone", "+8613800138000"), Identifier("tmall_nick", "小鹿")),
    )
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, workspace, [known])
        customer = uow.service.event_customers(workspace, [known.key])[known.key]
        uow.commit()
    report = receive(engine, workspace, [message(1)])
    assert view(engine, workspace, report.conversations[0])["conversation"]["customer_id"] == customer
    with engine.connect() as conn:
        logged = conn.execute(
            select(events.c.name, events.c.customer_id).where(events.c.source == "service.tmall")
        ).all()
    assert [(row.name, row.customer_id) for row in logged] == [("message_received", customer)]


def test_a_conversation_is_linked_to_the_order_its_text_names(engine: Engine, workspace: int) -> None:
    order = Order(platform="tmall", order_id="3312345678901", status="paid", total=Decimal("299"), placed_at=T0)
    placed = Event(
        source="tmall",
        external_id="3312345678901:placed",
        type="order_placed",
        occurred_at=T0,
        identifiers=(Identifier("tmall_nick", "别人"),),
        order=order,
    )
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, workspace, [placed])
        uow.commit()
    unknown = receive(engine, workspace, [message(1, "订单 9999999999999 怎么样了", key="c0")])
    named = receive(engine, workspace, [message(2, "我的订单3312345678901还没发货")])
    assert view(engine, workspace, unknown.conversations[0])["conversation"]["order_id"] is None
    assert view(engine, workspace, named.conversations[0])["conversation"]["order_id"] == "3312345678901"


def test_inbound_texts_are_analysed_and_angry_customers_come_first(engine: Engine, workspace: int) -> None:
    calm = receive(engine, workspace, [message(1, "谢谢，很满意", key="calm")], analyzer=inbox.nlp_analyzer)
    angry = receive(
        engine, workspace, [message(0, "你们这是欺诈！我要投诉到消协！", key="angry")], analyzer=inbox.nlp_analyzer
    )
    stored = view(engine, workspace, angry.conversations[0])["messages"][0]["analysis"]
    assert stored["sentiment"]["label"] == "negative"
    assert inbox.heat(stored) > 0
    with SqlUnitOfWork(engine) as uow:
        order = [row["id"] for row in uow.service.inbox(workspace)]
    assert order == [angry.conversations[0], calm.conversations[0]]


def test_messages_are_kept_without_analysis_when_the_text_models_are_missing(
    engine: Engine, workspace: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import liuyu.nlp.analyze

    def missing() -> None:
        raise FileNotFoundError("sentiment model not installed")

    monkeypatch.setattr(liuyu.nlp.analyze, "load_builtin_sentiment_model", missing)
    report = receive(engine, workspace, [message(1)], analyzer=inbox.nlp_analyzer)
    assert report.stored == 1
    assert view(engine, workspace, report.conversations[0])["messages"][0]["analysis"] is None


def test_a_customer_writing_again_reopens_a_resolved_conversation(engine: Engine, workspace: int) -> None:
    first = receive(engine, workspace, [message(1)])
    with SqlUnitOfWork(engine) as uow:
        inbox.change_conversation(uow, workspace, first.conversations[0], status="resolved")
        uow.commit()
    receive(engine, workspace, [message(2, "还有一个问题")])
    assert view(engine, workspace, first.conversations[0])["conversation"]["status"] == "open"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conversation_key": "c", "text": "hi", "sent_at": "2026-03-01T10:00:00Z"}, "message_id"),
        ({"message_id": "m", "conversation_key": "c", "text": "hi", "sent_at": "2026-03-01 10:00"}, "sent_at"),
        ({"message_id": "m", "conversation_key": "c", "text": "", "sent_at": "2026-03-01T10:00:00Z"}, "text"),
        (
            {"message_id": "m", "conversation_key": "c", "text": "hi", "sent_at": 1, "sender": {"phone": "12"}},
            "sender.phone",
        ),
    ],
)
def test_a_message_breaking_the_contract_is_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        inbox.parse_message("jd", body)
    assert caught.value.field == field


def _identify(engine: Engine, ws: int, external_id: str, at: datetime, *identifiers: Identifier) -> None:
    event = Event(source="crm", external_id=external_id, type="identify", occurred_at=at, identifiers=identifiers)
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, ws, [event], projections=uow.projections())
        uow.commit()


def _customer_of(engine: Engine, ws: int, conversation_id: int) -> int | None:
    return view(engine, ws, conversation_id)["conversation"]["customer_id"]  # type: ignore[no-any-return]


def test_a_conversation_follows_its_customer_through_a_merge_an_undo_and_a_rebuild(
    engine: Engine, workspace: int
) -> None:
    from liuyu.services.identity import rebuild, unmerge
    from liuyu.storage.tables import merges

    phone = Identifier("phone", "+8613800138000")
    _identify(engine, workspace, "member-1", T0 - timedelta(days=30), phone)
    report = receive(engine, workspace, [message(1)])
    conversation = report.conversations[0]
    buyer_alone = _customer_of(engine, workspace, conversation)
    _identify(engine, workspace, "member-2", T0 + timedelta(hours=1), phone, Identifier("tmall_nick", "小鹿"))
    member = _customer_of(engine, workspace, conversation)
    assert member != buyer_alone, "the platform-only buyer joined the member who holds the phone"

    rebuild(lambda: SqlUnitOfWork(engine), workspace)
    assert _customer_of(engine, workspace, conversation) == member
    assert len(view(engine, workspace, conversation)["messages"]) == 1, "a rebuild keeps the inbox"

    with engine.connect() as conn:
        merge_id = conn.execute(select(merges.c.id).where(merges.c.workspace_id == workspace)).scalar_one()
    with SqlUnitOfWork(engine) as uow:
        unmerge(uow, workspace, merge_id, actor="test")
        uow.commit()
    assert _customer_of(engine, workspace, conversation) == buyer_alone
