"""The guardrail rules on plain facts: order of the rules, quiet hours across midnight and zones,
caps over rolling windows, the latest consent, and template filling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.domain.engagement.guardrails import (
    ConsentRecord,
    Facts,
    FrequencyCap,
    GuardrailSettings,
    decide,
    latest_consent,
    quiet_until,
)
from liuyu.domain.engagement.message_templates import fill, placeholders, render
from liuyu.domain.errors import InvalidInput

NOON_SHANGHAI = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
OPT_IN = ConsentRecord("sms", "opt_in", NOON_SHANGHAI - timedelta(days=10), "小程序", "☑ 同意")
SETTINGS = GuardrailSettings()


def test_suppression_wins_over_everything_even_for_transactional_messages() -> None:
    facts = Facts(suppressed_by="phone +8613800000001", consent=OPT_IN)
    for purpose in ("marketing", "service", "transactional"):
        assert decide(purpose, "sms", facts, SETTINGS, NOON_SHANGHAI).reason == "suppressed"


def test_marketing_needs_an_opt_in_unless_the_workspace_works_on_opt_out() -> None:
    assert decide("marketing", "sms", Facts(), SETTINGS, NOON_SHANGHAI).reason == "no_consent"
    lenient = GuardrailSettings.from_settings({"marketing_consent": "opt_out"})
    assert decide("marketing", "sms", Facts(), lenient, NOON_SHANGHAI).allowed


def test_complaints_sentiment_and_caps_hold_back_marketing_only() -> None:
    angry = Facts(consent=OPT_IN, negative_at=NOON_SHANGHAI - timedelta(days=2))
    assert decide("marketing", "sms", angry, SETTINGS, NOON_SHANGHAI).reason == "negative_sentiment"
    assert decide("service", "sms", angry, SETTINGS, NOON_SHANGHAI).allowed
    complaining = Facts(consent=OPT_IN, complaint="tagged 已投诉")
    assert decide("marketing", "sms", complaining, SETTINGS, NOON_SHANGHAI).reason == "open_complaint"
    busy = Facts(consent=OPT_IN, marketing_sent=[NOON_SHANGHAI - timedelta(days=d) for d in (1, 6)])
    assert decide("marketing", "sms", busy, SETTINGS, NOON_SHANGHAI).reason == "frequency_cap"
    assert decide("transactional", "sms", busy, SETTINGS, NOON_SHANGHAI).allowed


def test_a_cap_counts_a_rolling_window() -> None:
    cap = FrequencyCap(limit=2, days=7)
    sent = [NOON_SHANGHAI - timedelta(days=7, seconds=1), NOON_SHANGHAI - timedelta(days=1)]
    assert not cap.reached(sent, NOON_SHANGHAI)
    assert cap.reached([*sent, NOON_SHANGHAI - timedelta(hours=1)], NOON_SHANGHAI)


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 3, 3, 13, 0, tzinfo=UTC), datetime(2026, 3, 4, 0, 0, tzinfo=UTC)),  # 21:00 Shanghai
        (datetime(2026, 3, 3, 12, 59, tzinfo=UTC), None),  # 20:59 Shanghai
        (datetime(2026, 3, 3, 16, 0, tzinfo=UTC), datetime(2026, 3, 4, 0, 0, tzinfo=UTC)),  # midnight Shanghai
        (datetime(2026, 3, 3, 23, 59, tzinfo=UTC), datetime(2026, 3, 4, 0, 0, tzinfo=UTC)),  # 07:59
        (datetime(2026, 3, 4, 0, 0, tzinfo=UTC), None),  # 08:00 sharp: quiet hours are over
    ],
)
def test_quiet_hours_cross_midnight_and_end_at_eight_local_time(utc: datetime, expected: datetime | None) -> None:
    assert quiet_until(SETTINGS, None, utc) == expected


def test_quiet_hours_follow_the_customers_own_time_zone_through_a_clock_change() -> None:
    # 2026-03-08 02:00 New York springs forward; 23:00 EST on the 7th is 04:00 UTC on the 8th.
    late = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)
    until = quiet_until(SETTINGS, "America/New_York", late)
    assert until == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert quiet_until(SETTINGS, "Not/AZone", NOON_SHANGHAI) is None  # unknown zone: Shanghai, where it is noon


def test_a_deferred_send_reports_quiet_hours_and_when_it_may_go() -> None:
    late = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    verdict = decide("marketing", "sms", Facts(consent=OPT_IN), SETTINGS, late)
    assert verdict.allowed and verdict.reason == "quiet_hours"
    assert verdict.not_before == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)


def test_the_latest_consent_by_time_counts_per_channel() -> None:
    out = ConsentRecord("sms", "opt_out", NOON_SHANGHAI - timedelta(days=1), "回复TD")
    email = ConsentRecord("email", "opt_in", NOON_SHANGHAI, "官网")
    assert latest_consent([out, OPT_IN, email], "sms") == out
    assert latest_consent([out, OPT_IN], "wechat_template") is None


def test_settings_name_the_bad_field() -> None:
    with pytest.raises(InvalidInput, match=r"quiet_hours\.end"):
        GuardrailSettings.from_settings({"quiet_hours": {"start": "21:00", "end": "8点"}})
    with pytest.raises(InvalidInput, match="timezone"):
        GuardrailSettings.from_settings({"timezone": "Mars/Olympus"})
    round_trip = GuardrailSettings.from_settings({"caps": [{"limit": 1, "days": 1}, {"limit": 4, "days": 30}]})
    assert GuardrailSettings.from_settings(round_trip.to_dict()) == round_trip


def test_templates_fill_text_and_keep_types_in_provider_bodies() -> None:
    assert placeholders("{{name}}您好，{{ coupon }}，{{name}}") == ["name", "coupon"]
    assert render("{{name}}您好", {"name": "小鹿"}) == "小鹿您好"
    body = fill({"to": "{{to}}", "n": "{{count}}", "data": {"v": "共{{count}}件"}}, {"to": "oA", "count": 3})
    assert body == {"to": "oA", "n": 3, "data": {"v": "共3件"}}
    with pytest.raises(InvalidInput, match="coupon"):
        render("送您{{coupon}}", {})
