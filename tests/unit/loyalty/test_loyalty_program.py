"""Program definitions: loaded from YAML-shaped data, bad fields named by path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from loyalty_helpers import make_program, program_data

from liuyu.domain.errors import InvalidInput
from liuyu.domain.loyalty.program import InvalidProgram, load_program


def problem_fields(data: dict) -> list[str]:
    with pytest.raises(InvalidProgram) as caught:
        load_program(data)
    return [str(p["field"]) for p in caught.value.problems]


def test_given_the_example_yaml_when_loaded_then_tiers_rules_and_templates_are_typed() -> None:
    program = make_program()
    assert [t.code for t in program.tiers] == ["MEMBER", "GOLD", "BLACK"]
    assert program.tier("GOLD").benefits.points_multiplier == Decimal("1.5")
    assert program.template("GOLD-30").threshold == Decimal(200)
    assert program.rules[0].effective_from.utcoffset() is not None


def test_given_a_negative_rate_when_loaded_then_the_error_names_the_rule_field_and_why() -> None:
    data = program_data()
    data["rules"][2]["points_per_yuan"] = -1
    with pytest.raises(InvalidProgram) as caught:
        load_program(data)
    assert caught.value.field == "rules.2.points_per_yuan"
    assert "0 or more" in caught.value.reason
    assert isinstance(caught.value, InvalidInput)


def test_given_a_misspelt_setting_when_loaded_then_the_path_of_the_unknown_field_is_reported() -> None:
    data = program_data()
    data["tiers"][1]["benefits"]["free_shiping"] = True
    assert problem_fields(data) == ["tiers.1.benefits.free_shiping"]


def test_given_several_mistakes_when_loaded_then_every_one_is_listed() -> None:
    data = program_data(timezone="Mars/Olympus")
    data["tiers"][2]["threshold"] = 500  # below GOLD's 1000
    data["rules"][3].pop("effective_until")  # a campaign without an end
    data["coupon_templates"][0]["amount_off"] = 300  # 满200减300
    assert sorted(problem_fields(data)) == [
        "coupon_templates.0.threshold",
        "rules.3.effective_until",
        "tiers.2.threshold",
        "timezone",
    ]


def test_given_a_naive_effective_time_when_loaded_then_it_is_rejected_because_times_need_a_zone() -> None:
    data = program_data()
    data["rules"][0]["effective_from"] = "2026-01-01T00:00:00"
    assert problem_fields(data) == ["rules.0.effective_from"]


def test_given_an_exclusive_coupon_without_a_template_when_loaded_then_the_reference_is_flagged() -> None:
    data = program_data()
    data["tiers"][1]["benefits"]["exclusive_coupons"] = ["NOPE"]
    assert problem_fields(data) == ["tiers.1.benefits.exclusive_coupons.0"]


def test_given_two_versions_of_a_rule_when_asked_at_a_time_then_the_newest_started_version_is_in_force() -> None:
    data = program_data()
    data["rules"].append(
        {"id": "base", "kind": "base_rate", "points_per_yuan": 2, "effective_from": "2026-06-01T00:00:00+08:00"}
    )
    program = load_program(data)

    def base_rate(at: datetime) -> Decimal | None:
        return next(r.points_per_yuan for r in program.rules_in_force(at) if r.id == "base")

    assert base_rate(datetime(2026, 5, 31, 15, 59, tzinfo=UTC)) == Decimal(1)
    assert base_rate(datetime(2026, 5, 31, 16, 0, tzinfo=UTC)) == Decimal(2)


def test_given_a_new_version_that_changes_the_kind_when_loaded_then_it_is_refused() -> None:
    data = program_data()
    data["rules"].append({"id": "base", "kind": "first_order", "points": 5, "effective_from": "2026-06-01T00:00:00Z"})
    assert problem_fields(data) == [f"rules.{len(data['rules']) - 1}.kind"]


def test_given_a_campaign_window_when_asked_then_it_is_in_force_only_inside_it() -> None:
    program = make_program()
    inside = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)  # 11.11 00:00 Beijing
    after = datetime(2026, 11, 11, 16, 0, tzinfo=UTC)
    assert "double11" in {r.id for r in program.rules_in_force(inside)}
    assert "double11" not in {r.id for r in program.rules_in_force(after)}


def test_given_overlapping_versions_and_windows_when_asked_at_any_time_then_the_definition_holds() -> None:
    data = program_data()
    data["rules"] += [
        {"id": "base", "kind": "base_rate", "points_per_yuan": 2, "effective_from": "2026-11-11T12:00:00+08:00"},
        {"id": "base", "kind": "base_rate", "points_per_yuan": 3, "effective_from": "2026-11-12T00:00:00+08:00"},
        {
            "id": "night",
            "kind": "campaign",
            "multiplier": 3,
            "effective_from": "2026-11-11T20:00:00+08:00",
            "effective_until": "2026-11-12T02:00:00+08:00",
        },
    ]
    program = load_program(data)

    def by_definition(at: datetime) -> set[tuple[str, datetime]]:
        started = [r for r in program.rules if r.effective_from <= at]
        newest = {r.id: r for r in sorted(started, key=lambda r: r.effective_from)}
        return {
            (r.id, r.effective_from) for r in newest.values() if r.effective_until is None or at < r.effective_until
        }

    start = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    for minute in range(0, 3 * 24 * 60, 30):
        at = start + timedelta(minutes=minute)
        assert {(r.id, r.effective_from) for r in program.rules_in_force(at)} == by_definition(at), at
