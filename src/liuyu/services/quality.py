"""Quality inspection (质检) of stored conversations, supervisor overrides, scorecards and report facts.

A conversation is inspected against its workspace's rubric when it is resolved (the ``service-qa``
job finds those, and a backlog, in batches); the same pass refreshes the conversation's report
facts. A supervisor's override is kept across re-inspections and written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from liuyu.domain.errors import InvalidInput, LiuyuError, NotFound
from liuyu.domain.service.calendar import BusinessCalendar
from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.metrics import DEFAULT_SLA, conversation_facts
from liuyu.domain.service.qa import (
    CRITERIA,
    CriterionScore,
    Evidence,
    KnowledgeAnswer,
    LlmVerdict,
    Override,
    QaResult,
    QaRubric,
    compare_with_knowledge,
    inspect,
    llm_transcript,
    parse_verdict,
    period_of,
    scorecards,
)
from liuyu.domain.service.rules import parse_rules
from liuyu.domain.service.sla import SlaPolicy
from liuyu.domain.service.words import check_draft
from liuyu.services.knowledge import GOOD_CONFIDENCE, KnowledgeCache, suggest
from liuyu.services.ports_knowledge import ChatMessage, LLMProvider

SUPERVISOR_ROLES = ("admin", "supervisor")


class QualityUnitOfWork(Protocol):
    service: Any
    quality: Any
    accounts: Any

    def commit(self) -> None: ...


# -- the rubric ----------------------------------------------------------------------------------


def rubric_of(uow: QualityUnitOfWork, workspace_id: int) -> tuple[QaRubric, int]:
    """The workspace's rubric and its version (0: the default, never edited)."""
    stored = uow.quality.rubric(workspace_id)
    if stored is None:
        return QaRubric(), 0
    return QaRubric.model_validate(stored["rubric"]), int(stored["version"])


def save_rubric(
    uow: QualityUnitOfWork, workspace_id: int, data: Any, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """Validate and store a rubric; unknown criteria and bad fields are refused with their path."""
    rubric = parse_rules(QaRubric, data, "rubric")
    unknown = sorted(set(rubric.weights) - set(CRITERIA))
    if unknown:
        raise InvalidInput(
            f"unknown criterion; use {', '.join(CRITERIA)}", where="rubric", field="weights", value=unknown[0]
        )
    names = [c.name.strip() for c in rubric.llm_criteria]
    for index, name in enumerate(names):
        if not name or name in names[:index]:
            problem = "a name is required" if not name else "names must be unique"
            raise InvalidInput(problem, where="rubric", field=f"llm_criteria.{index}.name", value=name)
    bad = {name: w for name, w in rubric.weights.items() if w < 0}
    if bad:
        raise InvalidInput("weights must be 0 or more", where="rubric", field="weights", value=bad)
    now = now or datetime.now(UTC)
    stored = rubric.model_dump(mode="json")
    version = uow.quality.save_rubric(workspace_id, stored, actor, now)
    uow.accounts.audit(workspace_id, actor, "service.qa.rubric_saved", "rubric", {"version": version}, now)
    return {"rubric": stored, "version": version}


def check_words(uow: QualityUnitOfWork, workspace_id: int, text: str) -> list[dict[str, Any]]:
    """The live check of a draft reply against the workspace word library."""
    rubric, _ = rubric_of(uow, workspace_id)
    return [{"word": h.word, "kind": h.kind, "start": h.start, "end": h.end} for h in check_draft(text, rubric.words)]


# -- stored rows to the domain -------------------------------------------------------------------


def _sentiment(analysis: Mapping[str, Any] | None) -> float | None:
    """The models give P(positive) in 0..1; the rubric reads -1 (angry) .. 1."""
    mood = (analysis or {}).get("sentiment") or {}
    score = mood.get("score") if isinstance(mood, Mapping) else None
    return None if score is None else round(2 * float(score) - 1, 4)


def replay_conversation(
    row: Mapping[str, Any], message_rows: list[Mapping[str, Any]]
) -> tuple[Conversation, dict[str, float], dict[str, str]]:
    """The domain conversation of stored rows, with each customer message's sentiment and intent."""
    said = [m for m in message_rows if m["direction"] in ("in", "out")]
    opened = min([row["created_at"], *(m["sent_at"] for m in said)])
    conversation = Conversation(str(row["id"]), row["channel"], opened)
    sentiment: dict[str, float] = {}
    intents: dict[str, str] = {}
    for m in said:
        inbound = m["direction"] == "in"
        mid = str(m["id"])
        conversation.add_message(
            Message(
                mid,
                m["direction"],
                m["sent_at"],
                m["text"],
                row["channel"],
                m["sender"] or "",
                "customer" if inbound else "agent",
            )
        )
        if inbound:
            mood = _sentiment(m.get("analysis"))
            if mood is not None:
                sentiment[mid] = mood
            intent = ((m.get("analysis") or {}).get("intent") or {}).get("label")
            if intent:
                intents[mid] = str(intent)
    if row["status"] == "resolved":
        at = row.get("resolved_at") or row["last_message_at"]
        if conversation.status != "resolved":
            conversation.change_status("resolved", max(at, opened), "agent")
    if row.get("assignee"):
        conversation.assign(row["assignee"], opened, "system")
    return conversation, sentiment, intents


def _agent(row: Mapping[str, Any], conversation: Conversation) -> str | None:
    replies = [m for m in conversation.messages if m.is_reply]
    return row.get("assignee") or (replies[-1].author if replies else None) or None


def result_json(result: QaResult) -> dict[str, Any]:
    def evidence(e: Evidence) -> dict[str, Any]:
        return {
            "note": e.note,
            "message_id": e.message_id,
            "at": e.at.isoformat() if e.at else None,
            "words": list(e.words),
            **({"source": e.source, "reference": e.reference} if e.source or e.reference else {}),
        }

    out: dict[str, Any] = {}
    for name, s in result.scores.items():
        override = None
        if s.override:
            o = s.override
            override = {
                "original": o.original,
                "score": o.score,
                "by": o.by,
                "reason": o.reason,
                "at": o.at.isoformat(),
            }
        out[name] = {
            "score": s.score,
            "max_score": s.max_score,
            "evidence": [evidence(e) for e in s.evidence],
            "override": override,
        }
    return out


def result_of(row: Mapping[str, Any]) -> QaResult:
    """A stored result back as the domain's ``QaResult`` (for scorecards and overrides)."""
    result = QaResult(str(row["conversation_id"]), row["agent"], row["team"], row["inspected_at"])
    for name, s in row["scores"].items():
        evidence = tuple(
            Evidence(
                e["note"],
                e.get("message_id"),
                datetime.fromisoformat(e["at"]) if e.get("at") else None,
                tuple(e.get("words") or ()),
                e.get("source") or "",
                e.get("reference") or "",
            )
            for e in s["evidence"]
        )
        o = s.get("override")
        override = None
        if o:
            override = Override(name, o["original"], o["score"], o["by"], o["reason"], datetime.fromisoformat(o["at"]))
        result.scores[name] = CriterionScore(name, s["score"], s["max_score"], evidence, override)
    return result


# -- inspecting ----------------------------------------------------------------------------------


def _policy(uow: QualityUnitOfWork, workspace_id: int, now: datetime) -> tuple[SlaPolicy, BusinessCalendar | None]:
    """The workspace's SLA policy and business calendar as the tickets area stores them, else the
    domain default round the clock."""
    if uow.quality.sla_policy(workspace_id) is None or getattr(uow, "tickets", None) is None:
        return DEFAULT_SLA, None
    from liuyu.services.tickets import calendar_for, load_settings

    try:
        settings = load_settings(uow, workspace_id)  # type: ignore[arg-type]
        return settings.sla, calendar_for(settings, now)
    except (LiuyuError, ValueError):
        return DEFAULT_SLA, None  # settings the tickets area cannot read either: reports keep going


def knowledge_answers(
    uow: QualityUnitOfWork, workspace_id: int, conversation: Conversation, cache: KnowledgeCache | None
) -> dict[str, KnowledgeAnswer]:
    """Each answered question's best knowledge-base answer (the suggestions' retrieval, confident
    enough to be shown as a good suggestion) with its similarity to the agent's answer. A workspace
    that never had a knowledge base compares nothing, so the criterion is not applicable."""
    knowledge = getattr(uow, "knowledge", None)
    if cache is None or knowledge is None or knowledge.revision(workspace_id) == "-":
        return {}

    def best_answer(question: str) -> tuple[str, str] | None:
        found = suggest(cache, uow, workspace_id, question, k=1)
        if not found or found[0].confidence < GOOD_CONFIDENCE:
            return None
        return found[0].citation(), found[0].text

    return compare_with_knowledge(conversation, best_answer)


_LLM_SYSTEM = (
    "你是电商客服质检员。阅读下面的客服对话，回答质检问题。只依据对话内容，"
    '只输出一个 JSON 对象：{"verdict": "yes" | "partial" | "no", "reason": "一句话理由"}。'
)


def llm_answers(
    provider: LLMProvider | None, rubric: QaRubric, conversation: Conversation
) -> dict[str, LlmVerdict | str]:
    """The model's verdict per LLM criterion of the rubric, or the error that kept it from one (that
    criterion is then not applicable). No provider or no criteria: no call, nothing to score."""
    asked = [c for c in rubric.llm_criteria if c.weight > 0]
    if provider is None or not asked:
        return {}
    transcript = llm_transcript(conversation)
    out: dict[str, LlmVerdict | str] = {}
    for criterion in asked:
        messages = [
            ChatMessage("system", _LLM_SYSTEM),
            ChatMessage("user", f"质检问题：{criterion.question}\n\n对话：\n{transcript}"),
        ]
        try:
            out[criterion.name] = parse_verdict(provider.complete(messages, json_mode=True, max_tokens=200))
        except (LiuyuError, ValueError) as exc:
            out[criterion.name] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def review_conversation(
    uow: QualityUnitOfWork,
    workspace_id: int,
    conversation_id: int,
    *,
    inspect_now: bool | None = None,
    now: datetime | None = None,
    timezone: str = "Asia/Shanghai",
    cache: KnowledgeCache | None = None,
    llm: LLMProvider | None = None,
) -> dict[str, Any]:
    """Refresh a conversation's report facts and, when resolved (or asked), its QA result; with the
    process's knowledge ``cache``, answers are compared with the knowledge base, and with an ``llm``
    provider the rubric's LLM criteria are asked."""
    now = now or datetime.now(UTC)
    row = uow.service.conversation(workspace_id, conversation_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    conversation, sentiment, intents = replay_conversation(row, uow.service.conversation_messages(conversation_id))
    agent = _agent(row, conversation)
    team = uow.quality.teams(workspace_id).get(agent or "")
    stored = uow.quality.result(workspace_id, conversation_id)
    qa_total = stored["total"] if stored else None
    if inspect_now or (inspect_now is None and row["status"] == "resolved"):
        rubric, version = rubric_of(uow, workspace_id)
        answers = knowledge_answers(uow, workspace_id, conversation, cache) if rubric.weight("knowledge") else {}
        result = inspect(
            conversation,
            rubric,
            at=now,
            agent_id=agent,
            team=team,
            sentiment=sentiment,
            kb_answers=answers,
            llm_answers=llm_answers(llm, rubric, conversation),
        )
        if stored:  # a supervisor's verdict outlives a re-inspection
            for name, old in result_of(stored).scores.items():
                if old.override and name in result.scores and old.override.score <= result.scores[name].max_score:
                    o = old.override
                    result.override(name, o.score, o.by, o.reason, o.at)
        qa_total = result.total
        uow.quality.save_result(
            {
                "workspace_id": workspace_id,
                "conversation_id": conversation_id,
                "agent": agent,
                "team": team,
                "channel": row["channel"],
                "total": result.total,
                "scores": result_json(result),
                "rubric_version": version,
                "overridden": any(s.override for s in result.scores.values()),
                "inspected_at": max(now, row.get("resolved_at") or now),
            }
        )
    policy, calendar = _policy(uow, workspace_id, now)
    facts = conversation_facts(
        conversation, now=now, policy=policy, calendar=calendar, intents=intents, sentiment=sentiment
    )
    uow.quality.save_facts(
        {
            "conversation_id": conversation_id,
            "workspace_id": workspace_id,
            "channel": row["channel"],
            "agent": agent,
            "team": team,
            "status": row["status"],
            "opened_at": facts.opened_at,
            "day": period_of(facts.opened_at, "day", timezone),
            "week": period_of(facts.opened_at, "week", timezone),
            "month": period_of(facts.opened_at, "month", timezone),
            "first_response_seconds": facts.first_response_seconds,
            "resolution_seconds": facts.resolution_seconds,
            "sla_target_seconds": facts.sla_target_seconds,
            "sla_met": facts.sla_met,
            "csat": uow.quality.latest_csat(conversation_id),
            "qa_total": qa_total,
            "intent": facts.intent,
            "sentiment": facts.sentiment,
            "messages": facts.messages,
            "computed_at": max(now, row["updated_at"]),
        }
    )
    return qa_view(uow, workspace_id, conversation_id) if qa_total is not None else {"conversation_id": conversation_id}


def qa_view(uow: QualityUnitOfWork, workspace_id: int, conversation_id: int) -> dict[str, Any]:
    stored = uow.quality.result(workspace_id, conversation_id)
    if stored is None:
        raise NotFound(f"conversation {conversation_id} has not been inspected yet")
    return {
        "conversation_id": conversation_id,
        "agent": stored["agent"],
        "team": stored["team"],
        "total": stored["total"],
        "rubric_version": stored["rubric_version"],
        "inspected_at": stored["inspected_at"].isoformat(),
        "scores": stored["scores"],
        "overrides": [
            {
                k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in o.items()
                if k not in ("result_id", "workspace_id")
            }
            for o in uow.quality.overrides(stored["id"])
        ],
    }


def override_score(
    uow: QualityUnitOfWork,
    workspace_id: int,
    conversation_id: int,
    criterion: str,
    score: float,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A supervisor's verdict on one criterion: validated by the domain, kept, and audited."""
    now = now or datetime.now(UTC)
    stored = uow.quality.result(workspace_id, conversation_id)
    if stored is None:
        raise NotFound(f"conversation {conversation_id} has not been inspected yet")
    result = result_of(stored)
    result.override(criterion, score, actor, reason, now)
    mark = result.scores[criterion].override
    assert mark is not None
    uow.quality.save_result({**stored, "total": result.total, "scores": result_json(result), "overridden": True})
    uow.quality.add_override(
        {
            "workspace_id": workspace_id,
            "result_id": stored["id"],
            "criterion": criterion,
            "original": mark.original,
            "score": score,
            "by": actor,
            "reason": reason.strip(),
            "at": now,
        }
    )
    uow.accounts.audit(
        workspace_id,
        actor,
        "service.qa.overridden",
        f"conversation:{conversation_id}",
        {"criterion": criterion, "original": mark.original, "score": score, "reason": reason.strip()},
        now,
    )
    uow.quality.set_facts_qa(conversation_id, result.total)
    return qa_view(uow, workspace_id, conversation_id)


def qa_scorecards(
    uow: QualityUnitOfWork,
    workspace_id: int,
    *,
    by: Literal["agent", "team"] = "agent",
    period: Literal["day", "week", "month"] = "week",
    since: datetime | None = None,
    until: datetime | None = None,
    timezone: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    results = [result_of(r) for r in uow.quality.results(workspace_id, since, until)]
    return [
        {
            "key": c.key,
            "period": c.period,
            "conversations": c.conversations,
            "average": c.average,
            "by_criterion": c.by_criterion,
            "overridden": c.overridden,
        }
        for c in scorecards(results, by=by, period=period, timezone=timezone)
    ]


def record_csat(
    uow: QualityUnitOfWork,
    workspace_id: int,
    conversation_id: int,
    score: int,
    *,
    external_id: str | None = None,
    comment: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A satisfaction answer (1-5) on a conversation; the same ``external_id`` twice is stored once."""
    now = now or datetime.now(UTC)
    if uow.service.conversation(workspace_id, conversation_id) is None:
        raise NotFound(f"no conversation {conversation_id}")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput("a whole number from 1 to 5", field="score", value=score)
    key = (external_id or f"csat-{conversation_id}-{now.timestamp()}").strip()[:200]
    stored = uow.quality.add_csat(
        {
            "workspace_id": workspace_id,
            "conversation_id": conversation_id,
            "external_id": key,
            "score": score,
            "comment": (comment or "")[:2000] or None,
            "at": at or now,
        }
    )
    review_conversation(uow, workspace_id, conversation_id, inspect_now=False, now=now)
    return {"conversation_id": conversation_id, "score": score, "external_id": key, "stored": stored}


def review_backlog(
    unit_of_work: Callable[[], AbstractContextManager[QualityUnitOfWork]],
    *,
    now: datetime | None = None,
    batch: int = 200,
    limit: int | None = None,
    cache: KnowledgeCache | None = None,
    llm: LLMProvider | None = None,
) -> int:
    """Inspect resolved conversations and refresh stale facts, a batch per transaction, until done."""
    done = 0
    seen: set[tuple[int, int]] = set()
    while limit is None or done < limit:
        with unit_of_work() as uow:
            due = [d for d in uow.quality.due(batch if limit is None else min(batch, limit - done)) if d not in seen]
            for workspace_id, conversation_id in due:
                review_conversation(uow, workspace_id, conversation_id, now=now, cache=cache, llm=llm)
            uow.commit()
        seen.update(due)  # a conversation changed during the pass waits for the next run
        done += len(due)
        if not due or len(due) < batch:
            break
    return done
