"""Suggestions and aspects with clause-level sentiment."""

from __future__ import annotations

import pytest

from liuyu.nlp.aspects import aspect_clauses, find_suggestion, tag_aspects
from liuyu.nlp.sentiment import load_builtin_sentiment_model


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("希望能出个大码的黑色款,其他都好", "希望能出个大码的黑色款"),
        ("建议包装再结实一点", "建议包装再结实一点"),
        ("东西不错,要是能便宜点,就好了", "要是能便宜点,就好了"),
        ("能不能加个无糖的口味", "能不能加个无糖的口味"),
    ],
)
def test_improvement_proposals_are_suggestions_with_their_text(text: str, expected: str) -> None:
    assert find_suggestion(text) == expected


@pytest.mark.parametrize("text", ["质量很好,物流很快", "什么时候发货", "太差了,退款"])
def test_plain_praise_questions_and_complaints_are_not_suggestions(text: str) -> None:
    assert find_suggestion(text) is None


def test_each_clause_gets_the_aspects_it_names() -> None:
    pairs = aspect_clauses("质量很好,但是物流太慢了,客服态度也差")
    assert pairs == [("quality", "质量很好"), ("logistics", "但是物流太慢了"), ("service", "客服态度也差")]


def test_contrast_words_split_a_clause_so_each_aspect_gets_its_own_sentiment() -> None:
    model = load_builtin_sentiment_model()
    (aspects,) = tag_aspects(["质量很好但是物流太慢了"], model.predict)
    verdicts = {a.aspect: a.sentiment for a in aspects}
    assert verdicts == {"quality": "positive", "logistics": "negative"}


def test_a_text_without_aspect_words_has_no_aspects() -> None:
    assert tag_aspects(["你好,在吗"], load_builtin_sentiment_model().predict) == [[]]
