"""The customer card beside a conversation: tier and points from the member center, the last five
orders on any platform with their status and when they reached it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import STATUS_OF_EVENT, Order, OrderLine
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.test_console_pages import login
from tests.api.test_conversations_api import channel_secret, chat, post_signed
from tests.api.test_loyalty_api import PROGRAM

PHONE = "13900000002"
NOW = datetime.now(UTC).replace(microsecond=0)
EVENT_OF_STATUS = {status: kind for kind, status in STATUS_OF_EVENT.items()}


def order_event(platform: str, order_id: str, status: str, amount: str, placed: datetime, at: datetime) -> Event:
    """What a platform reports when its order reaches ``status`` at ``at``."""
    total = Decimal(amount)
    snapshot = Order(
        platform=platform,
        order_id=order_id,
        status=status,
        total=total,
        paid=None if status == "pending_payment" else total,
        refunded=total if status == "refunded" else Decimal("0.00"),
        placed_at=placed,
        paid_at=None if status == "pending_payment" else placed,
        shipped_at=at if status == "shipped" else None,
        completed_at=at if status == "completed" else None,
        refunded_at=at if status == "refunded" else None,
        lines=(OrderLine(title="黑武士-手柄", sku="PAD-1", category="手柄", amount=total),),
    )
    identifier = make_identifier("phone", PHONE)
    assert identifier is not None
    return Event(
        source=platform,
        external_id=f"{order_id}:{status}",
        type=EVENT_OF_STATUS[status],
        occurred_at=at,
        channel=platform,
        identifiers=(identifier,),
        order=snapshot,
    )


def ingest(api: Api, events: list[Event]) -> None:
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        ingest_events(uow.ingest, api.qimu.id, events, projections=uow.projections())
        uow.commit()


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


#: (platform, order id, amount, placed days ago, [(status, days ago)]): six orders, the oldest drops off the card.
ORDERS = [
    ("miniprogram", "MP-1", "800.00", 10, [("paid", 10)]),
    ("tmall", "TM-1", "99.00", 5, [("paid", 5), ("shipped", 4)]),
    ("jd", "JD-1", "120.00", 4, [("paid", 4), ("completed", 2)]),
    ("douyin", "DY-1", "59.90", 3, [("paid", 3), ("refunded", 1)]),
    ("tmall", "TM-2", "35.00", 2, [("paid", 2)]),
    ("tmall", "TM-3", "18.80", 1, [("pending_payment", 1)]),
]


def seed_card(api: Api) -> dict[str, Any]:
    """A member with six orders writes on Tmall; a stranger with none writes too."""
    admin = api.headers(api.qimu.admin_key)
    assert api.client.put("/api/v1/loyalty/program", json={"yaml": PROGRAM}, headers=admin).status_code == 200
    ingest(
        api,
        [
            order_event(platform, order_id, status, amount, days(placed), days(at))
            for platform, order_id, amount, placed, changes in ORDERS
            for status, at in changes
        ],
    )
    secret = channel_secret(api, api.qimu.id)
    member = post_signed(api, secret, chat(1, "手柄什么时候到", key="xiaolu", tmall_nick="小鹿", phone=PHONE))
    stranger = post_signed(api, secret, chat(2, "在吗", key="aqing", tmall_nick="阿青"))
    return {
        "conversation": member.json()["conversations"][0],
        "stranger": stranger.json()["conversations"][0],
        "secret": secret,
    }


def test_the_card_shows_tier_points_and_the_last_five_orders_with_their_status(api: Api) -> None:
    seeded = seed_card(api)
    agent = api.headers(api.qimu.agent_key)
    shown = api.client.get(f"/api/v1/conversations/{seeded['conversation']}", headers=agent)
    assert shown.status_code == 200, shown.text
    card = shown.json()["customer"]
    assert card["phone"] == "139****0002" and PHONE not in shown.text, "masked for an agent as before"

    center = api.client.get(f"/api/v1/members/{card['id']}", headers=agent).json()
    member = card["member"]
    assert member["tier"] == {"code": "GOLD", "name": "金卡"}
    assert member["points"] == center["points"] and member["points"]["available"] > 0
    assert member["next_expiry"] == center["next_expiry"] and member["url"] == f"/console/members/{card['id']}"

    rows = [(o["platform"], o["order_id"], o["status"], o["total_fen"], o["refunded_fen"]) for o in card["orders"]]
    assert rows == [
        ("tmall", "TM-3", "pending_payment", 1880, 0),
        ("tmall", "TM-2", "paid", 3500, 0),
        ("douyin", "DY-1", "refunded", 5990, 5990),
        ("jd", "JD-1", "completed", 12000, 0),
        ("tmall", "TM-1", "shipped", 9900, 0),
    ], "newest placed first, across platforms, five of six"
    since = {o["order_id"]: datetime.fromisoformat(o["status_at"]) for o in card["orders"]}
    assert since == {"TM-3": days(1), "TM-2": days(2), "DY-1": days(1), "JD-1": days(2), "TM-1": days(4)}
    assert {o["url"] for o in card["orders"]} == {f"/console/customers/{card['id']}#orders"}


def test_the_status_follows_the_order_and_a_stranger_is_not_a_member(api: Api) -> None:
    seeded = seed_card(api)
    agent = api.headers(api.qimu.agent_key)
    ingest(api, [order_event("tmall", "TM-1", "completed", "99.00", days(5), NOW)])
    card = api.client.get(f"/api/v1/conversations/{seeded['conversation']}", headers=agent).json()["customer"]
    [tm1] = [o for o in card["orders"] if o["order_id"] == "TM-1"]
    assert tm1["status"] == "completed" and datetime.fromisoformat(tm1["status_at"]) == NOW

    stranger = api.client.get(f"/api/v1/conversations/{seeded['stranger']}", headers=agent).json()["customer"]
    assert stranger["member"] is None and stranger["orders"] == []


def test_the_inbox_shows_the_card_in_chinese(api: Api) -> None:
    seeded = seed_card(api)
    login(api, "agent")
    html = api.client.get(f"/console/inbox?c={seeded['conversation']}").text
    card = html.split('id="customer-card"')[1].split('id="messages"')[0]
    assert "金卡" in card and "可用积分" in card and "近期订单" in card
    assert "已退款" in card and "已发货" in card and "待付款" in card and "抖音" in card
    assert "MP-1" not in card and PHONE not in card
    stranger = api.client.get(f"/console/inbox?c={seeded['stranger']}").text
    assert "非会员" in stranger.split('id="customer-card"')[1].split('id="messages"')[0]


def test_a_waiting_ticket_reads_waiting_not_the_points_word(api: Api) -> None:
    seeded = seed_card(api)
    admin = api.headers(api.qimu.admin_key)
    customer = api.client.get(f"/api/v1/conversations/{seeded['conversation']}", headers=admin).json()["customer"]
    ticket = {"subject": "等快递", "category": "物流", "customer_id": customer["id"]}
    ticket_id = api.client.post("/api/v1/tickets", json=ticket, headers=admin).json()["ticket"]["id"]
    changed = api.client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "pending"}, headers=admin)
    assert changed.status_code == 200, changed.text
    login(api, "agent")
    detail = api.client.get(f"/console/tickets/{ticket_id}").text
    assert "等待中" in detail.split('id="ticket-status"')[1].split("</span>")[0]
    listed = api.client.get("/console/tickets?status=pending").text
    assert "等待中" in listed and "待生效" not in listed
    inbox = api.client.get(f"/console/inbox?c={seeded['conversation']}").text
    row = inbox.split(f'data-ticket="{ticket_id}"')[1].split("</tr>")[0]
    assert "等待中" in row and "待生效" not in row
    assert "待生效积分" in inbox, "points keep their own word"
