"""Bot first: when the bot answers, when it hands off (转人工), and what counts as contained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.domain.service.bot import asks_for_human, decide, outcome

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CALM = {"sentiment": {"label": "neutral", "score": 0.5}, "anger": "none", "escalation": "none"}


ASKING = ["转人工", "人工客服在吗", "我要找人工", "叫你们主管来", "人工", "Can I talk to a human?"]


@pytest.mark.parametrize("text", ASKING)
def test_a_customer_asking_for_a_person_is_recognised(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize("text", ["人工费怎么算", "床垫可以退吗", "人工智能推荐的款式有货吗"])
def test_ordinary_questions_do_not_ask_for_a_person(text: str) -> None:
    assert not asks_for_human(text)


def test_the_checks_go_person_first_then_mood_then_confidence() -> None:
    upset = {"sentiment": {"label": "negative", "score": 0.05}, "anger": "none", "escalation": "none"}
    assert decide("转人工", upset, 0.99, 0.8).reason == "asked_for_human"
    assert decide("床垫可以退吗", upset, 0.99, 0.8).reason == "negative_sentiment"
    assert decide("床垫可以退吗", {**CALM, "escalation": "medium"}, 0.99, 0.8).reason == "negative_sentiment"
    assert decide("床垫可以退吗", CALM, 0.79, 0.8).reason == "low_confidence"
    assert decide("床垫可以退吗", None, 0.8, 0.8).action == "answer"
    assert decide("转人工", CALM, 0.99, 0.8, human_involved=True).action == "silent"


def test_containment_needs_48_quiet_hours_after_every_bot_answer() -> None:
    def state(**kw: object) -> str:
        facts = {"answered_at": [T0], "handed_off": False, "flagged": False, "human_replied": False}
        facts |= {"resolved": True, "customer_messages": [T0 - timedelta(minutes=1)], "now": T0 + timedelta(days=3)}
        return outcome(**(facts | kw)).state  # type: ignore[arg-type]

    assert state() == "contained"
    assert state(now=T0 + timedelta(hours=47)) == "undecided"
    assert state(customer_messages=[T0 + timedelta(hours=47)]) == "came_back"
    assert state(customer_messages=[T0 + timedelta(hours=49)], resolved=True) == "contained"
    assert state(flagged=True) == "came_back"
    assert state(human_replied=True) == "handed_off"
    assert state(resolved=False) == "came_back"
