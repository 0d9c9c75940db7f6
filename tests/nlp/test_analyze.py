"""``analyze()``: one insight per text, everything wired, intent optional."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator

import pytest

from liuyu.nlp.analyze import AnalyzeOptions, CatalogItem, analyze, intent_classifier

COMPLAINT = "你们这帮骗子!订单号123456789012345678催了三次了还没发货,再不发我就打12315投诉"
SUGGESTION = "黑武士手柄质量很好,但是物流太慢了。希望能出个白色款,预算两三百块"


@pytest.fixture
def no_intent_cache() -> Iterator[None]:
    intent_classifier.cache_clear()
    yield
    intent_classifier.cache_clear()


def test_one_insight_per_text_in_order() -> None:
    insights = analyze(["质量很好", "", "太差了"])
    assert [i.text for i in insights] == ["质量很好", "", "太差了"]
    assert analyze([]) == []


def test_a_complaint_is_negative_angry_and_escalating_with_its_order_number() -> None:
    (insight,) = analyze([COMPLAINT])
    assert insight.sentiment.label == "negative"
    assert insight.signals.anger in ("medium", "high")
    assert insight.signals.escalation == "high"
    assert [e.value["number"] for e in insight.entities if e.type == "order_number"] == ["123456789012345678"]


def test_a_suggestion_gets_its_text_aspects_product_and_price() -> None:
    catalog = [CatalogItem("PAD-01", "黑武士手柄")]
    (insight,) = analyze([SUGGESTION], catalog=catalog)
    assert insight.suggestion
    assert insight.suggestion_text == "希望能出个白色款"
    assert {(a.aspect, a.sentiment) for a in insight.aspects} >= {("quality", "positive"), ("logistics", "negative")}
    types_found = {e.type for e in insight.entities}
    assert {"product", "price_range", "color"} <= types_found


def test_tokens_are_returned_on_request_with_catalog_terms_whole() -> None:
    options = AnalyzeOptions(workspace="ws-tokens", include_tokens=True)
    (insight,) = analyze(["黑武士手柄坏了"], catalog=["黑武士手柄"], options=options)
    assert insight.tokens is not None
    assert "黑武士手柄" in insight.tokens
    (without,) = analyze(["黑武士手柄坏了"])
    assert without.tokens is None


def test_every_insight_is_json_serializable() -> None:
    for insight in analyze([COMPLAINT, SUGGESTION, "", "😀"]):
        data = json.loads(json.dumps(insight.to_dict(), ensure_ascii=False))
        assert set(data) >= {"text", "sentiment", "signals", "intent", "entities", "aspects", "truncated"}


def test_intent_is_none_when_no_classifier_is_installed(monkeypatch: pytest.MonkeyPatch, no_intent_cache: None) -> None:
    monkeypatch.setitem(sys.modules, "liuyu.nlp.intent", None)  # makes the import fail
    (insight,) = analyze(["什么时候发货"])
    assert insight.intent is None


def test_intent_is_none_when_the_intent_model_file_is_missing(
    monkeypatch: pytest.MonkeyPatch, no_intent_cache: None
) -> None:
    def missing(fast: bool = False) -> object:
        raise FileNotFoundError("intent.joblib")

    fake = types.ModuleType("liuyu.nlp.intent")
    fake.load_builtin_intent_classifier = missing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "liuyu.nlp.intent", fake)
    assert analyze(["什么时候发货"])[0].intent is None


def test_intent_comes_from_the_intent_classifier_when_installed(
    monkeypatch: pytest.MonkeyPatch, no_intent_cache: None
) -> None:
    class ShippingEverything:
        def predict(self, texts: list[str]) -> list[tuple[str, float]]:
            return [("shipping", 0.9) for _ in texts]

    fake = types.ModuleType("liuyu.nlp.intent")
    fake.load_builtin_intent_classifier = lambda fast=False: ShippingEverything()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "liuyu.nlp.intent", fake)
    insights = analyze(["什么时候发货", "到哪了"])
    assert [(i.intent.label, i.intent.score) for i in insights if i.intent] == [("shipping", 0.9)] * 2


def test_options_switch_parts_off() -> None:
    options = AnalyzeOptions(entities=False, aspects=False, intent=False)
    (insight,) = analyze([SUGGESTION], options=options)
    assert insight.entities == ()
    assert insight.aspects == ()
    assert insight.intent is None
    assert insight.sentiment.label in ("positive", "neutral", "negative")


def test_the_offline_implementations_satisfy_the_text_ports() -> None:
    from liuyu.nlp.entities import EntityExtractor as OfflineEntityExtractor
    from liuyu.nlp.sentiment import load_builtin_sentiment_model
    from liuyu.nlp.tokenize import JiebaTokenizer
    from liuyu.services.ports_text import EntityExtractor, SentimentModel, TextAnalyzer, Tokenizer

    assert isinstance(JiebaTokenizer(), Tokenizer)
    assert isinstance(load_builtin_sentiment_model(), SentimentModel)
    assert isinstance(OfflineEntityExtractor(), EntityExtractor)
    assert isinstance(analyze, TextAnalyzer)


def test_a_catalog_can_be_given_as_mappings_with_aliases() -> None:
    catalog = [{"sku": "NUT-07", "name": "每日坚果", "aliases": ["坚果礼盒"]}]
    (insight,) = analyze(["坚果礼盒收到了"], catalog=catalog)
    assert [e.value["sku"] for e in insight.entities if e.type == "product"] == ["NUT-07"]


def test_intent_predictions_may_also_be_objects_with_a_label_and_a_confidence(
    monkeypatch: pytest.MonkeyPatch, no_intent_cache: None
) -> None:
    class Prediction:
        label = "return_refund"
        confidence = 0.8

    class Refunds:
        def predict(self, texts: list[str]) -> list[Prediction]:
            return [Prediction() for _ in texts]

    fake = types.ModuleType("liuyu.nlp.intent")
    fake.load_builtin_intent_classifier = lambda fast=False: Refunds()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "liuyu.nlp.intent", fake)
    (insight,) = analyze(["我要退款"])
    assert insight.intent is not None
    assert (insight.intent.label, insight.intent.score) == ("return_refund", 0.8)
