"""Bad input never raises, and oversized input is truncated by the documented rule."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liuyu.nlp.analyze import analyze
from liuyu.nlp.text import MAX_CHARS, clean

ODD_TEXTS = [
    "",
    "   \n\t ",
    "\x00\x01\x02控制字符\x7f\x1b[31m",
    "😀😡🤬👍🏻👨‍👩‍👧",
    "<div class='x'>质量<b>很好</b></div><script>alert(1)</script>&amp;&lt;",
    "這個東西質量太差了，我要退貨",
    "ｉｐｈｏｎｅ　１３８１２３４５６７８　！！！",
    "mixed English 和中文 text 123 ١٢٣ Ελληνικά русский",
    "\ud800 lone surrogate",
    "￥" * 50,
    "1" * 5000,
    "<" * 3000,
]


def test_odd_texts_are_analyzed_without_exceptions() -> None:
    insights = analyze(ODD_TEXTS)
    assert len(insights) == len(ODD_TEXTS)
    assert all(insight.sentiment.label in ("positive", "neutral", "negative") for insight in insights)


def test_a_100_kb_text_is_cut_to_the_first_max_chars_and_flagged() -> None:
    huge = "质量很好,物流很快。" * 10_000  # 100,000 characters
    (insight,) = analyze([huge])
    assert insight.truncated
    assert len(insight.text) == MAX_CHARS
    assert huge.startswith(insight.text)


def test_short_texts_are_not_flagged_truncated() -> None:
    assert not analyze(["质量很好"])[0].truncated


def test_html_is_stripped_and_entities_unescaped() -> None:
    assert clean("<p>质量&amp;价格<br/>都好</p>").text == "质量&价格 都好"


def test_full_width_digits_become_half_width_and_are_read_as_a_phone() -> None:
    (insight,) = analyze(["电话：１３８１２３４５６７８"])
    assert [e.value for e in insight.entities if e.type == "phone"] == ["+8613812345678"]


def test_traditional_text_is_marked_and_read_as_simplified() -> None:
    (insight,) = analyze(["這個東西質量太差了"])
    assert insight.script == "zh-Hant"
    assert insight.text == "这个东西质量太差了"


def test_control_characters_are_removed() -> None:
    assert clean("好\x00评\x07").text == "好评"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=300), max_size=4))
def test_analyze_never_raises_on_arbitrary_text(texts: list[str]) -> None:
    insights = analyze(texts)
    assert len(insights) == len(texts)
    for insight in insights:
        for entity in insight.entities:
            assert insight.text[entity.span[0] : entity.span[1]] == entity.text
