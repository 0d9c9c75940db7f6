"""The member center kept current from the event log, on SQLite and PostgreSQL: earning, refunds, rebuild, merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.jobs.loyalty import run_due_everywhere
from liuyu.services import loyalty as svc
from liuyu.services.identity import rebuild, unmerge
from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.create_workspace("heiwushi", "黑武士", T0)
        uow.commit()
    return ws


def ingest(engine: Engine, ws: int, events: list[Event]) -> None:
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, ws, events, now=T0, projections=uow.projections())
        uow.commit()


def order(
    ext: str,
    order_id: str,
    ids: list[tuple[str, str]],
    paid: str,
    *,
    at: datetime = T0,
    refunded: str = "0",
    completed: datetime | None = None,
) -> Event:
    snapshot = Order(
        platform="tmall",
        order_id=order_id,
        status="completed" if completed else ("refunded" if Decimal(refunded) else "paid"),
        total=Decimal(paid),
        paid=Decimal(paid),
        refunded=Decimal(refunded),
        placed_at=at,
        paid_at=at,
        completed_at=completed,
        lines=(OrderLine(title="黑武士-手柄", quantity=1, sku="PAD-1", category="手柄", amount=Decimal(paid)),),
    )
    identifiers = tuple(i for k, v in ids if (i := make_identifier(k, v)) is not None)
    return Event(
        source="tmall",
        external_id=ext,
        type="order_paid",
        occurred_at=at,
        channel="tmall",
        identifiers=identifiers,
        order=snapshot,
    )


def card_of(engine: Engine, ws: int, customer_id: int) -> dict:
    with SqlUnitOfWork(engine) as uow:
        member = uow.loyalty.member(ws, customer_id)
    assert member is not None
    return member


def customer_of(engine: Engine, ws: int, order_id: str) -> int:
    with SqlUnitOfWork(engine) as uow:
        return {e["order_id"]: e["customer_id"] for e in _all_entries(uow, ws)}[order_id]


def _all_entries(uow: SqlUnitOfWork, ws: int) -> list[dict]:
    return uow.loyalty.entries(ws, uow.loyalty.all_customers(ws), limit=10_000)


ALICE = [("phone", "+8613800000001")]
BOB = [("phone", "+8613800000002")]


def test_a_paid_order_earns_pending_points_once_even_when_the_file_is_sent_again(engine: Engine) -> None:
    ws = workspace(engine)
    batch = [order("1:paid", "1", ALICE, "299.00")]
    ingest(engine, ws, batch)
    ingest(engine, ws, batch)
    member = card_of(engine, ws, customer_of(engine, ws, "1"))
    assert (member["pending"], member["available"], member["enrolled_by"]) == (299, 0, "first_order")
    with SqlUnitOfWork(engine) as uow:
        assert [e["kind"] for e in _all_entries(uow, ws)] == ["earn"]


def test_a_partial_refund_reverses_points_in_proportion(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [order("1:paid", "1", ALICE, "300.00")])
    ingest(engine, ws, [order("1:refunded:10000", "1", ALICE, "300.00", refunded="100.00")])
    ingest(engine, ws, [order("1:refunded:10000-again", "1", ALICE, "300.00", refunded="100.00")])
    member = card_of(engine, ws, customer_of(engine, ws, "1"))
    assert member["pending"] == 200


def test_a_refund_filed_before_its_payment_still_reverses_the_points(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [order("1:refunded:15000", "1", ALICE, "300.00", refunded="150.00")])
    ingest(engine, ws, [order("1:paid", "1", ALICE, "300.00")])
    assert card_of(engine, ws, customer_of(engine, ws, "1"))["pending"] == 150


def test_completed_orders_release_their_points_when_the_job_runs_after_the_window(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [order("1:done", "1", ALICE, "120.00", completed=T0 + timedelta(days=2))])
    customer = customer_of(engine, ws, "1")
    with SqlUnitOfWork(engine) as uow:
        assert svc.run_due(uow, ws, at=T0 + timedelta(days=5))["released"] == 0
        uow.commit()
    assert card_of(engine, ws, customer)["pending"] == 120
    with SqlUnitOfWork(engine) as uow:
        assert svc.run_due(uow, ws, at=T0 + timedelta(days=10))["released"] == 120
        uow.commit()
    member = card_of(engine, ws, customer)
    assert (member["pending"], member["available"]) == (0, 120)


BONUS_PROGRAM = """
code: HEIWUSHI
return_window_days: 7
tiers: [{code: MEMBER, threshold: 0}, {code: GOLD, threshold: 1000}]
rules:
  - {id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2026-01-01T00:00:00+08:00"}
  - {id: birthday, kind: birthday, points: 200, effective_from: "2026-01-01T00:00:00+08:00"}
  - {id: review, kind: review, points: 20, max_per_day: 1, effective_from: "2026-01-01T00:00:00+08:00"}
"""


def identify(ext: str, ids: list[tuple[str, str]], traits: dict, at: datetime = T0) -> Event:
    identifiers = tuple(i for k, v in ids if (i := make_identifier(k, v)) is not None)
    return Event(
        source="app",
        external_id=ext,
        type="identify",
        occurred_at=at,
        channel="app",
        identifiers=identifiers,
        traits=traits,
    )


def posted_review(ext: str, ids: list[tuple[str, str]], order_id: str, at: datetime) -> Event:
    identifiers = tuple(i for k, v in ids if (i := make_identifier(k, v)) is not None)
    return Event(
        source="app",
        external_id=ext,
        type="review_posted",
        occurred_at=at,
        channel="app",
        identifiers=identifiers,
        properties={"order_id": order_id, "rating": 5, "text": "好用"},
    )


def test_reviews_and_birthdays_earn_their_bonus_once_with_the_reason_on_the_entry(engine: Engine) -> None:
    ws = workspace(engine)
    with SqlUnitOfWork(engine) as uow:
        svc.set_program(uow, ws, BONUS_PROGRAM, actor="admin", at=T0)
        uow.commit()
    ingest(engine, ws, [order("1:paid", "1", ALICE, "100.00"), identify("id-1", ALICE, {"birthday": "1990-03-15"})])
    later = T0 + timedelta(days=1)
    ingest(engine, ws, [posted_review("r-1", ALICE, "1", later), posted_review("r-1b", ALICE, "1", later)])
    ingest(engine, ws, [posted_review("r-1", ALICE, "1", later)])  # the same review sent again
    alice = customer_of(engine, ws, "1")
    assert run_due_everywhere(engine, T0 + timedelta(days=8)) == 1  # the worker's job: one birthday bonus
    with SqlUnitOfWork(engine) as uow:  # the daily job again in the birthday month
        assert svc.run_due(uow, ws, at=T0 + timedelta(days=9))["birthday_bonuses"] == 0
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        bonuses = {e["key"]: e for e in _all_entries(uow, ws) if e["key"].startswith("bonus:")}
        card = svc.card(uow, ws, alice, at=T0 + timedelta(days=9))
    assert sorted(bonuses) == [f"bonus:birthday:{alice}:2026", "bonus:review:order:1"]
    review = bonuses["bonus:review:order:1"]["explanation"][0]
    assert (review["rule"], review["inputs"]["review"], review["points"]) == ("review", "app:r-1", 20)
    assert bonuses[f"bonus:birthday:{alice}:2026"]["explanation"][0]["inputs"]["birthday"] == "03-15"
    assert card["points"]["available"] == 220


def test_rebuild_gives_the_same_balances_lots_tiers_and_ledger(engine: Engine) -> None:
    ws = workspace(engine)
    with SqlUnitOfWork(engine) as uow:
        svc.set_program(uow, ws, BONUS_PROGRAM, actor="admin", at=T0)
        uow.commit()
    ingest(engine, ws, [order("1:done", "1", ALICE, "800.00", completed=T0)])
    ingest(engine, ws, [order("2:paid", "2", BOB, "50.00"), identify("id-1", ALICE, {"birthday": "1990-03-20"})])
    ingest(engine, ws, [posted_review("r-1", ALICE, "1", T0 + timedelta(days=1))])
    ingest(engine, ws, [posted_review("r-2", BOB, "2", T0 + timedelta(days=1))])
    alice = customer_of(engine, ws, "1")
    with SqlUnitOfWork(engine) as uow:
        assert svc.run_due(uow, ws, at=T0 + timedelta(days=8))["birthday_bonuses"] == 1
        svc.redeem(uow, ws, alice, points=300, request_id="RD-1", at=T0 + timedelta(days=9))
        svc.adjust(
            uow,
            ws,
            alice,
            points=50,
            adjustment_id="AJ-1",
            operator="运营小王",
            reason="补偿",
            at=T0 + timedelta(days=9),
        )
        uow.commit()
    ingest(engine, ws, [order("3:paid", "3", ALICE, "400.00", at=T0 + timedelta(days=10))])
    with SqlUnitOfWork(engine) as uow:
        before = uow.loyalty.digest(ws)
        balances = uow.loyalty.member(ws, alice)
    rebuild(lambda: SqlUnitOfWork(engine), ws, now=T0)
    with SqlUnitOfWork(engine) as uow:
        assert uow.loyalty.digest(ws) == before
        after = uow.loyalty.member(ws, alice)
    assert after == balances
    assert (after["available"], after["pending"]) == (800 + 20 + 200 - 300 + 50, 400)


def test_a_redemption_beyond_the_balance_is_refused_and_posts_nothing(engine: Engine) -> None:
    ws = workspace(engine)
    ingest(engine, ws, [order("1:paid", "1", ALICE, "100.00")])
    alice = customer_of(engine, ws, "1")
    with SqlUnitOfWork(engine) as uow, pytest.raises(Conflict, match="points"):
        svc.redeem(uow, ws, alice, points=10, request_id="RD-1", at=T0 + timedelta(days=1))
    with SqlUnitOfWork(engine) as uow:
        assert [e["kind"] for e in _all_entries(uow, ws)] == ["earn"]


SPEND_PROGRAM = """
code: HEIWUSHI
return_window_days: 0
expiry: {mode: days_after_earning, days: 30}
rules: [{id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2026-01-01T00:00:00+08:00"}]
"""


def test_spending_from_stored_balances_posts_what_a_replay_posts_across_lots_merges_and_unmerges(
    engine: Engine,
) -> None:
    ws = workspace(engine)
    with SqlUnitOfWork(engine) as uow:
        svc.set_program(uow, ws, SPEND_PROGRAM, actor="admin", at=T0)
        uow.commit()
    nick = ("tmall_nick", "黑武士玩家")
    ingest(engine, ws, [order("1:paid", "1", [nick], "100.00", at=T0 + timedelta(days=2))])
    ingest(engine, ws, [order("2:paid", "2", ALICE, "200.00")])
    alice, by_nick = customer_of(engine, ws, "2"), customer_of(engine, ws, "1")
    with SqlUnitOfWork(engine) as uow:
        svc.adjust(
            uow, ws, alice, points=40, adjustment_id="AJ-1", operator="小王", reason="补偿", at=T0 + timedelta(days=1)
        )
        uow.commit()
    ingest(engine, ws, [order("3:paid", "3", [nick, ALICE[0]], "50.00", at=T0 + timedelta(days=3))])
    at = T0 + timedelta(days=4)
    with SqlUnitOfWork(engine) as uow:
        svc.redeem(uow, ws, by_nick, points=250, request_id="RD-1", at=at)
        svc.adjust(uow, ws, alice, points=-20, adjustment_id="AJ-2", operator="小王", reason="误发", at=at)
        uow.commit()
    with SqlUnitOfWork(engine) as uow, pytest.raises(Conflict, match="points"):
        svc.redeem(uow, ws, alice, points=1000, request_id="RD-2", at=at)
    with SqlUnitOfWork(engine) as uow:
        spent = [(e["part"], e["lot_id"], e["points"]) for e in _all_entries(uow, ws) if e["key"] == "redeem:RD-1"]
        assert uow.loyalty.member(ws, alice)["available"] == 350 + 40 - 250 - 20
    # soonest expiry first: order 2 (earned T0), the adjustment (T0 + 1 day), then order 1 (T0 + 2 days)
    assert sorted(spent) == [(0, "order:2", 200), (1, "adjust:AJ-1", 40), (2, "order:1", 10)]
    with engine.connect() as conn:
        merge_id = conn.execute(select(t.merges.c.id)).scalar_one()
    with SqlUnitOfWork(engine) as uow:
        unmerge(uow, ws, merge_id, actor="admin", now=T0 + timedelta(days=5))
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        for customer in (alice, by_nick):
            points = uow.loyalty.member(ws, customer)["available"]
            if points:
                svc.redeem(uow, ws, customer, points=points, request_id=f"ALL-{customer}", at=T0 + timedelta(days=6))
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        before = uow.loyalty.digest(ws)
        assert [m["available"] for m in uow.loyalty.members(ws)] == [0, 0]
    rebuild(lambda: SqlUnitOfWork(engine), ws, now=T0)
    with SqlUnitOfWork(engine) as uow:
        assert uow.loyalty.digest(ws) == before


def test_a_merge_joins_the_accounts_and_an_unmerge_splits_them_back(engine: Engine) -> None:
    ws = workspace(engine)
    nick = ("tmall_nick", "黑武士玩家")
    ingest(engine, ws, [order("1:paid", "1", [nick], "100.00")])
    ingest(engine, ws, [order("2:paid", "2", ALICE, "200.00", at=T0 + timedelta(hours=1))])
    ingest(engine, ws, [order("3:paid", "3", [nick, ALICE[0]], "50.00", at=T0 + timedelta(hours=2))])
    with SqlUnitOfWork(engine) as uow:
        members = uow.loyalty.members(ws)
    assert len(members) == 1 and members[0]["pending"] == 350 and len(members[0]["customers"]) == 2
    with engine.connect() as conn:
        merge_id = conn.execute(select(t.merges.c.id)).scalar_one()
    with SqlUnitOfWork(engine) as uow:
        unmerge(uow, ws, merge_id, actor="admin", now=T0 + timedelta(days=1))
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        pending = sorted(m["pending"] for m in uow.loyalty.members(ws))
    assert pending == [100, 250]  # the nick's own order; the phone's order and the one that joined them


def test_a_bad_program_names_the_field_that_is_wrong() -> None:
    with pytest.raises(InvalidInput) as caught:
        svc.program_from_yaml("code: X\ntiers:\n  - {code: A, threshold: 0}\n  - {code: B, threshold: -5}\n")
    assert "tiers" in str(getattr(caught.value, "problems", caught.value))


REFUND_PROGRAM = """
code: HEIWUSHI
rules: [{id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2026-01-01T00:00:00+08:00"}]
coupon_templates:
  - {code: PAD-50, kind: amount_off, amount_off: 50, return_on_refund: true}
  - {code: KEEP-10, kind: amount_off, amount_off: 10}
"""


def test_a_full_refund_gives_back_the_coupon_used_on_the_order_and_a_rebuild_keeps_it(engine: Engine) -> None:
    ws = workspace(engine)
    with SqlUnitOfWork(engine) as uow:
        svc.set_program(uow, ws, REFUND_PROGRAM, actor="admin", at=T0)
        uow.commit()
    ingest(engine, ws, [order("1:paid", "1", ALICE, "300.00"), order("2:paid", "2", ALICE, "300.00")])
    ingest(engine, ws, [order("4:paid", "4", ALICE, "300.00")])
    alice = customer_of(engine, ws, "1")
    codes = {}
    with SqlUnitOfWork(engine) as uow:
        for template, order_id in (("PAD-50", "1"), ("PAD-50", "2"), ("KEEP-10", "4")):
            made = svc.issue_coupons(uow, ws, template, [alice], at=T0, batch=f"B-{order_id}")
            codes[order_id] = made[0]["code"]
            svc.redeem_coupon(
                uow,
                ws,
                codes[order_id],
                customer_id=alice,
                order_id=order_id,
                channel="tmall",
                lines=[(Decimal("300.00"), None)],
                at=T0 + timedelta(days=1),
            )
        uow.commit()
    refunded = T0 + timedelta(days=2)
    ingest(
        engine,
        ws,
        [
            order("1:refunded", "1", ALICE, "300.00", at=refunded, refunded="300.00"),  # full: PAD-50 comes back
            order("2:refunded", "2", ALICE, "300.00", at=refunded, refunded="100.00"),  # partial: stays used
            order("4:refunded", "4", ALICE, "300.00", at=refunded, refunded="300.00"),  # KEEP-10 is not returned
        ],
    )

    def statuses() -> dict[str, tuple[str, str | None]]:
        with SqlUnitOfWork(engine) as uow:
            found = {c["code"]: (c["status"], c["order_id"]) for c in uow.loyalty.coupons(ws, [alice])}
        return {order_id: found[code] for order_id, code in codes.items()}

    assert statuses() == {"1": ("issued", None), "2": ("redeemed", "2"), "4": ("redeemed", "4")}
    with SqlUnitOfWork(engine) as uow:  # the returned coupon can be used again
        again = svc.redeem_coupon(
            uow,
            ws,
            codes["1"],
            customer_id=alice,
            order_id="5",
            channel="app",
            lines=[(Decimal("80.00"), None)],
            at=refunded + timedelta(hours=1),
        )
        uow.commit()
    assert again["status"] == "redeemed"
    with SqlUnitOfWork(engine) as uow:
        before = uow.loyalty.digest(ws)
    rebuild(lambda: SqlUnitOfWork(engine), ws, now=T0)
    with SqlUnitOfWork(engine) as uow:
        assert uow.loyalty.digest(ws) == before
    assert statuses()["1"] == ("redeemed", "5")
