"""Chinese public holidays and 调休 make-up working days for business-hours calendars.

The domain calendar takes plain sets of dates; this module fills them from the maintained
``holidays`` package (python-holidays). It was chosen over ``chinese-calendar`` because it is
already a dependency, is released often with each year's State Council notice, covers every
country a brand may serve from one API, and knows the make-up working days: ``China`` lists the
days off (including the weekdays given off in exchange, "Day off (substituted from …)") and
``weekend_workdays`` lists the weekend days that are working days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import holidays

from liuyu.domain.service.calendar import DEFAULT_TIMEZONE, BusinessCalendar


def china_days_off(years: Iterable[int]) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up working days) for the given years, mainland China."""
    wanted = set(years)
    calendar = holidays.China(years=sorted(wanted))
    days_off = frozenset(calendar.keys())
    # weekend_workdays also carries a few old years the package always loads; keep the asked ones.
    working_days = frozenset(day for day in calendar.weekend_workdays if day.year in wanted)
    return days_off, working_days


def china_business_calendar(
    hours: Mapping[str, str], years: Iterable[int], timezone: str = DEFAULT_TIMEZONE
) -> BusinessCalendar:
    """A workspace calendar with mainland holidays and 调休 applied, e.g. hours {"mon-fri": "09:00-18:00"}.

    Ask for the next year too when clocks may run over New Year.
    """
    days_off, working_days = china_days_off(years)
    return BusinessCalendar.from_config(hours, holidays=days_off, working_days=working_days, timezone=timezone)
