"""Anger and escalation signals with their trigger words."""

from __future__ import annotations

import pytest

from liuyu.nlp.signals import detect_signals
from liuyu.nlp.text import clean


def signals(text: str):
    return detect_signals(clean(text).text)


def test_a_threat_to_call_12315_is_high_escalation_with_its_trigger() -> None:
    result = signals("再不发货我就打12315投诉你们")
    assert result.escalation == "high"
    kinds = {t.kind for t in result.triggers}
    assert "regulator_complaint" in kinds
    assert "12315" in [t.text for t in result.triggers]


@pytest.mark.parametrize(
    "text",
    ["我要去消协告你们", "不处理我就曝光到微博", "我已经找律师了,准备起诉", "你们不退款我就报警"],
)
def test_threats_to_take_it_outside_raise_escalation(text: str) -> None:
    assert signals(text).escalation in ("medium", "high")


def test_insults_make_a_customer_angry() -> None:
    result = signals("你们这帮骗子,卖的什么垃圾东西")
    assert result.anger in ("medium", "high")
    assert {"骗子", "垃圾"} <= {t.text for t in result.triggers}


def test_repeated_urgency_is_anger_with_the_words_that_show_it() -> None:
    result = signals("快点发货!!!到底什么时候发?都催三次了")
    assert result.anger == "high"
    assert {"快点", "到底", "三次了"} <= {t.text for t in result.triggers}


def test_a_negated_threat_raises_nothing() -> None:
    result = signals("放心,不会给差评的")
    assert result.escalation == "none"
    assert result.triggers == ()


def test_calm_praise_raises_nothing() -> None:
    result = signals("东西很好,物流很快,下次还来")
    assert (result.anger, result.escalation, result.triggers) == ("none", "none", ())


def test_a_refund_demand_is_escalation_but_not_anger() -> None:
    result = signals("这个不合适,我要退款")
    assert result.escalation != "none"
    assert result.anger == "none"


def test_trigger_spans_point_at_the_trigger_in_the_text() -> None:
    text = clean("订单号123456789012345678,再拖我就投诉到12315").text
    for trigger in detect_signals(text).triggers:
        assert text[trigger.span[0] : trigger.span[1]] == trigger.text


def test_digits_of_an_order_number_are_not_a_hotline() -> None:
    result = signals("订单123123151234567890还没到")
    assert "regulator_complaint" not in {t.kind for t in result.triggers}
