"""Quality inspection: each criterion scored with evidence, word library, overrides and scorecards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.domain.errors import InvalidInput
from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.qa import QaRubric, inspect, scorecards
from liuyu.domain.service.words import WordLibrary, check_draft

T0 = datetime(2025, 11, 17, 2, 0, tzinfo=UTC)
LIBRARY = WordLibrary(
    forbidden=("不关我事", "爱买不买"),
    sensitive=("12315", "曝光"),
    promises=("保证", "一定", "百分百"),
    allowed=("无法保证", "不能保证"),
)
RUBRIC = QaRubric(words=LIBRARY)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def chat(*turns: tuple[str, int, str]) -> Conversation:
    """Turns are (who, second, text); who is 'c' for the customer, 'a' for the agent."""
    conversation = Conversation("C-7", "tmall", T0)
    conversation.assign("alice", T0, "router")
    for number, (who, second, text) in enumerate(turns, start=1):
        if who == "c":
            conversation.add_message(Message(f"m{number}", "in", at(second), text, "tmall", "buyer"))
        else:
            conversation.add_message(Message(f"m{number}", "out", at(second), text, "tmall", "alice", "agent"))
    return conversation


GOOD = chat(
    ("c", 0, "手柄摇杆漂移了，太失望了"),
    ("a", 30, "您好，非常抱歉给您带来不便，请问是哪一批次？"),
    ("c", 60, "B2025-11"),
    ("a", 100, "这一批次可以免费换新，已为您登记。请问还有其他问题吗？"),
    ("c", 130, "好的，解决了，谢谢"),
    ("a", 150, "感谢您的耐心，祝您生活愉快"),
)


def test_given_a_good_conversation_when_inspected_then_every_criterion_scores_full_with_evidence():
    result = inspect(GOOD, RUBRIC, at=at(600), sentiment={"m1": -0.7}, kb_similarity={"m4": 0.82})
    assert result.agent_id == "alice"
    assert result.total == 100.0
    assert set(result.scores) == {
        "greeting",
        "first_response",
        "longest_wait",
        "words",
        "empathy",
        "knowledge",
        "resolution",
        "closing",
    }
    empathy = result.scores["empathy"].evidence
    assert (empathy[0].message_id, empathy[1].message_id) == ("m1", "m2")
    assert empathy[1].words == ("抱歉", "给您带来")
    assert result.scores["resolution"].evidence[0].words == ("解决了",)


def test_given_a_calm_customer_when_inspected_then_empathy_is_not_scored_rather_than_given_free():
    result = inspect(GOOD, RUBRIC, at=at(600), sentiment={"m1": 0.2})
    assert "empathy" not in result.scores
    assert "knowledge" not in result.scores


def test_given_an_angry_customer_and_no_apology_when_inspected_then_empathy_scores_zero_and_cites_the_message():
    conversation = chat(("c", 0, "什么破手柄，退钱！"), ("a", 20, "您好，请提供订单号"))
    result = inspect(conversation, RUBRIC, at=at(60), sentiment={"m1": -0.9})
    empathy = result.scores["empathy"]
    assert empathy.score == 0
    assert empathy.evidence[0].message_id == "m1"
    assert "sentiment -0.90" in empathy.evidence[0].note


def test_given_a_forbidden_word_when_inspected_then_the_words_criterion_fails_with_message_time_and_word():
    conversation = chat(("c", 0, "快递怎么还没到"), ("a", 20, "您好，快递慢不关我事"))
    result = inspect(conversation, RUBRIC, at=at(60))
    words = result.scores["words"]
    assert words.score == 0
    assert [(e.message_id, e.at, e.words) for e in words.evidence] == [("m2", at(20), ("不关我事",))]


def test_given_a_promise_when_inspected_then_half_the_points_go_and_a_careful_refusal_is_not_a_promise():
    promised = inspect(chat(("c", 0, "能修好吗"), ("a", 20, "您好，保证修好")), RUBRIC, at=at(60))
    careful = inspect(chat(("c", 0, "能修好吗"), ("a", 20, "您好，我们无法保证，会尽力")), RUBRIC, at=at(60))
    assert promised.scores["words"].score == RUBRIC.weight("words") / 2
    assert careful.scores["words"].score == RUBRIC.weight("words")


def test_given_a_draft_when_the_agent_types_then_listed_words_are_found_with_their_positions():
    hits = check_draft("亲，一定给您处理，不然您去12315也没用，爱买不买", LIBRARY)
    assert [(h.word, h.kind, h.start, h.end) for h in hits] == [
        ("一定", "promise", 2, 4),
        ("12315", "sensitive", 13, 18),
        ("爱买不买", "forbidden", 22, 26),
    ]
    assert check_draft("您好，我们不能保证今天发货", LIBRARY) == []


def test_given_slow_replies_when_inspected_then_time_criteria_lose_points_with_the_times_as_evidence():
    conversation = chat(("c", 0, "在吗"), ("a", 90, "您好"), ("c", 100, "什么时候发货"), ("a", 500, "今天"))
    result = inspect(conversation, RUBRIC, at=at(900))
    first, wait = result.scores["first_response"], result.scores["longest_wait"]
    assert first.score == RUBRIC.weight("first_response") / 2
    assert "first reply after 90 s" in first.evidence[1].note
    assert wait.score == 0
    assert wait.evidence[0].message_id == "m3"
    assert "longest wait 400 s" in wait.evidence[0].note


def test_given_an_answer_far_from_the_knowledge_base_when_inspected_then_the_share_of_consistent_answers_scores():
    result = inspect(GOOD, RUBRIC, at=at(600), kb_similarity={"m2": 0.9, "m4": 0.3})
    knowledge = result.scores["knowledge"]
    assert knowledge.score == RUBRIC.weight("knowledge") / 2
    assert knowledge.evidence[0].message_id == "m4"


def test_given_a_supervisor_override_when_applied_then_the_score_changes_and_the_original_and_reason_are_kept():
    conversation = chat(("c", 0, "在吗"), ("a", 20, "在，请讲"))
    result = inspect(conversation, RUBRIC, at=at(60))
    assert result.scores["greeting"].score == 0
    result.override("greeting", 10, "supervisor:wang", "“在”在本店话术中算问候", at(120))
    greeting = result.scores["greeting"]
    assert greeting.score == 10
    assert (greeting.override.original, greeting.override.by) == (0, "supervisor:wang")
    with pytest.raises(InvalidInput, match="reason"):
        result.override("closing", 10, "supervisor:wang", "", at(130))


def test_given_results_over_two_weeks_when_aggregated_then_each_agent_gets_a_scorecard_per_week():
    week1 = inspect(GOOD, RUBRIC, at=datetime(2025, 11, 17, 3, 0, tzinfo=UTC), team="售后一组")
    week1_bad = inspect(chat(("c", 0, "在吗"), ("a", 20, "不关我事")), RUBRIC, at=week1.inspected_at, team="售后一组")
    week2 = inspect(GOOD, RUBRIC, at=datetime(2025, 11, 24, 3, 0, tzinfo=UTC), team="售后一组")
    cards = scorecards([week1, week1_bad, week2], by="agent", period="week")
    assert [(c.key, c.period, c.conversations) for c in cards] == [
        ("alice", "2025-W47", 2),
        ("alice", "2025-W48", 1),
    ]
    assert cards[0].average == round((week1.total + week1_bad.total) / 2, 1)
    assert cards[0].by_criterion["words"] == 50.0
    team_cards = scorecards([week1, week1_bad, week2], by="team", period="month")
    assert [(c.key, c.period, c.conversations) for c in team_cards] == [("售后一组", "2025-11", 3)]
