"""QA criterion "answer consistent with the knowledge base": questions paired with answers,
compared with the knowledge base's best answer, scored with the reply, the source and a similarity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.qa import (
    QaRubric,
    answer_similarity,
    answered_questions,
    compare_with_knowledge,
    inspect,
)

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
TRIAL = "床垫支持100晚试睡，不满意可以退，需要保留原包装。"
INVOICE = "订单详情页点申请发票，电子发票当天开出。"
KB = {"试睡": ("《售后政策》 售后政策 › 床垫试睡", TRIAL), "发票": ("常见问题 #12", INVOICE)}


def chat(*turns: tuple[str, str]) -> Conversation:
    """(who, text) turns a minute apart; who is 'c' for the customer, 'a' for the agent."""
    conversation = Conversation("C-9", "tmall", T0)
    for n, (who, text) in enumerate(turns, start=1):
        sent = T0 + timedelta(minutes=n)
        inbound = who == "c"
        kind = "customer" if inbound else "agent"
        conversation.add_message(Message(f"m{n}", "in" if inbound else "out", sent, text, "tmall", kind, kind))
    return conversation


def knowledge_base(question: str) -> tuple[str, str] | None:
    return next((answer for word, answer in KB.items() if word in question), None)


def test_a_pasted_answer_inside_a_greeting_is_close_and_a_different_answer_is_far() -> None:
    assert answer_similarity(f"您好，{TRIAL}", TRIAL) >= 0.9
    assert answer_similarity("亲，床垫支持100晚试睡哦", TRIAL) >= 0.8, "a sentence quoted from a long passage"
    assert answer_similarity("这个不支持退货，抱歉", TRIAL) < 0.3
    assert answer_similarity("", TRIAL) == 0.0


def test_each_stretch_of_customer_messages_pairs_with_the_replies_that_follow_it() -> None:
    conversation = chat(
        ("c", "在吗"),
        ("c", "床垫试睡不满意能退吗"),
        ("a", "您好"),
        ("a", "可以的，100晚内都能退"),
        ("c", "好的"),
        ("a", "嗯"),  # too short to answer anything
    )
    (pair,) = answered_questions(conversation)
    assert pair.question_ids == ("m1", "m2") and pair.reply_ids == ("m3", "m4")
    assert pair.question == "在吗\n床垫试睡不满意能退吗"
    assert pair.answer == "您好\n可以的，100晚内都能退"


def test_an_answer_far_from_the_knowledge_base_loses_its_share_with_the_reply_source_and_similarity() -> None:
    conversation = chat(
        ("c", "床垫试睡不满意可以退吗"),
        ("a", f"您好，{TRIAL}"),
        ("c", "发票怎么开"),
        ("a", "发票要联系快递员索取哦"),
        ("c", "今天天气不错"),
        ("a", "是的呢，祝您生活愉快"),
    )
    answers = compare_with_knowledge(conversation, knowledge_base)
    assert sorted(answers) == ["m2", "m4"], "the chat about the weather has no knowledge-base answer"
    assert answers["m4"].question_id == "m3" and answers["m4"].text == INVOICE

    knowledge = inspect(conversation, QaRubric(), at=T0 + timedelta(hours=1), kb_answers=answers).scores["knowledge"]
    assert knowledge.score == QaRubric().weight("knowledge") / 2
    far, close = knowledge.evidence
    assert (far.message_id, far.source, far.reference) == ("m4", "常见问题 #12", INVOICE)
    assert f"{answers['m4'].similarity:.2f} < 0.6" in far.note
    assert (close.message_id, close.source, close.reference) == ("m2", KB["试睡"][0], TRIAL)


def test_without_a_knowledge_base_answer_the_criterion_is_not_applicable_and_costs_nothing() -> None:
    conversation = chat(("c", "床垫试睡不满意可以退吗"), ("a", "您好，这个要问一下仓库，稍后答复您"))
    answers = compare_with_knowledge(conversation, lambda question: None)
    result = inspect(conversation, QaRubric(), at=T0 + timedelta(hours=1), kb_answers=answers)
    assert answers == {} and "knowledge" not in result.scores
    without = QaRubric(weights={**QaRubric().weights, "knowledge": 0})
    assert result.total == inspect(conversation, without, at=T0 + timedelta(hours=1)).total, "no penalty"
