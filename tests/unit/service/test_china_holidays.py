"""The holiday calendar built from the maintained ``holidays`` package, 调休 included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from liuyu.services.holidays import china_business_calendar, china_days_off

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def test_given_2025_when_building_days_off_then_national_day_is_off_and_its_make_up_weekend_days_work():
    days_off, working_days = china_days_off([2025])
    assert {date(2025, 10, 1), date(2025, 10, 8)} <= days_off
    assert {date(2025, 9, 28), date(2025, 10, 11)} <= working_days
    assert not working_days & days_off
    assert all(day.year == 2025 for day in working_days)


def test_given_national_day_when_a_ticket_opens_before_it_then_the_due_time_skips_it_and_uses_the_make_up_day():
    calendar = china_business_calendar({"mon-fri": "09:00-18:00"}, years=[2025])
    assert calendar.add_business_time(sh(2025, 9, 30, 17, 0), timedelta(hours=2)) == sh(2025, 10, 9, 10, 0)
    assert calendar.add_business_time(sh(2025, 10, 10, 17, 0), timedelta(hours=2)) == sh(2025, 10, 11, 10, 0)
