"""A batch of sends (a journey step's customers) is decided exactly as the same sends one by one,
with a number of queries that does not grow with the batch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, select

from liuyu.services import messaging_setup
from liuyu.services.ingest import ingest_events
from liuyu.services.messaging import SendDecision, SendRequest, request_send, request_send_many
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.messaging_fixtures import T0, Shop, open_shop, person

EVENING = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai (quiet), 15:30 in Berlin


def _shop(engine: Engine, slug: str = "qimu") -> tuple[Shop, dict[str, int]]:
    """alice opted in (SMS, email); bob opted out; carol's phone suppressed; dave lives in Berlin;
    a cap of 2 marketing messages a week; bob already has a decision under key ``old``."""
    shop = open_shop(engine, slug=slug)
    with SqlUnitOfWork(engine) as uow:
        dave = replace(person("dave", phone="13700000004"), traits={"timezone": "Europe/Berlin"})
        ingest_events(uow.ingest, shop.ws, [person("carol", phone="13600000003"), dave], now=T0)
        messaging_setup.suppress(uow, shop.ws, "phone", "13600000003", reason="投诉骚扰", actor="admin", now=T0)
        messaging_setup.change_guardrails(uow, shop.ws, {"caps": [{"limit": 2, "days": 7}]})
        uow.commit()
    with engine.connect() as conn:
        phones = dict(
            conn.execute(
                select(t.identifiers.c.value, t.identifiers.c.customer_id).where(
                    t.identifiers.c.workspace_id == shop.ws, t.identifiers.c.kind == "phone"
                )
            ).all()
        )
    who = {
        "alice": shop.alice,
        "bob": shop.bob,
        "carol": phones["+8613600000003"],
        "dave": phones["+8613700000004"],
        "nobody": 987654321,
    }
    for name in ("alice", "carol", "dave"):
        shop.opt_in(who[name])
    shop.opt_in(shop.alice, "email")
    shop.opt_in(shop.bob, status="opt_out")
    shop.send(shop.bob, "old", purpose="transactional")
    return shop, who


# (customer, channel, purpose, idempotency key)
SCENARIO = [
    ("alice", "sms", "marketing", "a1"),  # quiet hours: deferred
    ("bob", "sms", "marketing", "b1"),  # opted out
    ("alice", "email", "marketing", "a2"),  # deferred; the cap's second slot
    ("alice", "sms", "marketing", "a3"),  # the batch's own sends reach the cap
    ("carol", "sms", "marketing", "c1"),  # suppressed
    ("alice", "sms", "marketing", "a1"),  # the same key again: the first decision
    ("bob", "sms", "transactional", "old"),  # a key decided before the batch
    ("dave", "sms", "marketing", "d1"),  # 15:30 in Berlin: goes now
    ("bob", "email", "service", "b2"),  # no email address
    ("nobody", "sms", "marketing", "n1"),  # unknown customer
    ("alice", "sms", "transactional", "a4"),  # transactional ignores the cap
]


def _requests(shop: Shop, who: dict[str, int]) -> list[SendRequest]:
    return [
        SendRequest(
            shop.ws, who[name], channel, "复购提醒", {"name": "小鹿", "coupon": "9折"}, purpose, "journey:1", key
        )
        for name, channel, purpose, key in SCENARIO
    ]


def _seen(shop: Shop, decisions: list[SendDecision], who: dict[str, int]) -> list[Any]:
    """Decisions and stored rows without the ids that differ between workspaces."""
    outbox_of = {d.outbox_id: i for i, d in enumerate(decisions) if d.outbox_id}
    shown = [(d.queued, d.reason, d.not_before, outbox_of.get(d.outbox_id)) for d in decisions]
    names = {v: k for k, v in who.items()}
    with SqlUnitOfWork(shop.engine) as uow:
        stored = uow.messaging.sends(shop.ws)
    rows = sorted(
        (names[s["customer_id"]], s["idempotency_key"], s["decision"], s["reason"], s["detail"], s["not_before"])
        for s in stored
    )
    return [shown, rows]


def test_a_batch_decides_exactly_as_one_by_one_calls(engine: Engine) -> None:
    single, single_who = _shop(engine)
    with SqlUnitOfWork(engine) as uow:
        one_by_one = [request_send(uow, r, now=EVENING) for r in _requests(single, single_who)]
        uow.commit()
    batch, batch_who = _shop(engine, "qimu-batch")
    with SqlUnitOfWork(engine) as uow:
        together = request_send_many(uow, _requests(batch, batch_who), now=EVENING)
        uow.commit()

    assert _seen(batch, together, batch_who) == _seen(single, one_by_one, single_who)
    reasons = [(d.queued, d.reason) for d in together]
    assert reasons == [
        (True, "quiet_hours"),
        (False, "opted_out"),
        (True, "quiet_hours"),
        (False, "frequency_cap"),
        (False, "suppressed"),
        (True, "quiet_hours"),
        (True, None),
        (True, None),
        (False, "no_address"),
        (False, "unknown_customer"),
        (True, None),
    ]
    assert together[5] == together[0] and together[0].not_before == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert len(batch.sends(batch.alice)) == 4  # a1 once, a2, a3, a4


def test_a_bigger_batch_runs_no_more_queries(engine: Engine) -> None:
    shop, who = _shop(engine)
    counted: list[str] = []

    def count(*args: Any) -> None:
        counted.append(args[2])

    def statements(keys: str, n: int) -> int:
        requests = [
            SendRequest(
                shop.ws, who[name], "sms", "复购提醒", {"name": "鹿", "coupon": "9折"}, "marketing", "j", f"{keys}{i}"
            )
            for i in range(n)
            for name in ("alice", "bob", "carol", "dave")
        ]
        counted.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            with SqlUnitOfWork(engine) as uow:
                request_send_many(uow, requests, now=T0)
                uow.rollback()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    assert statements("small", 1) == statements("big", 25) <= 21  # one send alone took 17
