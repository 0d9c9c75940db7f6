"""Bot first, human when needed: the knowledge base answers inbound questions on channels that want it.

The bot runs after the inbound messages are committed and reads the knowledge index outside the
write transaction (a search costs tens of ms). Its answer is an ordinary reply through the outbox
(actor ``bot:knowledge``) with the sources cited, and the conversation is marked resolved; a
hand-off (转人工) tells the customer a person is coming and leaves an internal note with the reason,
so the agent sees why. The rules are in ``domain/service/bot.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.domain.service.bot import decide, outcome
from liuyu.services import inbox
from liuyu.services.knowledge import BOT_ACTOR, GOOD_CONFIDENCE, KnowledgeCache, Suggestion, suggest

__all__ = ["HANDOFF_NOTICE", "REASON_TEXT", "answer_inbound", "bot_report", "configure_bot", "flag_bot_answer"]

HANDOFF_NOTICE = "正在为您转接人工客服，请稍候。"
REASON_TEXT = {
    "asked_for_human": "客户要求转人工",
    "negative_sentiment": "客户情绪负面",
    "low_confidence": "知识库没有把握足够的答案",
}


def configure_bot(
    uow: Any,
    workspace_id: int,
    channel: str,
    *,
    enabled: bool | None = None,
    threshold: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    if channel not in inbox.IMPORT_CHANNELS:
        raise InvalidInput(f"use one of {', '.join(inbox.IMPORT_CHANNELS)}", field="channel", value=channel)
    values: dict[str, Any] = {}
    if enabled is not None:
        values["enabled"] = enabled
    if threshold is not None:
        if not 0 <= threshold <= 1:
            raise InvalidInput("must be between 0 and 1", field="threshold", value=threshold)
        values["threshold"] = threshold
    uow.knowledge.save_bot_setting(workspace_id, channel, values, now or datetime.now(UTC))
    saved = uow.knowledge.bot_setting(workspace_id, channel)
    return {"channel": channel, "enabled": bool(saved["enabled"]), "threshold": float(saved["threshold"])}


@dataclass(frozen=True)
class _Plan:
    message: dict[str, Any]
    action: str
    reason: str
    best: Suggestion | None


def answer_inbound(
    unit_of_work: Callable[[], Any],
    workspace_id: int,
    channel: str,
    external_ids: Sequence[str],
    *,
    cache: KnowledgeCache,
    now: datetime | None = None,
    warm: bool = True,
) -> list[dict[str, Any]]:
    """Let the bot take the newest customer message of each conversation these messages landed in.

    Returns the decisions taken (``answered`` / ``handoff``), one per conversation; nothing when the
    channel's bot is off. A message the bot already decided on is left alone (webhook retries).
    With the bot off and ``warm``, the questions are searched once anyway, so their vectors are
    remembered by the cache and the agent's suggestions skip the embedding.
    """
    now = now or datetime.now(UTC)
    plans: list[_Plan] = []
    with unit_of_work() as uow:
        setting = uow.knowledge.bot_setting(workspace_id, channel)
        found = uow.knowledge.message_ids(workspace_id, channel, list(external_ids))
        latest: dict[int, dict[str, Any]] = {}
        for m in found.values():
            current = latest.get(m["conversation_id"])
            if current is None or (m["sent_at"], m["id"]) > (current["sent_at"], current["id"]):
                latest[m["conversation_id"]] = m
        if not setting or not setting["enabled"]:
            if warm and uow.knowledge.revision(workspace_id) != "-":
                # Ask now, so the question's vector is remembered when an agent opens the conversation.
                for m in latest.values():
                    suggest(cache, uow, workspace_id, m["text"], k=1)
            return []
        for conversation_id, m in sorted(latest.items()):
            if uow.knowledge.has_turn(m["id"]):
                continue
            turns = uow.knowledge.bot_turns(conversation_id)
            human = uow.knowledge.human_replied(conversation_id, BOT_ACTOR) or any(
                t["action"] == "handoff" for t in turns
            )
            best = None if human else next(iter(suggest(cache, uow, workspace_id, m["text"], k=1)), None)
            decision = decide(
                m["text"], m["analysis"], best.confidence if best else 0.0, setting["threshold"], human_involved=human
            )
            if decision.action != "silent":
                plans.append(_Plan(m, decision.action, decision.reason, best))
    done: list[dict[str, Any]] = []
    if not plans:
        return done
    with unit_of_work() as uow:
        for plan in plans:
            if uow.knowledge.has_turn(plan.message["id"]):
                continue
            done.append(_carry_out(uow, workspace_id, channel, plan, now))
        uow.commit()
    return done


def _carry_out(uow: Any, workspace_id: int, channel: str, plan: _Plan, now: datetime) -> dict[str, Any]:
    m, best = plan.message, plan.best
    conversation_id = m["conversation_id"]
    key = f"bot-{m['id']}"
    row: dict[str, Any] = {
        "workspace_id": workspace_id,
        "conversation_id": conversation_id,
        "channel": channel,
        "message_id": m["id"],
        "confidence": best.confidence if best else 0.0,
        "citations": [],
        "at": now,
    }
    if plan.action == "answer" and best is not None:
        citation = {k: v for k, v in best.as_dict().items() if k not in ("text", "confidence", "question")}
        text = f"{best.text}\n——\n参考：{best.citation()}"
        reply = inbox.reply(uow, workspace_id, conversation_id, text, BOT_ACTOR, idempotency_key=key, now=now)
        inbox.change_conversation(uow, workspace_id, conversation_id, status="resolved", now=now)
        row.update(action="answered", reply_id=reply["id"], citations=[citation])
    else:
        reply = inbox.reply(uow, workspace_id, conversation_id, HANDOFF_NOTICE, BOT_ACTOR, idempotency_key=key, now=now)
        best_text = f"；最佳答案把握 {best.confidence:.2f}（{best.citation()}）" if best else "；知识库没有相近的答案"
        inbox.add_note(
            uow, workspace_id, conversation_id, f"转人工：{REASON_TEXT[plan.reason]}{best_text}", BOT_ACTOR, now
        )
        inbox.change_conversation(uow, workspace_id, conversation_id, status="open", now=now)
        row.update(action="handoff", reason=plan.reason, reply_id=reply["id"])
        if plan.reason == "low_confidence" and row["confidence"] < GOOD_CONFIDENCE:  # as for the agent
            gap = {"best_confidence": row["confidence"]}
            uow.knowledge.add_gap(workspace_id, m["id"], conversation_id, "no_suggestion", gap, now)
    uow.knowledge.add_bot_turn(row)
    return {"conversation_id": conversation_id, **{k: row[k] for k in ("action", "confidence", "citations")},
            "reason": row.get("reason")}  # fmt: skip


def flag_bot_answer(
    uow: Any,
    workspace_id: int,
    conversation_id: int,
    reply_id: int,
    *,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """An agent says a bot answer was wrong: the question becomes a knowledge gap and the
    conversation goes back to the open queue for a person."""
    now = now or datetime.now(UTC)
    turn = uow.knowledge.bot_turn_by_reply(workspace_id, reply_id)
    if turn is None or turn["conversation_id"] != conversation_id or turn["action"] != "answered":
        raise NotFound(f"no bot answer {reply_id} in conversation {conversation_id}")
    reply = uow.knowledge.message(workspace_id, reply_id)
    uow.knowledge.flag_turn(turn["id"])
    detail = {"answer": reply["text"] if reply else "", "citations": turn["citations"], "by": actor, "note": note[:500]}
    uow.knowledge.add_gap(workspace_id, turn["message_id"], conversation_id, "bot_wrong", detail, now)
    inbox.change_conversation(uow, workspace_id, conversation_id, status="open", now=now)
    return {"conversation_id": conversation_id, "reply_id": reply_id, "flagged": True}


def bot_report(uow: Any, workspace_id: int, *, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """Containment and hand-off per channel for the conversations the bot took part in.

    containment_rate = contained / decided (contained + came back + handed off); a conversation
    whose last bot answer is younger than 48 h is not decided yet. handoff_rate = handed off / all.
    """
    now = now or datetime.now(UTC)
    per_channel: dict[str, Counter[str]] = {}
    reasons: dict[str, Counter[str]] = {}
    for c in uow.knowledge.bot_conversations(workspace_id, now - timedelta(days=days)):
        turns, msgs = c["turns"], c.get("messages", [])
        result = outcome(
            answered_at=[t["at"] for t in turns if t["action"] == "answered"],
            handed_off=any(t["action"] == "handoff" for t in turns),
            flagged=any(t["flagged"] for t in turns),
            human_replied=any(m["direction"] == "out" and m["sender"] != BOT_ACTOR for m in msgs),
            resolved=c.get("status") == "resolved",
            customer_messages=[m["sent_at"] for m in msgs if m["direction"] == "in"],
            now=now,
        )
        counts = per_channel.setdefault(c["channel"], Counter())
        counts["conversations"] += 1
        counts[result.state] += 1
        counts["answered"] += any(t["action"] == "answered" for t in turns)
        for t in turns:
            if t["action"] == "handoff":
                reasons.setdefault(c["channel"], Counter())[t["reason"]] += 1
    rows = [_rates(channel, counts, reasons.get(channel, Counter())) for channel, counts in sorted(per_channel.items())]
    total: Counter[str] = sum(per_channel.values(), Counter())
    all_reasons: Counter[str] = sum(reasons.values(), Counter())
    return {"days": days, "channels": rows, "total": _rates("all", total, all_reasons)}


def _rates(channel: str, counts: Counter[str], reasons: Counter[str]) -> dict[str, Any]:
    decided = counts["contained"] + counts["came_back"] + counts["handed_off"]
    return {
        "channel": channel,
        "conversations": counts["conversations"],
        "answered": counts["answered"],
        "contained": counts["contained"],
        "came_back": counts["came_back"],
        "handed_off": counts["handed_off"],
        "undecided": counts["undecided"],
        "containment_rate": round(counts["contained"] / decided, 4) if decided else None,
        "handoff_rate": round(counts["handed_off"] / counts["conversations"], 4) if counts["conversations"] else None,
        "handoff_reasons": dict(sorted(reasons.items())),
    }
