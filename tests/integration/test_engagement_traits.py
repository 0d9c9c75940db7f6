"""Computed traits: RFM quintiles, lifecycle stages, BG/NBD forecasts and preferred hours, usable in segments."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, update

from liuyu.domain.engagement.segment import parse
from liuyu.domain.errors import InvalidInput
from liuyu.services import accounts, engagement
from liuyu.services.engagement import TraitSettings, compute_scores
from liuyu.storage import tables as t
from liuyu.storage.segments import count, explain_customer
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api, api  # noqa: F401  (the app fixture)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_lifecycle_follows_the_workspace_windows() -> None:
    people = [{"id": 1, "first_seen": _ago(400)}, {"id": 2, "first_seen": _ago(5)}, {"id": 3, "first_seen": _ago(400)}]
    orders = [(1, _ago(100), 9900), (3, _ago(20), 9900), (3, _ago(10), 9900)]
    rows = {r["customer_id"]: r for r in compute_scores(people, orders, [], NOW, TraitSettings())}
    assert [rows[i]["lifecycle"] for i in (1, 2, 3)] == ["at_risk", "new_member", "repeat"]
    patient = TraitSettings.from_settings({"lifecycle": {"at_risk_days": 120, "dormant_days": 200}})
    later = {r["customer_id"]: r for r in compute_scores(people, orders, [], NOW, patient)}
    assert later[1]["lifecycle"] == "first_purchase" and "100 days" in later[1]["lifecycle_reason"]


def test_bad_trait_settings_are_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidInput, match="horizon_days"):
        TraitSettings.from_settings({"traits": {"horizon_days": 0}})
    with pytest.raises(InvalidInput):
        TraitSettings.from_settings({"lifecycle": {"at_risk_days": 400}})


def test_rfm_scores_rank_buyers_within_the_workspace_and_leave_non_buyers_unscored() -> None:
    people = [{"id": i, "first_seen": _ago(300)} for i in range(1, 7)]
    orders = [(i, _ago(10 * i), 1000 * (6 - i)) for i in range(1, 6) for _ in range(6 - i)]
    rows = {r["customer_id"]: r for r in compute_scores(people, orders, [], NOW, TraitSettings())}
    assert (rows[1]["rfm_r"], rows[1]["rfm_f"], rows[1]["rfm_m"]) == (5, 5, 5)
    assert (rows[5]["rfm_r"], rows[5]["rfm_f"], rows[5]["rfm_m"]) == (1, 1, 1)
    assert rows[1]["rfm_cell"] == "R5F5M5"
    assert rows[6]["rfm_r"] is None and rows[6]["lifecycle"] == "prospect"


def test_preferred_hours_are_local_hours_busiest_first() -> None:
    activity = [(1, 12, 5), (1, 1, 9), (1, 2, 1), (1, 23, 5)]  # UTC hours; Shanghai is UTC+8
    rows = compute_scores([{"id": 1, "first_seen": None}], [], activity, NOW, TraitSettings())
    assert rows[0]["preferred_hours"] == [9, 7, 20]


def _shop(rng: random.Random) -> tuple[list[dict[str, object]], list[tuple[int, datetime, int]]]:
    """Forty buyers: steady ones who keep buying and one-off buyers from long ago."""
    people: list[dict[str, object]] = []
    orders = []
    for cid in range(1, 41):
        people.append({"id": cid, "first_seen": _ago(400)})
        if cid <= 20:
            orders += [(cid, _ago(day), 5000) for day in range(rng.randint(1, 20), 360, rng.randint(25, 40))]
        else:
            orders += [(cid, _ago(300 + cid), 5000), (cid, _ago(290 + cid), 5000)]
    return people, orders


def test_steady_buyers_get_a_higher_chance_of_being_alive_than_lapsed_ones() -> None:
    people, orders = _shop(random.Random(7))
    rows = {r["customer_id"]: r for r in compute_scores(people, orders, [], NOW, TraitSettings())}
    steady = [rows[i]["p_alive"] for i in range(1, 21)]
    lapsed = [rows[i]["p_alive"] for i in range(21, 41)]
    assert min(steady) > max(lapsed)  # type: ignore[type-var]
    assert sum(rows[i]["predicted_purchases"] for i in range(1, 21)) > 20  # type: ignore[misc]


def test_too_few_buyers_give_no_forecast_rather_than_a_wild_one() -> None:
    people, orders = _shop(random.Random(7))
    few = [o for o in orders if o[0] <= 5]
    rows = compute_scores(people[:5], few, [], NOW, TraitSettings())
    assert {r["p_alive"] for r in rows} == {None}


def insert_shop(
    engine: Engine, ws: int, people: list[dict[str, object]], orders: list[tuple[int, datetime, int]]
) -> None:
    """Write the customers and their paid orders, and three evening visits by customer 1."""
    with engine.begin() as conn:
        conn.execute(
            insert(t.customers),
            [{"id": p["id"], "workspace_id": ws, "anchor_seq": p["id"], "first_seen": p["first_seen"]} for p in people],
        )
        conn.execute(
            insert(t.customer_traits),
            [
                {
                    "customer_id": p["id"],
                    "workspace_id": ws,
                    "order_count": sum(1 for o in orders if o[0] == p["id"]),
                    "total_spent_fen": sum(o[2] * (1 + int(p["id"]) % 7) for o in orders if o[0] == p["id"]),
                    "aov_fen": 5000,
                    "channels": [],
                    "categories": [],
                }
                for p in people
            ],
        )
        conn.execute(
            insert(t.orders),
            [
                {
                    "workspace_id": ws,
                    "platform": "tmall",
                    "order_id": f"T{n}",
                    "customer_id": cid,
                    "status": "paid",
                    "total_fen": fen,
                    "paid_fen": fen,
                    "refunded_fen": 0,
                    "paid_at": at,
                    "placed_at": at,
                    "channel": "tmall",
                    "last_seq": n,
                }
                for n, (cid, at, fen) in enumerate(orders, start=1)
            ],
        )
        conn.execute(
            insert(t.events),
            [
                {
                    "workspace_id": ws,
                    "source": "app",
                    "external_id": f"e{n}",
                    "type": "track",
                    "channel": "app",
                    "occurred_at": _ago(n).replace(hour=13),
                    "received_at": NOW,
                    "payload": {},
                    "customer_id": 1,
                }
                for n in range(3)
            ],
        )


@pytest.fixture
def scored(engine: Engine) -> int:
    """A workspace whose forty buyers were scored by the traits job."""
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    people, orders = _shop(random.Random(7))
    insert_shop(engine, ws, people, orders)
    with SqlUnitOfWork(engine) as uow:
        summary = engagement.refresh_traits(uow, ws, now=NOW)
        uow.commit()
    assert summary["customers"] == 40 and summary["buyers"] == 40 and summary["forecast"] == 40
    return ws


def test_the_traits_job_stores_scores_that_segments_can_use(engine: Engine, scored: int) -> None:
    lapsed = parse('lifecycle = "churned" or lifecycle = "dormant"')
    assert count(engine, scored, lapsed, now=NOW) == 20
    assert count(engine, scored, parse("p_alive > 0.5 and rfm_r >= 4"), now=NOW) > 0
    assert count(engine, scored, parse("p_alive < 0.5"), now=NOW) == 20
    why = explain_customer(engine, scored, 21, parse("p_alive < 0.5"), now=NOW)
    assert why.result and isinstance(why.seen, float) and why.seen < 0.5
    with SqlUnitOfWork(engine) as uow:
        one = uow.engagement.scores_of(scored, 1)
    assert one is not None and one["preferred_hours"] == [21]  # 13:00 UTC is 21:00 in Shanghai


def test_refreshing_again_replaces_the_scores(engine: Engine, scored: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(t.customers).where(t.customers.c.id == 40).values(merged_into=1))
    with SqlUnitOfWork(engine) as uow:
        assert engagement.refresh_traits(uow, scored, now=NOW)["customers"] == 39
        uow.commit()
        assert uow.engagement.scores_of(scored, 40) is None


def test_a_second_scoring_run_records_how_many_customers_moved_between_stages(engine: Engine, scored: int) -> None:
    later = NOW + timedelta(days=400)  # a year without orders: the steady buyers lapse too
    with SqlUnitOfWork(engine) as uow:
        first = {row["from"]: row["to"] for row in engagement.dashboard(uow, scored)["flow"]}
        summary = engagement.refresh_traits(uow, scored, now=later)
        uow.commit()
        flow = {row["from"]: row["to"] for row in engagement.dashboard(uow, scored)["flow"]}
    assert list(first) == [None] and sum(first[None].values()) == 40  # the first run: everyone is new to a stage
    assert None not in flow and sum(sum(to.values()) for to in flow.values()) == 40
    assert summary["moved"] == sum(n for a, to in flow.items() for b, n in to.items() if a != b) > 0
    assert first[None]["loyal"] == 20 and first[None]["dormant"] == 20
    assert flow["loyal"]["churned"] == 20 and flow["dormant"]["churned"] == 20  # a year later all have churned


def test_a_customers_scores_are_served_over_http_to_their_workspace_only(api: Api) -> None:  # noqa: F811
    people, orders = _shop(random.Random(7))
    insert_shop(api.engine, api.qimu.id, people, orders)  # type: ignore[arg-type]
    admin = api.headers(api.qimu.admin_key)
    assert api.client.get("/api/v1/customers/1/scores", headers=admin).json()["scores"] is None
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        engagement.refresh_traits(uow, api.qimu.id, now=NOW)
        uow.commit()
    got = api.client.get("/api/v1/customers/1/scores", headers=admin).json()["scores"]
    assert got["lifecycle"] in ("repeat", "loyal") and got["rfm_cell"].startswith("R") and got["p_alive"] > 0.5
    stranger = api.headers(api.other.admin_key)
    assert api.client.get("/api/v1/customers/1/scores", headers=stranger).status_code == 404
