"""Business hours: weekends, lunch breaks, 国庆 and 调休 make-up days, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liuyu.domain.errors import InvalidInput
from liuyu.domain.service.calendar import BusinessCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
NATIONAL_DAY_2025 = frozenset(date(2025, 10, day) for day in range(1, 9))
MAKE_UP_2025 = frozenset({date(2025, 9, 28), date(2025, 10, 11)})  # a Sunday and a Saturday


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time, as the UTC moment the domain works with."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar.from_config(
        {"mon-fri": "09:00-18:00"}, holidays=NATIONAL_DAY_2025, working_days=MAKE_UP_2025
    )


def test_given_friday_evening_when_two_hours_are_added_then_they_end_on_monday_morning(office):
    assert office.add_business_time(sh(2025, 11, 14, 17, 0), timedelta(hours=2)) == sh(2025, 11, 17, 10, 0)


def test_given_a_weekend_when_measuring_friday_to_monday_then_only_open_hours_count(office):
    assert office.business_time_between(sh(2025, 11, 14, 17, 0), sh(2025, 11, 17, 10, 0)) == timedelta(hours=2)


def test_given_national_day_when_time_is_added_on_the_eve_then_it_resumes_after_the_holiday(office):
    due = office.add_business_time(sh(2025, 9, 30, 17, 0), timedelta(hours=4))
    assert due == sh(2025, 10, 9, 12, 0)


def test_given_a_make_up_saturday_when_time_is_added_on_friday_then_saturday_counts(office):
    assert office.add_business_time(sh(2025, 10, 10, 17, 0), timedelta(hours=2)) == sh(2025, 10, 11, 10, 0)
    assert office.is_open(sh(2025, 9, 28, 9, 30))
    assert not office.is_open(sh(2025, 10, 1, 10, 0))


def test_given_a_lunch_break_when_time_is_added_before_lunch_then_the_break_is_skipped():
    calendar = BusinessCalendar.from_config({"mon-sat": "09:00-12:00,13:30-18:00"})
    assert calendar.add_business_time(sh(2025, 11, 15, 11, 0), timedelta(hours=2)) == sh(2025, 11, 15, 14, 30)


def test_given_a_utc_moment_when_checking_hours_then_the_workspace_time_zone_decides(office):
    monday_nine_in_shanghai = datetime(2025, 11, 17, 1, 0, tzinfo=UTC)
    assert office.is_open(monday_nine_in_shanghai)
    assert not office.is_open(monday_nine_in_shanghai - timedelta(minutes=1))
    assert office.next_open(sh(2025, 11, 15, 12, 0)) == monday_nine_in_shanghai


def test_given_a_round_the_clock_desk_when_time_is_added_then_it_is_plain_elapsed_time():
    start = sh(2025, 10, 1, 23, 0)
    assert BusinessCalendar.always_open().add_business_time(start, timedelta(hours=30)) == start + timedelta(hours=30)


def test_given_a_naive_datetime_when_adding_time_then_it_is_refused(office):
    with pytest.raises(InvalidInput, match="timezone-aware"):
        office.add_business_time(datetime(2025, 11, 17, 9, 0), timedelta(hours=1))


@pytest.mark.parametrize("hours", ["9-18", "18:00-09:00", "09:00-12:00,11:00-14:00"])
def test_given_badly_written_hours_when_building_a_calendar_then_the_error_names_the_field(hours):
    with pytest.raises(InvalidInput, match=r"hours\.mon"):
        BusinessCalendar.from_config({"mon": hours})


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 9, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=60 * 60),
)
def test_given_any_start_when_a_duration_is_added_then_measuring_back_gives_the_same_duration(start, minutes):
    calendar = BusinessCalendar.from_config(
        {"mon-fri": "09:00-12:00,13:00-18:00", "sat": "10:00-16:00"},
        holidays=NATIONAL_DAY_2025,
        working_days=MAKE_UP_2025,
    )
    duration = timedelta(minutes=minutes)
    due = calendar.add_business_time(start, duration)
    assert calendar.business_time_between(start, due) == duration


def test_given_a_desk_open_until_midnight_when_time_is_added_late_then_it_runs_to_midnight_and_resumes_next_day():
    calendar = BusinessCalendar.from_config({"mon-sun": "08:00-24:00"})
    assert calendar.add_business_time(sh(2025, 11, 17, 23, 0), timedelta(hours=2)) == sh(2025, 11, 18, 9, 0)


def test_given_make_up_hours_when_a_make_up_day_comes_then_those_hours_apply():
    calendar = BusinessCalendar.from_config(
        {"tue-sat": "10:00-19:00"}, working_days={date(2025, 9, 28)}, make_up_hours="09:00-17:00"
    )
    assert calendar.next_open(sh(2025, 9, 28, 0, 0)) == sh(2025, 9, 28, 9, 0)
