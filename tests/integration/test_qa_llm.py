"""LLM criteria of the QA rubric on a real database, against a local chat-completions server: asked
only when a provider is configured, scored with the model's reason, a provider error never failing
the job nor costing points."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from liuyu.domain.errors import InvalidInput
from liuyu.jobs import service_quality
from liuyu.services import accounts, quality
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.test_service_inbox import T0
from tests.integration.test_service_quality import WORDS, resolved_chat
from tests.nlp.test_llm import FakeChatServer, completion

CRITERIA = [
    {"name": "解决问题", "question": "客服是否真正解决了客户的问题？", "weight": 10},
    {"name": "语气", "question": "客服语气是否礼貌？", "weight": 5},
]


@pytest.fixture
def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return ws


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    yield fake
    fake.stop()


def with_criteria(engine: Engine, ws: int) -> int:
    conversation_id = resolved_chat(engine, ws)
    with SqlUnitOfWork(engine) as uow:
        quality.save_rubric(uow, ws, {"words": WORDS, "llm_criteria": CRITERIA}, "boss@qimu.cn", now=T0)
        uow.commit()
    return conversation_id


def scores(engine: Engine, ws: int, conversation_id: int) -> dict[str, Any]:
    with SqlUnitOfWork(engine) as uow:
        return quality.qa_view(uow, ws, conversation_id)


def test_the_job_asks_each_criterion_and_a_provider_error_costs_nothing(
    engine: Engine, workspace: int, server: FakeChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reply(body: dict[str, Any]) -> tuple[int, bytes]:
        if "语气" in body["messages"][1]["content"] or "礼貌" in body["messages"][1]["content"]:
            return 503, b'{"error": {"message": "model is loading"}}'
        return completion('{"verdict": "no", "reason": "客服推卸责任，没有给出退款方案。"}')

    server.reply = reply
    monkeypatch.setenv("LIUYU_LLM_URL", server.url)
    monkeypatch.setenv("LIUYU_LLM_MODEL", "qwen2.5-7b-instruct")
    conversation_id = with_criteria(engine, workspace)
    assert service_quality.run(engine, T0 + timedelta(minutes=20)) == 1
    view = scores(engine, workspace, conversation_id)
    solved, tone = view["scores"]["llm:解决问题"], view["scores"]["llm:语气"]
    assert (solved["score"], solved["max_score"]) == (0, 10)
    assert solved["evidence"][0]["note"] == "no: 客服推卸责任，没有给出退款方案。"
    assert (
        tone["max_score"] == 0
        and "503" in tone["evidence"][0]["note"]
        and "not applicable" in tone["evidence"][0]["note"]
    )
    asked = server.requests[0]["messages"][1]["content"]
    assert "客服是否真正解决了客户的问题？" in asked
    assert "客户: 你们这是欺诈！我要退款" in asked and "客服: 您好，保证给您退" in asked
    assert len(server.requests) == 2


def test_without_a_provider_nothing_is_asked_and_the_criteria_are_left_out(
    engine: Engine, workspace: int, server: FakeChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIUYU_LLM_URL", raising=False)
    conversation_id = with_criteria(engine, workspace)
    assert service_quality.run(engine, T0 + timedelta(minutes=20)) == 1
    view = scores(engine, workspace, conversation_id)
    assert not [name for name in view["scores"] if name.startswith("llm:")]
    assert server.requests == []
    with SqlUnitOfWork(engine) as uow:
        with pytest.raises(InvalidInput) as twice:
            quality.save_rubric(uow, workspace, {"llm_criteria": [CRITERIA[0], CRITERIA[0]]}, "boss")
        assert twice.value.as_dict()["field"] == "llm_criteria.1.name"
        with pytest.raises(InvalidInput) as bad:
            quality.save_rubric(uow, workspace, {"llm_criteria": [{**CRITERIA[0], "weight": "多"}]}, "boss")
        assert bad.value.as_dict()["field"] == "llm_criteria.0.weight"
