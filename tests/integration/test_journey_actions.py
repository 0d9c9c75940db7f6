"""Journey actions reach the real services: messaging guardrails, coupons, points, tags and tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from liuyu.services import journeys, loyalty
from liuyu.services.journey_runner import default_ports, run_due
from liuyu.storage.journey_tables import journey_steps
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.messaging_fixtures import T0, open_shop

PROGRAM = """
code: QIMU
rules: [{id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2026-01-01T00:00:00+08:00"}]
coupon_templates:
  - {code: BACK-20, kind: amount_off, amount_off: 20}
"""

WIN_BACK = """
name: 沉睡唤醒
trigger: {segment: 沉睡客}
steps:
  - {key: coupon, coupon: {template: BACK-20}}
  - {key: points, points: {amount: 50, reason: 唤醒礼}}
  - {key: remind, send: {channel: sms, template: 复购提醒, variables: {name: 小鹿, coupon: 满199减20}}}
  - {key: mark, tag: {tag: 唤醒中, reason: 已发券}}
  - {key: call, ticket: {subject: 回访沉睡会员, priority: high}}
"""


def _outcomes(engine: Engine) -> dict[tuple[int, str], tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                journey_steps.c.customer_id, journey_steps.c.step_key, journey_steps.c.outcome, journey_steps.c.detail
            )
        )
        return {(cid, key): (outcome, detail) for cid, key, outcome, detail in rows}


def test_each_action_goes_through_its_service_and_a_refusal_is_logged_with_its_reason(engine: Engine) -> None:
    shop = open_shop(engine)
    shop.opt_in(shop.alice, "sms")  # bob never agreed to marketing texts
    with SqlUnitOfWork(engine) as uow:
        loyalty.set_program(uow, shop.ws, PROGRAM, actor="admin", at=T0)
        loyalty.enroll(uow, shop.ws, shop.alice, channel="wechat", at=T0)  # bob is not a member: no points
        from liuyu.services import engagement

        engagement.save_segment(
            uow, shop.ws, name="沉睡客", tree=engagement.read_expression("order_count = 0"), actor="t"
        )
        journeys.apply_journey(uow, shop.ws, WIN_BACK, actor="运营", now=T0)
        row = uow.journeys.live_journeys(shop.ws)[0]
        journey = journeys.journey_of(row["id"], row["version"], row["definition"])
        people = [(cid, f"test:{cid}", T0, 0, {"trigger": "test"}) for cid in (shop.alice, shop.bob)]
        assert journeys.enroll(uow.journeys, shop.ws, row, journey, people, T0) == 2
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        assert run_due(uow, T0, default_ports()) == 10
        uow.commit()
    seen = _outcomes(engine)
    alice, bob = shop.alice, shop.bob
    assert seen[(alice, "coupon")][0] == "done" and seen[(alice, "coupon")][1]["coupon"]
    assert seen[(alice, "points")] == ("done", {"points": 50, "replayed": False})
    assert seen[(bob, "points")][0] == "failed" and "member" in seen[(bob, "points")][1]["error"]
    assert seen[(alice, "remind")][0] == "sent" and seen[(alice, "remind")][1]["outbox_id"]
    assert seen[(bob, "remind")][0] == "skipped" and seen[(bob, "remind")][1]["reason"]
    assert seen[(alice, "mark")] == ("done", {"tag": "唤醒中"})
    assert seen[(alice, "call")][0] == "done" and seen[(alice, "call")][1]["ticket_id"]
    sends = shop.sends(alice)
    assert [s["source"] for s in sends] == [f"journey:{row['id']}:step:remind"]
