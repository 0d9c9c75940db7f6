"""Playbook documents render into valid journeys; co-purchase lift; the durable-purchase guardrail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.analytics.copurchase import adjacent_categories
from liuyu.domain.engagement.guardrails import (
    RECENT_PURCHASE_IN_CATEGORY,
    ConsentRecord,
    Facts,
    GuardrailSettings,
    decide,
)
from liuyu.domain.engagement.journey_format import read_journey
from liuyu.domain.engagement.playbook import read_playbook
from liuyu.domain.errors import InvalidInput
from liuyu.services.playbooks import catalog, playbook

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def test_every_shipped_playbook_renders_a_valid_journey_with_defaults_and_chinese_words() -> None:
    names = [b.name for b in catalog()]
    assert len(names) == 7 and len(set(names)) == 7
    for book in catalog():
        assert book.title and book.description and all(p.label for p in book.parameters)
        if book.journey is not None:
            read_journey(book.render())


def test_a_placeholder_keeps_the_parameters_type_and_a_minus_negates_it() -> None:
    rendered = playbook("birthday").render({"days_before": "5", "channel": "email"})
    assert rendered["trigger"]["offset_days"] == -5
    assert rendered["steps"][1]["send"]["channel"] == "email"
    dormant = playbook("dormant_reactivation").render({"days": 60})
    assert dormant["trigger"]["offset_days"] == 60
    assert dormant["steps"][3]["branch"]["if"] == "days_since_last_order < 60"


def test_bad_values_name_the_parameter() -> None:
    with pytest.raises(InvalidInput) as out_of_range:
        playbook("second_touch").values({"wait_days": 40})
    assert out_of_range.value.field == "parameters.wait_days"
    with pytest.raises(InvalidInput) as unknown:
        playbook("second_touch").values({"coupon_code": "X"})
    assert unknown.value.field == "coupon_code"
    with pytest.raises(InvalidInput):
        playbook("second_touch").values({"channel": "fax"})
    assert playbook("durable_suppression").values({"categories": "冰箱，沙发, "})["categories"] == ["冰箱", "沙发"]


def test_a_placeholder_without_a_parameter_is_a_shipping_error() -> None:
    doc = {"name": "x", "title": "x", "description": "x", "parameters": {}, "guardrail": {"days": "${days}"}}
    with pytest.raises(InvalidInput, match="days"):
        read_playbook(doc)


def test_adjacent_categories_rank_by_lift_and_drop_rare_and_unrelated_pairs() -> None:
    baskets = [{"咖啡", "咖啡杯"}] * 3 + [{"咖啡"}] * 3 + [{"茶叶", "咖啡"}] * 2 + [{"茶叶"}] * 6 + [{"咖啡杯", "茶叶"}]
    found = adjacent_categories(baskets, min_together=2)
    (cup,) = found["咖啡"]  # tea with coffee: 2/8 of coffee baskets against 9/15 overall, lift below 1
    assert cup.category == "咖啡杯" and cup.together == 3
    assert cup.confidence == round(3 / 8, 4) and cup.lift == round((3 / 8) / (4 / 15), 4)
    assert "茶叶" not in found  # tea with the cup is seen once: below min_together


def test_a_durable_category_bought_recently_stops_its_promotion_only() -> None:
    settings = GuardrailSettings.from_settings({"durable_categories": {"冰箱": 180}})
    assert GuardrailSettings.from_settings(settings.to_dict()) == settings
    consent = ConsentRecord("sms", "opt_in", NOW - timedelta(days=100), "小程序")
    recent = Facts(consent=consent, category="冰箱", category_bought_at=NOW - timedelta(days=30))
    verdict = decide("marketing", "sms", recent, settings, NOW)
    assert (verdict.allowed, verdict.reason) == (False, RECENT_PURCHASE_IN_CATEGORY)
    long_ago = Facts(consent=consent, category="冰箱", category_bought_at=NOW - timedelta(days=200))
    assert decide("marketing", "sms", long_ago, settings, NOW).allowed
    assert decide("service", "sms", recent, settings, NOW).allowed
    with pytest.raises(InvalidInput):
        GuardrailSettings.from_settings({"durable_categories": {"冰箱": 0}})
