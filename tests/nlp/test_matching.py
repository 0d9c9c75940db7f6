"""Question matching: pair features, a model trained on a small sample, model files, odd input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from liuyu.domain.errors import InvalidInput
from liuyu.nlp.intent import ModelFileError
from liuyu.nlp.matching import (
    BUILTIN_MATCH_MODEL,
    MatchModel,
    _scalar_features,
    load_match_model,
    read_pairs_csv,
    train_match_model,
)

# (question a, question b, 1 when they ask the same thing)
PAIRS = [
    ("花呗怎么提额", "怎样提高花呗额度", 1),
    ("快递几天能到", "发货后多久可以收到", 1),
    ("可以开发票吗", "能不能开发票", 1),
    ("退货运费谁出", "退回来的邮费谁承担", 1),
    ("会员积分怎么用", "积分可以抵扣吗", 1),
    ("怎么修改收货地址", "收货地址填错了怎么改", 1),
    ("能用花呗付款吗", "支持花呗支付吗", 1),
    ("多久发货", "什么时候发货", 1),
    ("衣服起球怎么办", "衣服起毛球了怎么处理", 1),
    ("手机屏幕碎了能保修吗", "屏幕摔碎了保修范围吗", 1),
    ("7天无理由退货吗", "支持七天无理由退货吗", 1),
    ("怎么联系人工客服", "人工客服在哪里找", 1),
    ("花呗怎么提额", "花呗怎么还款", 0),
    ("快递几天能到", "快递丢了怎么办", 0),
    ("可以开发票吗", "发票抬头写错了", 0),
    ("退货运费谁出", "换货运费谁出", 0),
    ("会员积分怎么用", "会员等级怎么升级", 0),
    ("怎么修改收货地址", "怎么修改登录密码", 0),
    ("能用花呗付款吗", "花呗逾期了怎么办", 0),
    ("多久发货", "多久能退款", 0),
    ("衣服起球怎么办", "衣服尺码偏大吗", 0),
    ("手机屏幕碎了能保修吗", "手机屏幕多大", 0),
    ("7天无理由退货吗", "15天无理由退货吗", 0),
    ("怎么联系人工客服", "人工客服几点下班", 0),
]


@pytest.fixture(scope="module")
def small_model() -> MatchModel:
    a, b, y = zip(*PAIRS, strict=True)
    return train_match_model(list(a), list(b), list(y), max_iter=60)


def test_numbers_and_negations_that_disagree_are_flagged() -> None:
    same_numbers = _scalar_features("7天无理由退货吗", "7天内可以无理由退货吗")
    other_numbers = _scalar_features("7天无理由退货吗", "15天无理由退货吗")
    assert same_numbers[12] == 0.0 and other_numbers[12] == 1.0
    negated = _scalar_features("能退货吗", "不能退货吗")
    assert negated[13] == 1.0


def test_a_trained_model_tells_paraphrases_from_same_topic_questions(small_model: MatchModel) -> None:
    probabilities = small_model.probabilities([a for a, _, _ in PAIRS], [b for _, b, _ in PAIRS])
    labels = np.array([y for _, _, y in PAIRS])
    # On its own training pairs the model must separate the classes.
    assert probabilities[labels == 1].mean() > probabilities[labels == 0].mean() + 0.3


def test_matching_odd_input_does_not_raise(small_model: MatchModel) -> None:
    for a, b in [("", ""), ("\x00", "退款"), ("😀" * 10, "😀"), ("退" * 100_000, "退款"), ("１２３", "123")]:
        result = small_model.match(a, b)
        assert 0.0 <= result.probability <= 1.0
    assert small_model.probabilities([], []).shape == (0,)


def test_a_saved_model_loads_and_gives_the_same_answers(small_model: MatchModel, tmp_path: Path) -> None:
    path = small_model.save(tmp_path / "match.joblib")
    loaded = load_match_model(path)
    assert loaded.match("多久发货", "什么时候发货") == small_model.match("多久发货", "什么时候发货")


def test_a_missing_match_model_names_the_rebuild_command(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="liuyu nlp train-match"):
        load_match_model(tmp_path / "missing.joblib")


def test_an_intent_model_is_not_accepted_as_a_match_model(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "intent.joblib"
    joblib.dump({"kind": "liuyu-intent", "version": 1, "model": None}, path)
    with pytest.raises(ModelFileError, match="not a liuyu match model"):
        load_match_model(path)


def test_training_needs_both_kinds_of_pair() -> None:
    with pytest.raises(InvalidInput):
        MatchModel().fit(["a"], ["b"], [1], np.zeros((1, 384)), np.zeros((1, 384)))


def test_pair_files_read_the_usual_label_spellings_and_skip_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "text_a,text_b,label\n多久发货,什么时候发货,1\n退款,,0\n换货,退货,x\n花呗提额,借呗还款,不匹配\n",
        encoding="utf-8",
    )
    assert read_pairs_csv(path) == (["多久发货", "花呗提额"], ["什么时候发货", "借呗还款"], [1, 0])


def test_the_shipped_model_matches_a_clear_paraphrase() -> None:
    if not BUILTIN_MATCH_MODEL.is_file():
        pytest.skip(f"{BUILTIN_MATCH_MODEL} not built; run liuyu nlp train-match")
    model = load_match_model()
    assert model.match("花呗怎么提高额度", "怎样提升花呗额度").same
    assert not model.match("花呗怎么提高额度", "借呗怎么还款").same
