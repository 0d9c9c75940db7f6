"""Lifecycle stages from order dates, membership and now, with each workspace's windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.domain.engagement.lifecycle import LifecycleWindows, Stage, stage_of
from liuyu.domain.errors import InvalidInput

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_someone_who_never_ordered_and_is_no_member_is_a_prospect() -> None:
    assert stage_of([], None, NOW).stage is Stage.PROSPECT


def test_a_member_who_joined_last_week_and_has_not_bought_is_a_new_member() -> None:
    verdict = stage_of([], ago(7), NOW)
    assert verdict.stage is Stage.NEW_MEMBER
    assert "7 days" in verdict.reason


def test_a_member_who_never_bought_in_months_is_a_prospect_again() -> None:
    assert stage_of([], ago(31), NOW).stage is Stage.PROSPECT


def test_one_recent_order_is_a_first_purchase() -> None:
    assert stage_of([ago(3)], ago(30), NOW).stage is Stage.FIRST_PURCHASE


def test_two_recent_orders_are_repeat_and_four_within_a_year_are_loyal() -> None:
    assert stage_of([ago(40), ago(3)], None, NOW).stage is Stage.REPEAT
    assert stage_of([ago(300), ago(200), ago(100), ago(3)], None, NOW).stage is Stage.LOYAL
    # Four orders, but one of them more than a year ago: still repeat.
    assert stage_of([ago(400), ago(200), ago(100), ago(3)], None, NOW).stage is Stage.REPEAT


@pytest.mark.parametrize(
    ("idle_days", "stage"),
    [(90, Stage.FIRST_PURCHASE), (91, Stage.AT_RISK), (180, Stage.AT_RISK), (181, Stage.DORMANT), (366, Stage.CHURNED)],
)
def test_time_without_an_order_moves_a_buyer_down_at_exactly_the_window_edges(idle_days: int, stage: Stage) -> None:
    assert stage_of([ago(idle_days)], None, NOW).stage is stage


def test_a_loyal_buyer_who_stops_becomes_at_risk_like_anyone_else() -> None:
    orders = [ago(d) for d in (200, 170, 150, 120, 100)]
    verdict = stage_of(orders, None, NOW)
    assert verdict.stage is Stage.AT_RISK
    assert "100 days" in verdict.reason


def test_orders_after_now_are_ignored_so_a_replay_at_an_earlier_time_gives_that_times_stage() -> None:
    assert stage_of([ago(3), NOW + timedelta(days=1)], None, NOW).stage is Stage.FIRST_PURCHASE


def test_a_workspace_selling_beds_sets_long_windows() -> None:
    beds = LifecycleWindows.from_settings({"at_risk_days": 730, "dormant_days": 1825, "churned_days": 3650})
    assert stage_of([ago(400)], None, NOW, beds).stage is Stage.FIRST_PURCHASE
    assert stage_of([ago(400)], None, NOW).stage is Stage.CHURNED


def test_windows_out_of_order_or_unknown_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        LifecycleWindows(at_risk_days=200, dormant_days=100)
    assert caught.value.field == "at_risk_days"
    with pytest.raises(InvalidInput, match="unknown lifecycle setting"):
        LifecycleWindows.from_settings({"sleepy_days": 3})
    with pytest.raises(InvalidInput):
        LifecycleWindows(loyal_orders=0)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(InvalidInput):
        stage_of([], None, datetime(2026, 6, 1))
