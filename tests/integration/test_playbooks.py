"""Each built-in playbook, switched on, enrolls the right customers and does its action in the
worker's single pass (journey triggers, then steps), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.jobs.schedule import SCHEDULE
from liuyu.jobs.worker import Worker
from liuyu.services import loyalty, messaging_setup, playbooks
from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.journey_tables import journey_steps
from liuyu.storage.loyalty_tables import loyalty_tier_changes
from liuyu.storage.messaging_tables import messaging_sends
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.messaging_fixtures import T0, Shop, open_shop

PROGRAM = """
code: QIMU
rules: [{id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2025-01-01T00:00:00+08:00"}]
expiry: {mode: days_after_earning, days: 30}
tier_policy: {basis: order_count, window_days: 365}
tiers:
  - {code: MEMBER, threshold: 0}
  - {code: GOLD, threshold: 2}
coupon_templates:
  - {code: RETURN-20, kind: amount_off, amount_off: 20}
  - {code: BACK-20, kind: amount_off, amount_off: 20}
  - {code: BIRTHDAY, kind: amount_off, amount_off: 30}
"""
TEMPLATES = {
    "二次触达": "送您{{coupon}}",
    "唤醒优惠": "好久不见，送您{{coupon}}",
    "唤醒提醒": "{{coupon}}快到期了",
    "相邻品类推荐": "买过的朋友也喜欢{{category}}",
    "生日祝福": "生日快乐，送您{{coupon}}",
    "积分到期提醒": "您有积分{{days}}天后到期",
    "升级祝贺": "恭喜升级，加赠{{points}}积分",
}


def local(day: str, clock: str = "10:30") -> datetime:
    """A Shanghai wall-clock moment in UTC (the playbooks fire at 10:00 local)."""
    naive = datetime.fromisoformat(f"{day}T{clock}:00")
    return (naive - timedelta(hours=8)).replace(tzinfo=UTC)


def setup(engine: Engine) -> Shop:
    shop = open_shop(engine)
    with SqlUnitOfWork(engine) as uow:
        for name, body in TEMPLATES.items():
            messaging_setup.save_template(uow, shop.ws, "sms", name, body=body, provider_template="SMS_1")
        loyalty.set_program(uow, shop.ws, PROGRAM, actor="admin", at=T0)
        for cid in (shop.alice, shop.bob):
            loyalty.enroll(uow, shop.ws, cid, channel="wechat", at=T0)
        uow.commit()
    for cid in (shop.alice, shop.bob):
        shop.opt_in(cid, "sms")
    return shop


def paid(shop: Shop, n: int, phone: str, at: datetime, *categories: str, birthday: str | None = None) -> None:
    lines = tuple(OrderLine(title=f"{c}商品", category=c, amount=Decimal("100")) for c in categories or ("坚果",))
    total = Decimal(100 * len(lines))
    order = Order(
        platform="tmall",
        order_id=f"T{n}",
        status="paid",
        total=total,
        paid=total,
        placed_at=at,
        paid_at=at,
        lines=lines,
    )
    ident = make_identifier("phone", phone, verified=True)
    assert ident is not None
    traits = {"birthday": birthday} if birthday else {}
    event = Event("tmall", f"T{n}:paid", "order_paid", at, "tmall", (ident,), traits=traits, order=order)
    with SqlUnitOfWork(shop.engine) as uow:
        ingest_events(uow.ingest, shop.ws, [event], now=max(at, T0), projections=uow.projections())
        uow.commit()


def enable(shop: Shop, name: str, **given: Any) -> dict[str, Any]:
    with SqlUnitOfWork(shop.engine) as uow:
        row = playbooks.enable(uow, shop.ws, name, given, actor="运营小李", now=T0)
        uow.commit()
    return row


def single_pass(shop: Shop, at: datetime) -> dict[str, int]:
    """``liuyu worker --once`` at ``at``: journey triggers, then due steps."""
    jobs = {job.name: job for job in SCHEDULE}
    return Worker(shop.engine, [jobs["journey-triggers"], jobs["journey-steps"]], clock=lambda: at).run_once()


def steps(shop: Shop) -> dict[int, dict[str, tuple[str, dict[str, Any]]]]:
    """Per customer, each step key's outcome and detail."""
    with shop.engine.connect() as conn:
        rows = conn.execute(
            select(
                journey_steps.c.customer_id, journey_steps.c.step_key, journey_steps.c.outcome, journey_steps.c.detail
            )
            .where(journey_steps.c.workspace_id == shop.ws)
            .order_by(journey_steps.c.id)
        )
        found: dict[int, dict[str, tuple[str, dict[str, Any]]]] = {}
        for cid, key, outcome, detail in rows:
            found.setdefault(int(cid), {})[key] = (outcome, detail)
        return found


def sent_variables(shop: Shop, customer: int) -> list[dict[str, Any]]:
    from liuyu.storage.service_tables import outbox

    with shop.engine.connect() as conn:
        query = (
            select(outbox.c.payload)
            .join(messaging_sends, messaging_sends.c.outbox_id == outbox.c.id)
            .where(messaging_sends.c.customer_id == customer)
        )
        return [dict(p["variables"]) | {"template": p["template"]} for p in conn.execute(query).scalars()]


ALICE, BOB = "13800000001", "13900000002"


def test_second_touch_nudges_the_first_time_buyer_who_did_not_come_back(engine: Engine) -> None:
    shop = setup(engine)
    enable(shop, "second_touch", wait_days=3)
    now = datetime.now(UTC).replace(microsecond=0)  # event triggers look at the last day's events
    paid(shop, 1, ALICE, now - timedelta(hours=2))
    paid(shop, 2, BOB, now - timedelta(hours=2))
    paid(shop, 3, BOB, now - timedelta(hours=1))  # bob came back: the goal, he leaves the journey
    single_pass(shop, now)  # alice starts waiting
    single_pass(shop, now + timedelta(days=3, minutes=1))
    seen = steps(shop)
    assert seen[shop.alice]["entry"][0] == "entered"
    assert seen[shop.alice]["coupon"][0] == "done" and seen[shop.alice]["nudge"][0] == "sent"
    assert seen[shop.bob]["goal"][0] == "converted" and "nudge" not in seen[shop.bob]
    assert sent_variables(shop, shop.alice) == [{"coupon": "RETURN-20", "template": "二次触达"}]


def test_dormant_reactivation_offers_then_reminds_only_the_customer_silent_for_the_days(engine: Engine) -> None:
    shop = setup(engine)
    enable(shop, "dormant_reactivation", days=30, reminder_days=7)
    paid(shop, 1, ALICE, local("2026-01-01", "09:00"))
    paid(shop, 2, BOB, local("2026-01-20", "09:00"))
    single_pass(shop, local("2026-01-31"))  # thirty days after alice's last order
    single_pass(shop, local("2026-02-07", "10:31"))  # the reminder, she still has not bought
    seen = steps(shop)
    assert shop.bob not in seen
    assert [seen[shop.alice][k][0] for k in ("coupon", "offer", "remind")] == ["done", "sent", "sent"]
    assert [v["template"] for v in sent_variables(shop, shop.alice)] == ["唤醒优惠", "唤醒提醒"]


def test_cross_category_suggests_the_neighbour_by_lift_to_loyal_single_category_buyers(engine: Engine) -> None:
    shop = setup(engine)
    day = local("2026-02-01", "09:00")
    for n in (1, 2, 3):
        paid(shop, n, ALICE, day + timedelta(days=n), "咖啡")  # loyal, one category
    paid(shop, 4, BOB, day, "咖啡")
    paid(shop, 5, BOB, day, "茶叶")
    paid(shop, 6, BOB, day, "茶叶")  # bob buys two categories: not for this playbook
    for n, phone in ((7, "13700000007"), (8, "13700000008")):
        paid(shop, n, phone, day, "咖啡", "咖啡杯")
    for n in (9, 10, 11):
        paid(shop, n, "13700000009", day, "酱油")  # loyal too, but nothing goes with soy sauce
    with SqlUnitOfWork(engine) as uow:
        assert playbooks.adjacent(uow, shop.ws)["咖啡"][0]["category"] == "咖啡杯"
    enable(shop, "cross_category", min_orders=3, weekday="mon")
    single_pass(shop, local("2026-03-09"))  # a Monday
    seen = steps(shop)
    assert shop.bob not in seen and seen[shop.alice]["suggest"][0] == "sent"
    soy = next(cid for cid, found in seen.items() if cid != shop.alice)
    assert seen[soy]["suggest"] == ("skipped", {"channel": "sms", "reason": "no_suggested_category"})
    assert sent_variables(shop, shop.alice) == [{"category": "咖啡杯", "template": "相邻品类推荐"}]


def test_durable_suppression_keeps_promotions_of_a_category_away_from_its_recent_buyers(engine: Engine) -> None:
    shop = setup(engine)
    paid(shop, 1, ALICE, T0 - timedelta(days=30), "冰箱")
    paid(shop, 2, BOB, T0 - timedelta(days=400), "冰箱")  # long ago: may hear about fridges again
    enable(shop, "durable_suppression", categories="冰箱,沙发", days=180)
    alice = shop.send(shop.alice, "promo-a", name="小鹿", category="冰箱", coupon="满999减100")
    bob = shop.send(shop.bob, "promo-b", name="小鹿", category="冰箱", coupon="满999减100")
    other = shop.send(shop.alice, "promo-c", name="小鹿", category="茶叶", coupon="满99减10")
    assert (alice.queued, alice.reason) == (False, "recent_purchase_in_category")
    assert bob.queued and other.queued
    with SqlUnitOfWork(engine) as uow:
        playbooks.disable(uow, shop.ws, "durable_suppression", actor="运营小李", now=T0)
        uow.commit()
    assert shop.send(shop.alice, "promo-d", name="小鹿", category="冰箱", coupon="满999减100").queued


def test_birthday_gives_a_coupon_and_greets_days_before(engine: Engine) -> None:
    shop = setup(engine)
    paid(shop, 1, ALICE, T0, birthday="1990-03-20")
    paid(shop, 2, BOB, T0, birthday="1991-07-01")
    enable(shop, "birthday", days_before=3)
    single_pass(shop, local("2026-03-17"))
    seen = steps(shop)
    assert shop.bob not in seen
    assert seen[shop.alice]["coupon"][0] == "done" and seen[shop.alice]["greet"][0] == "sent"


def test_points_expiring_reminds_members_whose_lot_expires_in_the_days(engine: Engine) -> None:
    shop = setup(engine)
    with SqlUnitOfWork(engine) as uow:
        loyalty.adjust(uow, shop.ws, shop.alice, points=100, adjustment_id="A1", operator="admin", reason="补偿", at=T0)
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        from liuyu.storage.loyalty_store import SqlLoyalty

        store = SqlLoyalty(uow.conn)
        (lot,) = [x for x in store.lots(shop.ws, [shop.alice], store.program(shop.ws)) if x.available > 0]
    assert lot.expires_at is not None
    expiry_day = (lot.expires_at + timedelta(hours=8)).date()
    enable(shop, "points_expiring", days_before=7)
    single_pass(shop, local((expiry_day - timedelta(days=8)).isoformat()))  # a day early: nobody
    assert steps(shop) == {}
    single_pass(shop, local((expiry_day - timedelta(days=7)).isoformat()))
    seen = steps(shop)
    assert shop.bob not in seen and seen[shop.alice]["remind"][0] == "sent"
    assert sent_variables(shop, shop.alice) == [{"days": 7, "template": "积分到期提醒"}]


def test_tier_upgrade_congratulates_the_member_the_morning_after(engine: Engine) -> None:
    shop = setup(engine)
    paid(shop, 1, ALICE, local("2026-03-04", "09:00"))
    paid(shop, 2, ALICE, local("2026-03-05", "15:00"))  # the second order makes her GOLD
    paid(shop, 3, BOB, local("2026-03-05", "15:00"))
    with engine.connect() as conn:
        changes = conn.execute(select(loyalty_tier_changes.c.customer_id, loyalty_tier_changes.c.to_tier)).all()
    assert (shop.alice, "GOLD") in [(int(c), tier) for c, tier in changes]
    enable(shop, "tier_upgrade", points=50)
    single_pass(shop, local("2026-03-06"))
    seen = steps(shop)
    assert shop.bob not in seen
    assert seen[shop.alice]["gift"][0] == "done" and seen[shop.alice]["congratulate"][0] == "sent"


def test_disabling_pauses_the_journey_and_enabling_again_keeps_the_values(engine: Engine) -> None:
    shop = setup(engine)
    first = enable(shop, "birthday", days_before=5, coupon="BIRTHDAY")
    assert first["enabled"] and first["journey"]["status"] == "active"
    with SqlUnitOfWork(engine) as uow:
        off = playbooks.disable(uow, shop.ws, "birthday", actor="运营小李", now=T0)
        uow.commit()
    assert not off["enabled"] and off["journey"]["status"] == "paused"
    again = enable(shop, "birthday")
    assert again["params"]["days_before"] == 5 and again["journey"]["status"] == "active"
    assert again["journey"]["version"] == first["journey"]["version"]
    with engine.connect() as conn:
        settings = conn.execute(select(t.workspaces.c.settings).where(t.workspaces.c.id == shop.ws)).scalar_one()
    assert settings["playbooks"]["birthday"]["params"]["days_before"] == 5
