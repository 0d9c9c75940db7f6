"""The segment language: read, written back, as JSON, with errors that point at the problem."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from liuyu.domain.engagement.segment import (
    And,
    Call,
    Compare,
    InList,
    Not,
    Or,
    SegmentSyntaxError,
    explain,
    from_json,
    matches,
    parse,
    to_json,
    to_text,
)
from liuyu.domain.errors import InvalidInput

EXAMPLE = 'tier in ("gold","platinum") and days_since_last_order > 90 and not tag("已投诉") and bought_category("坚果")'


def test_the_products_example_reads_as_four_clauses_joined_by_and() -> None:
    assert parse(EXAMPLE) == And(
        (
            InList("tier", ("gold", "platinum")),
            Compare("days_since_last_order", ">", 90),
            Not(Call("tag", ("已投诉",))),
            Call("bought_category", ("坚果",)),
        )
    )


def test_and_binds_tighter_than_or_and_brackets_change_that() -> None:
    a, b, c = Compare("a", "=", 1), Compare("b", "=", 2), Compare("c", "=", 3)
    assert parse("a = 1 or b = 2 and c = 3") == Or((a, And((b, c))))
    assert parse("(a = 1 or b = 2) and c = 3") == And((Or((a, b)), c))


def test_keywords_are_case_insensitive_and_operators_have_synonyms() -> None:
    assert parse("A == 1 AND NOT b <> 'x'") == And((Compare("A", "=", 1), Not(Compare("b", "!=", "x"))))


def test_numbers_with_a_point_are_exact_decimals_and_chinese_quotes_are_accepted() -> None:
    assert parse("total_spent >= 99.90") == Compare("total_spent", ">=", Decimal("99.90"))
    assert parse("city = “上海”") == Compare("city", "=", "上海")
    assert parse("order_count > -1 and vip = true") == And((Compare("order_count", ">", -1), Compare("vip", "=", True)))


@pytest.mark.parametrize(
    "expression",
    [
        EXAMPLE,
        'not (city = "上海" or city = "北京") and order_count >= 2',
        "a = 1 or b = 2 and (c = 3 or d != 4)",
        'not not tag("x", \'say "hi"\')',
        'city not in ("上海", "杭州") and total_spent < 1000.5',
    ],
)
def test_text_and_json_forms_round_trip_to_the_same_tree(expression: str) -> None:
    tree = parse(expression)
    assert parse(to_text(tree)) == tree
    assert from_json(json.loads(json.dumps(to_json(tree), ensure_ascii=False))) == tree


def test_the_json_form_is_what_the_console_builder_edits() -> None:
    assert to_json(parse('order_count >= 2 and not tag("已投诉")')) == {
        "and": [{"field": "order_count", "op": ">=", "value": 2}, {"not": {"call": "tag", "args": ["已投诉"]}}]
    }


@pytest.mark.parametrize(
    ("expression", "position", "words"),
    [
        ("days_since_last_order > ", 24, "expected a value"),
        ('tag(已投诉) and city = "上海"', 4, 'put text in quotes: "已投诉"'),
        ("order_count > 1 and (city = 'x'", 31, "expected ')'"),
        ("order_count >> 2", 13, "expected a value"),
        ('city = "上海', 7, "never closed"),
        ("tier in gold", 8, "expected '('"),
        ("order_count 2", 12, "expected a comparison"),
        ("order_count > 2 city = 'x'", 16, "expected 'and', 'or'"),
        ("tag（'x'）", 3, "full-width"),
        ("   ", 0, "empty"),
        ("a = 1 and", 9, "expected a field name"),
    ],
)
def test_a_syntax_error_names_the_position_of_the_problem(expression: str, position: int, words: str) -> None:
    with pytest.raises(SegmentSyntaxError) as caught:
        parse(expression)
    assert caught.value.position == position
    assert words in str(caught.value)
    assert f"position {position + 1}" in str(caught.value)


def test_the_pointer_puts_a_caret_under_the_problem_counting_chinese_as_two_columns() -> None:
    with pytest.raises(SegmentSyntaxError) as caught:
        parse('city = "上海" 和')
    source, caret = caught.value.pointer().splitlines()
    assert source == 'city = "上海" 和'
    assert caret == " " * 14 + "^"


def test_a_syntax_error_is_an_invalid_input_for_the_api_to_report() -> None:
    with pytest.raises(InvalidInput):
        parse("city =")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"and": [{"field": "a", "op": "~", "value": 1}]}, "$.and[0].op"),
        ({"or": [{"field": "a", "op": "=", "value": 1}, {"call": "tag", "args": []}]}, "$.or[1].args"),
        ({"not": {"field": "a b", "op": "=", "value": 1}}, "$.not.field"),
        ({"field": "a", "op": "in", "values": [1, None]}, "$.values[1]"),
        ({"nonsense": 1}, "$"),
    ],
)
def test_a_bad_json_form_names_the_path_of_the_problem(data: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        from_json(data)
    assert caught.value.where == where


def test_explain_shows_each_clauses_value_and_verdict() -> None:
    customer = {"tier": "gold", "days_since_last_order": 120, "tag": {"VIP"}, "bought_category": ["坚果", "茶"]}
    why = explain(parse(EXAMPLE), customer)
    assert why.result is True
    assert [(p.text, p.seen, p.result) for p in why.parts] == [
        ('tier in ("gold", "platinum")', "gold", True),
        ("days_since_last_order > 90", 120, True),
        ('not tag("已投诉")', None, True),
        ('bought_category("坚果")', ["坚果", "茶"], True),
    ]
    assert "✓ days_since_last_order > 90  (value: 120)" in "\n".join(why.lines())


def test_explain_says_which_clause_keeps_a_customer_out() -> None:
    customer = {"tier": "gold", "days_since_last_order": 120, "tag": {"已投诉"}, "bought_category": ["坚果"]}
    why = explain(parse(EXAMPLE), customer)
    assert why.result is False
    assert [p.text for p in why.parts if not p.result] == ['not tag("已投诉")']


def test_an_unknown_value_never_matches_a_comparison_so_not_includes_it() -> None:
    prospect = {"days_since_last_order": None}
    assert not matches(parse("days_since_last_order > 30"), prospect)
    assert matches(parse("not days_since_last_order > 30"), prospect)
    assert not matches(parse('city not in ("上海")'), {"city": None})


def test_numbers_compare_as_numbers_and_text_as_text() -> None:
    assert matches(parse("total_spent >= 99.5"), {"total_spent": Decimal("99.50")})
    assert not matches(parse("total_spent >= 99.5"), {"total_spent": 99})
    assert matches(parse('city in ("上海", "北京")'), {"city": "北京"})


def test_every_field_an_operator_can_use_is_documented_in_docs_segments() -> None:
    from pathlib import Path

    from liuyu.storage.segments import FIELDS

    docs = (Path(__file__).resolve().parents[3] / "docs" / "segments.md").read_text(encoding="utf-8")
    missing = [name for name in [*FIELDS.values, *FIELDS.predicates] if f"`{name}" not in docs]
    assert missing == []
