"""Journeys as data: validation names the bad field's path; the state machine, control group and uplift."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from liuyu.domain.engagement.journey import (
    birthday_keys,
    in_control,
    may_enter,
    occurrence,
    wait_until,
)
from liuyu.domain.engagement.journey_format import journey_document, read_journey
from liuyu.domain.engagement.uplift import uplift, wilson
from liuyu.domain.errors import InvalidInput

SECOND_TOUCH = {
    "name": "首购后十天二次触达",
    "trigger": {"event": "order_paid", "where": {"channel": "tmall"}},
    "audience": 'order_count = 1 and not tag("已投诉")',
    "steps": [
        {"key": "thank", "tag": {"tag": "首购", "reason": "first order"}},
        {"key": "wait3", "wait": {"days": 3, "until": "10:00"}},
        {"key": "bought", "branch": {"if": "order_count >= 2", "then": "end"}},
        {"key": "coupon", "coupon": {"template": "RETURN-20"}},
        {"key": "nudge", "send": {"channel": "wechat_template", "template": "second_touch", "variables": {"n": 1}}},
    ],
    "goal": {"event": "order_paid", "within_days": 10},
    "reentry": {"after_days": 30},
    "control": {"percent": 10},
}


def test_a_journey_reads_and_writes_back_to_the_same_definition() -> None:
    journey = read_journey(SECOND_TOUCH)
    assert [s.kind for s in journey.steps] == ["tag", "wait", "branch", "coupon", "send"]
    assert read_journey(journey_document(journey)) == journey
    assert journey.after("thank") == "wait3"
    assert journey.branch_to("bought", True) is None  # "end"
    assert journey.branch_to("bought", False) == "coupon"
    assert journey.after("nudge") is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"steps": [{"key": "w", "wait": {"days": "three"}}]}, "$.steps[0].wait.days"),
        ({"steps": [{"key": "w", "wait": {}}]}, "$.steps[0].wait"),
        ({"steps": [{"key": "a", "tag": {"tag": "x"}, "next": "zzz"}]}, "$.steps[0].next"),
        ({"steps": [{"key": "a", "send": {"channel": "fax", "template": "t"}}]}, "$.steps[0].send.channel"),
        ({"trigger": {"event": "order_paid", "segment": "x"}}, "$.trigger"),
        ({"trigger": {"schedule": {"every": "week"}}}, "$.trigger.schedule.weekday"),
        ({"goal": {"event": "order_paid"}}, "$.goal.within_days"),
        ({"control": 80}, "$.control"),
        ({"audience": "city = 上海"}, "$.audience"),
        ({"steps": [{"key": "b", "branch": {"if": "order_count >", "then": "b"}}]}, "$.steps[0].branch.if"),
        ({"colour": "red"}, "$.colour"),
    ],
)
def test_a_bad_field_is_named_by_its_path(change: dict, where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_journey(SECOND_TOUCH | change)
    assert caught.value.where == where


def test_a_loop_without_a_wait_is_refused_and_one_with_a_wait_is_allowed() -> None:
    loop = [{"key": "a", "tag": {"tag": "x"}}, {"key": "b", "tag": {"tag": "y"}, "next": "a"}]
    with pytest.raises(InvalidInput, match="without a wait"):
        read_journey(SECOND_TOUCH | {"steps": loop})
    waiting = [{"key": "a", "tag": {"tag": "x"}}, {"key": "w", "wait": {"days": 7}, "next": "a"}]
    assert read_journey(SECOND_TOUCH | {"steps": waiting}).after("w") == "a"


def test_waits_run_for_the_duration_then_until_the_next_local_time() -> None:
    journey = read_journey(SECOND_TOUCH)
    arrived = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    # three days later it is 11:00 local, past 10:00: the next 10:00 is the day after
    assert wait_until(journey.step("wait3"), arrived, "Asia/Shanghai") == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_the_control_group_is_a_stable_share_of_customers() -> None:
    held = [cid for cid in range(20_000) if in_control(7, cid, 10)]
    assert 1800 < len(held) < 2200
    assert held == [cid for cid in range(20_000) if in_control(7, cid, 10)]
    assert not any(in_control(7, cid, 0) for cid in range(1000))


def test_reentry_follows_the_policy() -> None:
    journey = read_journey(SECOND_TOUCH)
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert may_enter(journey, [], now)[0]
    assert not may_enter(journey, [(now - timedelta(days=3), True)], now)[0]
    assert not may_enter(journey, [(now - timedelta(days=29), False)], now)[0]
    assert may_enter(journey, [(now - timedelta(days=31), False)], now)[0]


def test_birthdays_and_schedules_fire_on_their_day() -> None:
    weekly = read_journey(SECOND_TOUCH | {"trigger": {"schedule": {"every": "week", "weekday": "mon", "at": "09:30"}}})
    monday_morning = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 local
    assert occurrence(weekly.trigger, monday_morning, "Asia/Shanghai") is None
    assert occurrence(weekly.trigger, monday_morning + timedelta(hours=1), "Asia/Shanghai") == date(2026, 11, 23)
    assert occurrence(weekly.trigger, monday_morning + timedelta(days=1), "Asia/Shanghai") is None
    assert birthday_keys(date(2027, 2, 28)) == ("02-28", "02-29")
    assert birthday_keys(date(2028, 2, 28)) == ("02-28",)


def test_uplift_has_a_newcombe_interval_that_knows_small_groups() -> None:
    result = uplift(1000, 150, 1000, 100)
    assert result.uplift == pytest.approx(0.05)
    assert result.low is not None and result.high is not None
    assert 0.015 < result.low < 0.025 and 0.075 < result.high < 0.085  # Newcombe: (0.0202, 0.0797)
    assert result.significant
    edge = uplift(10, 10, 10, 0)
    assert edge.high is not None and edge.high <= 1.0 and edge.low is not None and edge.low > 0
    assert wilson(0, 20)[0] == pytest.approx(0.0, abs=1e-12)
    # Newcombe (1998), table II, example (a): 56/70 against 48/80 gives 0.0524 to 0.3339
    paper = uplift(70, 56, 80, 48)
    assert (round(paper.low or 0, 4), round(paper.high or 0, 4)) == (0.0524, 0.3339)
    assert uplift(10, 3, 0, 0).uplift is None


def test_the_full_example_in_the_docs_is_a_valid_journey() -> None:
    import re
    from pathlib import Path

    import yaml

    page = (Path(__file__).parents[3] / "docs" / "journeys.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", page, flags=re.S)
    journey = read_journey(yaml.safe_load(blocks[0]))
    assert [s.kind for s in journey.steps] == ["tag", "wait", "branch", "coupon", "send", "points", "webhook", "ticket"]
    for line in blocks[1].strip().splitlines():
        trigger = yaml.safe_load(line.split("  #")[0])["trigger"]
        assert read_journey(SECOND_TOUCH | {"trigger": trigger}).trigger.kind in ("segment", "date", "schedule")
