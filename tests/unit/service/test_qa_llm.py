"""Optional LLM criteria of the QA rubric: the model's verdict parsed, scored with its weight and
reason, and a criterion without an answer (no provider) or with a provider error never costing points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.domain.errors import InvalidInput
from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.qa import LlmVerdict, QaRubric, inspect, llm_transcript, parse_verdict
from liuyu.domain.service.rules import parse_rules
from liuyu.services.quality import llm_answers

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SOLVED = {"name": "解决问题", "question": "客服是否真正解决了客户的问题？", "weight": 10}


def chat() -> Conversation:
    conversation = Conversation("C-1", "tmall", T0)
    turns = [("c", "快递三天没动，电话13812345678，邮箱lu@qimu.cn"), ("a", "您好，已为您催件，今天会更新。再见")]
    for n, (who, text) in enumerate(turns, start=1):
        kind = "customer" if who == "c" else "agent"
        sent = T0 + timedelta(seconds=30 * n)
        conversation.add_message(Message(f"m{n}", "in" if who == "c" else "out", sent, text, "tmall", kind, kind))
    return conversation


def test_a_verdict_is_read_from_json_even_inside_a_fence_or_chatter() -> None:
    assert parse_verdict('{"verdict": "yes", "reason": "已催件并给出时间"}') == LlmVerdict("yes", "已催件并给出时间")
    assert parse_verdict('好的：\n```json\n{"verdict": "Partial", "reason": "只\n催了件"}\n```').verdict == "partial"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("是的，解决了", "JSON object"), ('{"verdict": "maybe"}', "yes, partial or no"), ('{"verdict": ', "JSON object")],
)
def test_an_answer_that_is_not_a_verdict_says_what_is_wrong(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_verdict(raw)


def test_yes_partial_and_no_score_the_weight_with_the_reason_as_evidence() -> None:
    rubric = QaRubric(llm_criteria=[SOLVED])  # type: ignore[arg-type]
    for verdict, points in (("yes", 10), ("partial", 5), ("no", 0)):
        result = inspect(chat(), rubric, at=T0, llm_answers={"解决问题": LlmVerdict(verdict, "已催件")})  # type: ignore[arg-type]
        score = result.scores["llm:解决问题"]
        assert (score.score, score.max_score) == (points, 10)
        assert score.evidence[0].note == f"{verdict}: 已催件"


def test_no_answer_or_a_provider_error_is_not_applicable_and_costs_nothing() -> None:
    rubric = QaRubric(llm_criteria=[SOLVED])  # type: ignore[arg-type]
    plain = inspect(chat(), QaRubric(), at=T0)
    unasked = inspect(chat(), rubric, at=T0)
    failed = inspect(chat(), rubric, at=T0, llm_answers={"解决问题": "LLMUnavailable: refused"})
    assert "llm:解决问题" not in unasked.scores and unasked.total == plain.total
    assert failed.total == plain.total
    assert failed.scores["llm:解决问题"].max_score == 0
    assert "not applicable: LLMUnavailable: refused" in failed.scores["llm:解决问题"].evidence[0].note


def test_without_a_provider_or_criteria_nothing_is_asked() -> None:
    class Refuses:
        def complete(self, *args: object, **kwargs: object) -> str:
            raise AssertionError("no call expected")

    assert llm_answers(None, QaRubric(llm_criteria=[SOLVED]), chat()) == {}  # type: ignore[arg-type]
    assert llm_answers(Refuses(), QaRubric(), chat()) == {}


def test_the_transcript_names_who_spoke_and_masks_contacts() -> None:
    text = llm_transcript(chat())
    assert text.startswith("客户: 快递三天没动") and "\n客服: 您好" in text
    assert "电话[手机号]，邮箱[邮箱]" in text


def test_a_bad_criterion_names_its_path() -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_rules(QaRubric, {"llm_criteria": [{**SOLVED, "weight": -1}]}, "rubric")
    assert bad.value.as_dict()["field"] == "llm_criteria.0.weight"
    with pytest.raises(InvalidInput) as missing:
        parse_rules(QaRubric, {"llm_criteria": [SOLVED, {"name": "语气"}]}, "rubric")
    assert missing.value.as_dict()["field"] == "llm_criteria.1.question"


def test_masking_takes_the_phone_and_email_and_keeps_the_chinese_around_them() -> None:
    from liuyu.domain.service.qa import mask_contacts

    masked = mask_contacts("快递三天没动，电话13812345678，邮箱lu@qimu.cn 谢谢")
    assert masked == "快递三天没动，电话[手机号]，邮箱[邮箱] 谢谢"
