"""Journeys on SQLite and PostgreSQL: events start them, the worker walks them, goals end them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.services import engagement, journeys
from liuyu.services.identity import rebuild
from liuyu.services.ingest import ingest_events
from liuyu.services.journey_runner import JourneyPorts, SendRequest, run_due
from liuyu.storage.journey_tables import journey_enrollments
from liuyu.storage.uow import SqlUnitOfWork

NOW = datetime.now(UTC).replace(microsecond=0)  # triggers look at events of the last day

SECOND_TOUCH = """
name: 首购后二次触达
trigger: {event: order_paid}
steps:
  - key: thank
    tag: {tag: 首购客, reason: 首单已付}
  - key: wait3
    wait: {days: 3}
  - key: bought
    branch: {if: "order_count >= 2", then: end}
  - key: nudge
    send: {channel: sms, template: second_touch, variables: {offer: 满199减20}}
goal: {event: order_paid, within_days: 10}
"""


@dataclass
class Decision:
    queued: bool
    reason: str | None
    outbox_id: int | None
    not_before: datetime | None


class RecordingSender:
    """Stands in for the messaging service until it is wired: records what journeys ask to send."""

    def __init__(self) -> None:
        self.requests: list[SendRequest] = []

    def __call__(self, uow: Any, request: SendRequest, *, now: datetime) -> Decision:
        self.requests.append(request)
        return Decision(True, None, len(self.requests), None)


def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.create_workspace("qimu", "栖木", NOW)
        uow.commit()
    return ws


def paid(n: int, phone: str, at: datetime) -> Event:
    order = Order(
        platform="tmall",
        order_id=f"T{n}",
        status="paid",
        total=Decimal("199.00"),
        paid=Decimal("199.00"),
        placed_at=at,
        paid_at=at,
        lines=(OrderLine(title="每日坚果 30袋", quantity=1, sku="NUT-30", category="坚果", amount=Decimal("199.00")),),
    )
    ident = make_identifier("phone", phone, verified=True)
    assert ident is not None
    return Event("tmall", f"T{n}:paid", "order_paid", at, "tmall", (ident,), order=order)


def ingest(engine: Engine, ws: int, events: list[Event]) -> None:
    with SqlUnitOfWork(engine) as uow:
        ingest_events(uow.ingest, ws, events, now=NOW, projections=uow.projections())
        uow.commit()


def apply(engine: Engine, ws: int, text: str) -> dict[str, Any]:
    with SqlUnitOfWork(engine) as uow:
        row = journeys.apply_journey(uow, ws, text, actor="运营小李", now=NOW)
        uow.commit()
    return row


def work(engine: Engine, at: datetime, sender: RecordingSender) -> int:
    with SqlUnitOfWork(engine) as uow:
        done = run_due(uow, at, JourneyPorts(send=sender))
        uow.commit()
    return done


def shown(engine: Engine, ws: int, journey_id: int) -> dict[str, Any]:
    with SqlUnitOfWork(engine) as uow:
        return journeys.show(uow, ws, journey_id)


def customer_of(engine: Engine, ws: int, phone: str) -> int:
    from liuyu.storage import tables as t

    with engine.connect() as conn:
        query = select(t.identifiers.c.customer_id).where(
            t.identifiers.c.workspace_id == ws, t.identifiers.c.value == "+86" + phone
        )
        return int(conn.execute(query).scalar_one())


def test_a_first_order_starts_the_journey_and_the_worker_walks_it_to_the_message(engine: Engine) -> None:
    ws = workspace(engine)
    journey = apply(engine, ws, SECOND_TOUCH)
    ingest(engine, ws, [paid(1, "13800138000", NOW - timedelta(minutes=5))])
    sender = RecordingSender()
    assert work(engine, NOW, sender) == 2  # the tag, then the wait begins
    buyer = customer_of(engine, ws, "13800138000")
    with SqlUnitOfWork(engine) as uow:
        assert [t["tag"] for t in uow.engagement.tags_of(ws, buyer)] == ["首购客"]
    assert shown(engine, ws, journey["id"])["steps"][1]["now"] == 1  # waiting at wait3
    assert work(engine, NOW + timedelta(days=1), sender) == 0  # not due yet
    assert work(engine, NOW + timedelta(days=3, seconds=1), sender) == 3  # wake, branch "no", send
    assert [(r.customer_id, r.channel, r.template, r.source) for r in sender.requests] == [
        (buyer, "sms", "second_touch", f"journey:{journey['id']}:step:nudge")
    ]
    view = shown(engine, ws, journey["id"])
    by_key = {s["key"]: s for s in view["steps"]}
    assert by_key["bought"]["outcomes"] == {"no": 1}
    assert by_key["nudge"]["outcomes"] == {"sent": 1}
    assert view["groups"]["treatment"]["states"] == {"completed": 1}
    assert work(engine, NOW + timedelta(days=30), sender) == 0  # nothing twice


def test_the_goal_ends_the_journey_before_the_message_and_counts_as_a_conversion(engine: Engine) -> None:
    ws = workspace(engine)
    journey = apply(engine, ws, SECOND_TOUCH)
    ingest(engine, ws, [paid(1, "13900139000", NOW - timedelta(hours=2))])
    sender = RecordingSender()
    work(engine, NOW, sender)
    ingest(engine, ws, [paid(2, "13900139000", NOW - timedelta(hours=1))])  # the second order: the goal
    assert work(engine, NOW + timedelta(days=4), sender) == 0
    assert sender.requests == []
    with SqlUnitOfWork(engine) as uow:
        result = journeys.report(uow, ws, journey["id"])
    assert result["groups"]["treatment"] == {"entered": 1, "converted": 1, "states": {"converted": 1}}
    assert result["uplift"]["treatment_rate"] == 1.0
    # the second order did not start a second run: re-entry is "never" by default
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(journey_enrollments)).scalar_one() == 1


def test_a_control_group_is_held_out_and_the_report_gives_uplift(engine: Engine) -> None:
    ws = workspace(engine)
    text = SECOND_TOUCH.replace("goal:", "control: {percent: 50}\ngoal:")
    journey = apply(engine, ws, text)
    ingest(engine, ws, [paid(i, f"1380013{i:04d}", NOW - timedelta(minutes=30)) for i in range(40)])
    sender = RecordingSender()
    work(engine, NOW, sender)
    with SqlUnitOfWork(engine) as uow:
        report = journeys.report(uow, ws, journey["id"])
    groups = report["groups"]
    assert groups["treatment"]["entered"] + groups["control"]["entered"] == 40
    assert 8 <= groups["control"]["entered"] <= 32
    assert groups["control"]["states"]["holdout"] == groups["control"]["entered"]
    tagged = {r["customer_id"] for r in engagement_tags(engine, ws)}
    assert len(tagged) == groups["treatment"]["entered"]  # nobody held out got the tag
    assert report["uplift"]["method"] == "newcombe-wilson" and report["uplift"]["uplift"] == 0.0


def engagement_tags(engine: Engine, ws: int) -> list[dict[str, Any]]:
    from liuyu.storage import tables as t

    with engine.connect() as conn:
        rows = conn.execute(select(t.customer_tags.c.customer_id).where(t.customer_tags.c.workspace_id == ws))
        return [dict(r._mapping) for r in rows]


def test_entering_a_saved_segment_starts_its_journey(engine: Engine) -> None:
    ws = workspace(engine)
    with SqlUnitOfWork(engine) as uow:
        engagement.save_segment(uow, ws, name="复购客", tree=engagement.read_expression("order_count >= 2"), actor="t")
        uow.commit()
    journey = apply(
        engine,
        ws,
        "name: 复购感谢\ntrigger: {segment: 复购客}\nsteps:\n  - {key: thanks, points: {amount: 100, reason: 复购}}\n",
    )
    ingest(engine, ws, [paid(1, "13700137000", NOW - timedelta(hours=3))])
    assert shown(engine, ws, journey["id"])["entry"] == {}
    ingest(engine, ws, [paid(2, "13700137000", NOW - timedelta(hours=2))])
    assert shown(engine, ws, journey["id"])["entry"] == {"entered": 1}


def test_a_rebuild_replays_the_log_without_starting_journeys_again(engine: Engine) -> None:
    ws = workspace(engine)
    apply(engine, ws, SECOND_TOUCH)
    ingest(engine, ws, [paid(1, "13600136000", NOW - timedelta(minutes=5))])
    rebuild(lambda: SqlUnitOfWork(engine), ws, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(journey_enrollments)).scalar_one() == 1


def test_a_bad_definition_is_refused_with_the_path_of_the_field(engine: Engine) -> None:
    ws = workspace(engine)
    from liuyu.domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        apply(engine, ws, SECOND_TOUCH.replace("order_count >= 2", "shoe_size >= 2"))
    assert caught.value.where == "$.steps[2].branch.if" and "shoe_size" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        apply(engine, ws, "name: x\ntrigger: {segment: 不存在}\nsteps: [{key: a, wait: {days: 1}}]")
    assert caught.value.where == "$.trigger.segment"


def test_a_birthday_journey_starts_three_days_before_once_per_day(engine: Engine) -> None:
    ws = workspace(engine)
    from liuyu.storage import tables as t

    with engine.begin() as conn:
        conn.execute(
            t.customers.insert(),
            [
                {"id": 1, "workspace_id": ws, "anchor_seq": 1, "birthday": "1990-11-25"},
                {"id": 2, "workspace_id": ws, "anchor_seq": 2, "birthday": "1988-11-26"},
                {"id": 3, "workspace_id": ws, "anchor_seq": 3, "birthday": None},
            ],
        )
    journey = apply(
        engine,
        ws,
        "name: 生日\ntrigger: {date: birthday, offset_days: -3, at: '10:00'}\nsteps: [{key: w, wait: {days: 1}}]",
    )
    morning = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai: not yet
    for at in (morning, morning + timedelta(hours=2), morning + timedelta(hours=3)):
        with SqlUnitOfWork(engine) as uow:
            journeys.run_scheduled(uow, at)
            uow.commit()
    view = shown(engine, ws, journey["id"])
    assert view["entry"] == {"entered": 1}
    with engine.connect() as conn:
        assert conn.execute(select(journey_enrollments.c.customer_id)).scalars().all() == [1]


def test_a_paused_journey_neither_starts_nor_moves_anyone_until_resumed(engine: Engine) -> None:
    ws = workspace(engine)
    journey = apply(engine, ws, SECOND_TOUCH)
    with SqlUnitOfWork(engine) as uow:
        journeys.set_status(uow, ws, journey["id"], "paused", now=NOW)
        uow.commit()
    ingest(engine, ws, [paid(1, "13500135000", NOW - timedelta(minutes=9))])
    assert shown(engine, ws, journey["id"])["entry"] == {}
    with SqlUnitOfWork(engine) as uow:
        journeys.set_status(uow, ws, journey["id"], "active", now=NOW)
        uow.commit()
    ingest(engine, ws, [paid(2, "13500135001", NOW - timedelta(minutes=8))])
    with SqlUnitOfWork(engine) as uow:
        journeys.set_status(uow, ws, journey["id"], "paused", now=NOW)
        uow.commit()
    sender = RecordingSender()
    assert work(engine, NOW, sender) == 0
    with SqlUnitOfWork(engine) as uow:
        journeys.set_status(uow, ws, journey["id"], "active", now=NOW)
        uow.commit()
    assert work(engine, NOW, sender) == 2


def test_a_merge_ends_the_losers_run_when_the_winner_runs_the_same_journey(engine: Engine) -> None:
    ws = workspace(engine)
    journey = apply(engine, ws, SECOND_TOUCH)
    by_email = paid(2, "13300133000", NOW - timedelta(minutes=20))
    email = make_identifier("email", "xiaolu@example.com")
    assert email is not None
    by_email = Event("tmall", "T2:paid", "order_paid", by_email.occurred_at, "tmall", (email,), order=by_email.order)
    ingest(engine, ws, [paid(1, "13300133000", NOW - timedelta(minutes=30)), by_email])
    phone = make_identifier("phone", "13300133000", verified=True)
    assert phone is not None
    link = Event("crm", "link-1", "identify", NOW - timedelta(minutes=10), "other", (phone, email))
    ingest(engine, ws, [link])
    with engine.connect() as conn:
        states = sorted(conn.execute(select(journey_enrollments.c.state)).scalars())
    assert states == ["active", "exited"]
    assert shown(engine, ws, journey["id"])["steps"][0]["key"] == "thank"
    with SqlUnitOfWork(engine) as uow:
        merges = [h for h in uow.journeys.step_counts(ws, journey["id"]).get("merge", {})]
    assert merges == ["exited"]
