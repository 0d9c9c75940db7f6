"""The knowledge criterion on stored conversations (SQLite and PostgreSQL): each agent answer is
compared with the knowledge base's best suggestion for the question, with the evidence stored."""

from __future__ import annotations

from sqlalchemy import Engine

from liuyu.services import knowledge, quality
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_knowledge_base import RETURNS_MD, chat, store, workspace  # noqa: F401

TRIAL = "床垫支持100晚试睡，不满意可以退，需要保留原包装。"
TURNS = [
    ("customer", "床垫试睡不满意可以退吗"),
    ("user:ann", f"您好，{TRIAL}"),
    ("customer", "签收后七天无理由退货怎么申请"),
    ("user:ann", "这个您去找快递员问一下吧"),
    ("customer", "好的谢谢"),
    ("user:ann", "不客气，祝您生活愉快"),
]


def scored(engine: Engine, ws: int, conversation_id: int, cache: knowledge.KnowledgeCache) -> dict:  # type: ignore[type-arg]
    with SqlUnitOfWork(engine) as uow:
        view = quality.review_conversation(uow, ws, conversation_id, inspect_now=True, cache=cache)
        uow.commit()
    return view


def test_answers_are_scored_against_the_knowledge_base_with_the_reply_the_article_and_a_similarity(
    engine: Engine,
    workspace: int,  # noqa: F811
) -> None:
    store(engine, workspace, "售后政策.md", RETURNS_MD.encode())
    conversation_id = chat(engine, workspace, "xiaolu", TURNS, nick="小鹿")
    view = scored(engine, workspace, conversation_id, knowledge.KnowledgeCache(use_embeddings=False))

    criterion = view["scores"]["knowledge"]
    assert (criterion["score"], criterion["max_score"]) == (5.0, 10), "one of two answers matches the policy"
    far, close = criterion["evidence"]
    assert "七天无理由退货" in far["source"] and "7天内" in far["reference"]
    assert "< 0.6" in far["note"]
    assert "床垫试睡" in close["source"] and close["reference"] == TRIAL and ">= 0.6" in close["note"]
    with SqlUnitOfWork(engine) as uow:
        texts = {str(m["id"]): m["text"] for m in uow.service.conversation_messages(conversation_id)}
    assert texts[far["message_id"]] == "这个您去找快递员问一下吧"
    assert texts[close["message_id"]] == f"您好，{TRIAL}"
    again = quality.result_of(
        {"conversation_id": conversation_id, "agent": None, "team": None, "inspected_at": None}
        | {"scores": view["scores"]}
    )
    assert again.scores["knowledge"].evidence[0].reference == far["reference"], "the evidence survives storage"


def test_a_workspace_without_a_knowledge_base_gets_not_applicable_not_a_penalty(
    engine: Engine,
    workspace: int,  # noqa: F811
) -> None:
    conversation_id = chat(engine, workspace, "xiaoman", TURNS, nick="小满")
    view = scored(engine, workspace, conversation_id, knowledge.KnowledgeCache(use_embeddings=False))
    assert "knowledge" not in view["scores"]
    with SqlUnitOfWork(engine) as uow:
        weights = {**quality.QaRubric().weights, "knowledge": 0}
        quality.save_rubric(uow, workspace, {"weights": weights}, "boss@qimu.cn")
        uow.commit()
    without = scored(engine, workspace, conversation_id, knowledge.KnowledgeCache(use_embeddings=False))
    assert view["total"] == without["total"], "the same total as a rubric without the criterion"
