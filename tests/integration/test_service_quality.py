"""Quality inspection on a real database: resolved conversations are scored with evidence, supervisors
override with a reason (audited and kept), rubrics are validated, CSAT is stored once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from liuyu.domain.errors import InvalidInput
from liuyu.jobs import service_quality
from liuyu.services import accounts, inbox, quality
from liuyu.storage.service_quality_tables import conversation_facts
from liuyu.storage.tables import audit_log
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_service_inbox import T0, message, receive


@pytest.fixture
def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return ws


WORDS = {"forbidden": ["不关我事"], "promises": ["保证"], "allowed": ["无法保证"]}


def furious(texts: list[str]) -> list[dict[str, Any] | None]:
    """The customer is angry (P(positive) 0.05) and wants a refund."""
    return [
        {
            "anger": "high",
            "escalation": "none",
            "sentiment": {"label": "negative", "score": 0.05},
            "intent": {"label": "退款", "score": 0.9},
            "entities": [],
        }
        for _ in texts
    ]


def resolved_chat(engine: Engine, ws: int) -> int:
    """Customer writes at T0, the agent answers after 95 s with a forbidden word and a promise, resolves."""
    report = receive(engine, ws, [message(0, "你们这是欺诈！我要退款", at=T0)], analyzer=furious)
    conversation_id = report.conversations[0]
    with SqlUnitOfWork(engine) as uow:
        quality.save_rubric(uow, ws, {"words": WORDS}, "boss@qimu.cn", now=T0)
        inbox.change_conversation(uow, ws, conversation_id, assignee="alice")
        inbox.reply(
            uow, ws, conversation_id, "您好，保证给您退，不关我事是快递的问题", "alice", now=T0 + timedelta(seconds=95)
        )
        inbox.change_conversation(uow, ws, conversation_id, status="resolved", now=T0 + timedelta(minutes=10))
        uow.quality.set_team(ws, "alice", "售后一组")
        uow.commit()
    return conversation_id


def test_a_resolved_conversation_is_scored_with_evidence_by_the_job(engine: Engine, workspace: int) -> None:
    conversation_id = resolved_chat(engine, workspace)
    assert service_quality.run(engine, T0 + timedelta(minutes=20)) == 1
    assert service_quality.run(engine, T0 + timedelta(minutes=21)) == 0, "nothing left to do"
    with SqlUnitOfWork(engine) as uow:
        view = quality.qa_view(uow, workspace, conversation_id)
        facts = uow.conn.execute(select(conversation_facts)).one()._mapping
    words = view["scores"]["words"]
    assert words["score"] == 0
    assert {tuple(e["words"]) for e in words["evidence"]} == {("不关我事",), ("保证",)}
    assert view["scores"]["first_response"]["score"] == 7.5
    assert "95 s" in view["scores"]["first_response"]["evidence"][1]["note"]
    assert view["scores"]["empathy"]["score"] == 0, "the customer was angry and got no apology"
    assert (view["agent"], view["team"]) == ("alice", "售后一组")
    assert facts["first_response_seconds"] == 95 and facts["resolution_seconds"] == 600
    assert facts["sla_met"] is True and facts["intent"] == "退款" and facts["sentiment"] == pytest.approx(-0.9)
    assert facts["qa_total"] == view["total"] and facts["day"] == "2026-03-01"


def test_a_supervisor_override_needs_a_reason_is_audited_and_survives_a_new_inspection(
    engine: Engine, workspace: int
) -> None:
    conversation_id = resolved_chat(engine, workspace)
    service_quality.run(engine, T0 + timedelta(minutes=20))
    with SqlUnitOfWork(engine) as uow:
        with pytest.raises(InvalidInput, match="reason"):
            quality.override_score(uow, workspace, conversation_id, "words", 10, " ", "boss@qimu.cn")
        before = quality.qa_view(uow, workspace, conversation_id)["total"]
        after = quality.override_score(
            uow, workspace, conversation_id, "words", 10, "快递确有责任，语气可接受", "boss@qimu.cn"
        )
        uow.commit()
    assert after["total"] > before
    assert after["scores"]["words"]["override"]["original"] == 0
    assert after["overrides"][0]["reason"] == "快递确有责任，语气可接受"
    with SqlUnitOfWork(engine) as uow:
        again = quality.review_conversation(
            uow, workspace, conversation_id, inspect_now=True, now=T0 + timedelta(hours=1)
        )
        audited = uow.conn.execute(select(audit_log.c.action).where(audit_log.c.workspace_id == workspace)).scalars()
        assert "service.qa.overridden" in set(audited)
        cards = quality.qa_scorecards(uow, workspace, by="team", period="day")
    assert again["scores"]["words"]["score"] == 10, "the override outlives the re-inspection"
    assert cards[0]["key"] == "售后一组" and cards[0]["overridden"] == 1


def test_a_rubric_is_validated_and_names_the_bad_field(engine: Engine, workspace: int) -> None:
    with SqlUnitOfWork(engine) as uow:
        with pytest.raises(InvalidInput) as bad:
            quality.save_rubric(uow, workspace, {"first_response_seconds": -5}, "boss")
        assert bad.value.as_dict()["field"] == "first_response_seconds"
        with pytest.raises(InvalidInput, match="unknown criterion"):
            quality.save_rubric(uow, workspace, {"weights": {"smile": 5}}, "boss")
        assert quality.save_rubric(uow, workspace, {"words": WORDS}, "boss")["version"] == 1
        assert (
            quality.save_rubric(uow, workspace, {"words": WORDS, "first_response_seconds": 30}, "boss")["version"] == 2
        )
        hits = quality.check_words(uow, workspace, "我无法保证，但不关我事")
    assert [(h["word"], h["kind"], h["start"]) for h in hits] == [("不关我事", "forbidden", 7)]


def test_a_csat_answer_delivered_twice_is_stored_once_and_reaches_the_facts(engine: Engine, workspace: int) -> None:
    conversation_id = resolved_chat(engine, workspace)
    with SqlUnitOfWork(engine) as uow:
        first = quality.record_csat(uow, workspace, conversation_id, 4, external_id="survey-1", now=T0)
        again = quality.record_csat(uow, workspace, conversation_id, 4, external_id="survey-1", now=T0)
        with pytest.raises(InvalidInput):
            quality.record_csat(uow, workspace, conversation_id, 6, now=T0)
        uow.commit()
        facts = uow.conn.execute(select(conversation_facts.c.csat)).scalar()
    assert (first["stored"], again["stored"], facts) == (True, False, 4)


def test_the_sla_verdict_uses_the_workspaces_stored_sla_policy(engine: Engine, workspace: int) -> None:
    from liuyu.services import tickets

    resolved_chat(engine, workspace)  # first reply after 95 s: met against the default 5 minutes
    with SqlUnitOfWork(engine) as uow:
        sla = {"name": "急", "business_hours": False, "targets": {"first_response_minutes": 1}}
        tickets.save_settings(uow, workspace, {"sla": sla}, T0)
        uow.commit()
    service_quality.run(engine, T0 + timedelta(minutes=20))
    with SqlUnitOfWork(engine) as uow:
        facts = uow.conn.execute(select(conversation_facts)).one()._mapping
    assert (facts["sla_target_seconds"], facts["sla_met"]) == (60, False)
