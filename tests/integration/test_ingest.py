"""The ingestion path on SQLite and PostgreSQL: once-only, identity, orders, traits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.create_workspace("qimu", "栖木", T0)
        uow.commit()
    return ws


def ingest(engine: Engine, ws: int, events: list[Event]):
    with SqlUnitOfWork(engine) as uow:
        report = ingest_events(uow.ingest, ws, events, now=T0)
        uow.commit()
    return report


def count(engine: Engine, table: t.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def order_event(ext: str, kind: str, order_id: str, ids: list[tuple[str, str]], at: datetime, **order_kw) -> Event:
    status = {"order_placed": "pending_payment", "order_paid": "paid", "order_refunded": "refunded"}[kind]
    order = Order(
        platform="tmall",
        order_id=order_id,
        status=status,
        total=Decimal("299.00"),
        paid=order_kw.get("paid"),
        refunded=order_kw.get("refunded", Decimal("0")),
        placed_at=T0,
        paid_at=order_kw.get("paid_at"),
        lines=(OrderLine(title="每日坚果 30袋", quantity=2, sku="NUT-30", category="坚果", amount=Decimal("299.00")),),
    )
    identifiers = tuple(i for k, v in ids if (i := make_identifier(k, v)) is not None)
    return Event(
        source="tmall",
        external_id=ext,
        type=kind,
        occurred_at=at,
        channel="tmall",
        identifiers=identifiers,
        order=order,
        traits={"name": "张**", "city": "杭州"},
    )


def test_resending_a_batch_changes_no_count(engine: Engine) -> None:
    ws = workspace(engine)
    batch = [
        order_event("1001:placed", "order_placed", "1001", [("tmall_nick", "黑武士玩家")], T0),
        order_event(
            "1001:paid",
            "order_paid",
            "1001",
            [("tmall_nick", "黑武士玩家")],
            T0 + timedelta(minutes=5),
            paid=Decimal("299.00"),
            paid_at=T0 + timedelta(minutes=5),
        ),
    ]
    first = ingest(engine, ws, batch)
    counts = [count(engine, x) for x in (t.events, t.customers, t.identifiers, t.orders, t.order_lines)]
    second = ingest(engine, ws, batch)
    assert (first.stored, first.duplicate) == (2, 0)
    assert (second.stored, second.duplicate) == (0, 2)
    assert [count(engine, x) for x in (t.events, t.customers, t.identifiers, t.orders, t.order_lines)] == counts
    assert counts == [2, 1, 1, 1, 1]


def test_an_order_folds_its_lifecycle_and_traits_follow(engine: Engine) -> None:
    ws = workspace(engine)
    nick = [("tmall_nick", "黑武士玩家")]
    paid_at = T0 + timedelta(minutes=5)
    ingest(
        engine,
        ws,
        [
            order_event("1:paid", "order_paid", "1", nick, paid_at, paid=Decimal("299.00"), paid_at=paid_at),
            order_event("1:placed", "order_placed", "1", nick, T0),
        ],
    )
    ingest(
        engine,
        ws,
        [
            order_event(
                "1:refunded:10000",
                "order_refunded",
                "1",
                nick,
                T0 + timedelta(days=3),
                paid=Decimal("299.00"),
                paid_at=paid_at,
                refunded=Decimal("100.00"),
            )
        ],
    )
    with engine.connect() as conn:
        order = conn.execute(select(t.orders)).mappings().one()
        traits = conn.execute(select(t.customer_traits)).mappings().one()
        customer = conn.execute(select(t.customers)).mappings().one()
    assert order["status"] == "refunded" and order["paid_fen"] == 29900 and order["refunded_fen"] == 10000
    assert order["paid_at"] == paid_at
    assert traits["order_count"] == 1 and traits["total_spent_fen"] == 19900
    assert traits["categories"] == ["坚果"] and traits["channels"] == ["tmall"]
    assert customer["name"] == "张**" and customer["city"] == "杭州"


def test_a_phone_seen_with_a_marketplace_id_joins_the_histories(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [order_event("9:placed", "order_placed", "9", [("tmall_nick", "nick-9")], T0)])
    ingest(
        engine,
        ws,
        [
            Event(
                source="app",
                external_id="login-1",
                type="login",
                occurred_at=T0 + timedelta(days=1),
                channel="app",
                identifiers=(
                    make_identifier("phone", "13800138000", verified=True),
                    make_identifier("app_user_id", "u-9"),
                ),
            ),
        ],
    )
    assert count(engine, t.customers) == 2
    ingest(
        engine,
        ws,
        [
            Event(
                source="crm",
                external_id="link-1",
                type="identify",
                occurred_at=T0 + timedelta(days=2),
                identifiers=(make_identifier("phone", "+86 138 0013 8000"), make_identifier("tmall_nick", "nick-9")),
            ),
        ],
    )
    with engine.connect() as conn:
        live = conn.execute(select(t.customers.c.id).where(t.customers.c.merged_into.is_(None))).scalars().all()
        merge = conn.execute(select(t.merges)).mappings().one()
        owners = set(conn.execute(select(t.events.c.customer_id)).scalars())
        order_owner = conn.execute(select(t.orders.c.customer_id)).scalar_one()
        traits = (
            conn.execute(select(t.customer_traits).where(t.customer_traits.c.customer_id == live[0])).mappings().one()
        )
    assert len(live) == 1
    assert owners == {live[0]} and order_owner == live[0]
    assert merge["rule"] == "attached_tmall_nick" and merge["evidence"]["event"]["external_id"] == "link-1"
    assert traits["event_count"] == 3 and traits["channels"] == ["app", "other", "tmall"]


def test_undoing_a_merge_gives_each_side_its_own_history_back(engine: Engine) -> None:
    from liuyu.services.identity import unmerge

    ws = workspace(engine)
    ingest(engine, ws, [order_event("9:placed", "order_placed", "9", [("tmall_nick", "nick-9")], T0)])
    ingest(
        engine,
        ws,
        [
            Event(
                source="app",
                external_id="login-1",
                type="login",
                occurred_at=T0 + timedelta(days=1),
                channel="app",
                identifiers=(make_identifier("phone", "13800138000", verified=True),),
            ),
            Event(
                source="crm",
                external_id="link-1",
                type="identify",
                occurred_at=T0 + timedelta(days=2),
                identifiers=(make_identifier("phone", "13800138000"), make_identifier("tmall_nick", "nick-9")),
            ),
        ],
    )
    with engine.connect() as conn:
        merge_id, winner, loser = conn.execute(select(t.merges.c.id, t.merges.c.winner_id, t.merges.c.loser_id)).one()
    with SqlUnitOfWork(engine) as uow:
        unmerge(uow, ws, merge_id, actor="user:admin@qimu.cn", now=T0)
        uow.commit()
    with engine.connect() as conn:
        live = conn.execute(select(t.customers.c.id).where(t.customers.c.merged_into.is_(None))).scalars().all()
        owner = dict(conn.execute(select(t.events.c.external_id, t.events.c.customer_id)).all())
        order_owner = conn.execute(select(t.orders.c.customer_id)).scalar_one()
        undone = conn.execute(select(t.merges.c.undone_at).where(t.merges.c.id == merge_id)).scalar_one()
    assert sorted(live) == sorted([winner, loser])
    assert owner["9:placed"] == winner and order_owner == winner
    assert owner["login-1"] == loser and owner["link-1"] == loser
    assert undone is not None
    # The separation holds for later events too.
    ingest(
        engine,
        ws,
        [
            Event(
                source="crm",
                external_id="link-2",
                type="identify",
                occurred_at=T0 + timedelta(days=3),
                identifiers=(make_identifier("phone", "13800138000"), make_identifier("tmall_nick", "nick-9")),
            )
        ],
    )
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(t.customers).where(t.customers.c.merged_into.is_(None))
            ).scalar_one()
            == 2
        )


def test_rebuild_from_the_log_gives_the_same_digest(engine: Engine) -> None:
    from liuyu.services.identity import rebuild

    ws = workspace(engine)
    nick = [("tmall_nick", "黑武士玩家")]
    ingest(
        engine,
        ws,
        [
            order_event("1:placed", "order_placed", "1", nick, T0),
            order_event(
                "1:paid",
                "order_paid",
                "1",
                nick,
                T0 + timedelta(minutes=5),
                paid=Decimal("299.00"),
                paid_at=T0 + timedelta(minutes=5),
            ),
            order_event("2:placed", "order_placed", "2", [("tmall_nick", "other")], T0),
        ],
    )
    ingest(
        engine,
        ws,
        [
            Event(
                source="crm",
                external_id="x",
                type="identify",
                occurred_at=T0 + timedelta(days=1),
                identifiers=(
                    make_identifier("email", "a@example.com"),
                    make_identifier("tmall_nick", "黑武士玩家"),
                    make_identifier("phone", "139****0000"),
                ),
            )
        ],
    )
    with SqlUnitOfWork(engine) as uow:
        before = uow.replay.digest(ws)
    replayed = rebuild(lambda: SqlUnitOfWork(engine), ws, now=T0)
    with SqlUnitOfWork(engine) as uow:
        after = uow.replay.digest(ws)
    assert replayed == 4
    assert before == after


def test_an_identifier_first_seen_unverified_becomes_verified(engine: Engine) -> None:
    ws = workspace(engine)
    at = T0
    first = Event(
        source="crm",
        external_id="a",
        type="identify",
        occurred_at=at,
        identifiers=(make_identifier("phone", "13800138000"),),
    )
    second = Event(
        source="app",
        external_id="b",
        type="login",
        occurred_at=at,
        channel="app",
        identifiers=(make_identifier("phone", "13800138000", verified=True),),
    )
    ingest(engine, ws, [first])
    ingest(engine, ws, [second])
    with engine.connect() as conn:
        assert conn.execute(select(t.identifiers.c.verified)).scalar_one() is True
