"""Quality inspection (质检) of every conversation against a workspace rubric.

Each criterion gets a score and the evidence behind it (which message, when, which words), so a
supervisor can check a score in seconds instead of rereading the chat. Criteria that do not
apply (no negative customer message: no empathy to show) are left out of the total rather than
given free points. Sentiment and knowledge-base similarity are inputs per message id: the text
understanding computes them, this module only judges. A supervisor may override any criterion
with a reason; the original score stays beside the override.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from liuyu.domain.errors import InvalidInput
from liuyu.domain.service.calendar import DEFAULT_TIMEZONE, require_aware
from liuyu.domain.service.conversation import Conversation, Message
from liuyu.domain.service.words import WordLibrary, check_draft

CRITERIA = ("greeting", "first_response", "longest_wait", "words", "empathy", "knowledge", "resolution", "closing")


class LlmCriterion(BaseModel):
    """A yes/no question a language model answers about the whole conversation (解决问题: 客服是否真正
    解决了客户的问题？); scored only when the workspace has a provider configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40)
    question: str = Field(min_length=1, max_length=500)
    weight: int = Field(default=10, ge=0, le=1000)


class QaRubric(BaseModel):
    """A workspace's rubric: weights (points per criterion), phrase lists and time targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[str, int] = Field(
        default_factory=lambda: {
            "greeting": 10,
            "first_response": 15,
            "longest_wait": 10,
            "words": 20,
            "empathy": 15,
            "knowledge": 10,
            "resolution": 10,
            "closing": 10,
        }
    )
    greetings: tuple[str, ...] = ("您好", "你好", "亲", "欢迎")
    closings: tuple[str, ...] = ("再见", "祝您", "感谢您", "欢迎再次", "还有其他")
    apologies: tuple[str, ...] = ("抱歉", "不好意思", "对不起")
    empathy: tuple[str, ...] = ("理解您", "明白您", "给您带来", "着急")
    confirmations: tuple[str, ...] = ("解决了吗", "是否解决", "还有什么问题", "还有其他问题")
    customer_resolved: tuple[str, ...] = ("解决了", "好了", "明白了", "收到了")
    first_response_seconds: int = Field(default=60, gt=0)
    longest_wait_seconds: int = Field(default=180, gt=0)
    negative_below: float = -0.3
    kb_min_similarity: float = 0.6
    words: WordLibrary = WordLibrary()
    llm_criteria: tuple[LlmCriterion, ...] = ()

    def weight(self, criterion: str) -> int:
        return self.weights.get(criterion, 0)


@dataclass(frozen=True, slots=True)
class Evidence:
    note: str
    message_id: str | None = None
    at: datetime | None = None
    words: tuple[str, ...] = ()
    source: str = ""  # knowledge: the article heading or FAQ pair the reply was compared with
    reference: str = ""  # knowledge: that article passage or FAQ answer


@dataclass(frozen=True, slots=True)
class AnsweredQuestion:
    """A customer's question (their messages since the last reply) and the agent's answer (the
    replies that followed, up to the customer's next message)."""

    question_ids: tuple[str, ...]
    question: str
    reply_ids: tuple[str, ...]
    answer: str


@dataclass(frozen=True, slots=True)
class KnowledgeAnswer:
    """What the knowledge base answers to a question an agent answered, and how close the agent came."""

    question_id: str
    source: str
    text: str
    similarity: float


#: An answer shorter than this many character pairs ("好的", "稍等") answers nothing to compare.
MIN_ANSWER_PAIRS = 4
_RUNS = re.compile(r"[0-9a-z\u3400-\u9fff]+")


def _pairs(text: str) -> set[str]:
    """Character bigrams within runs of letters, digits and CJK characters (punctuation splits)."""
    out: set[str] = set()
    for run in _RUNS.findall(text.lower()):
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def answer_similarity(answer: str, reference: str) -> float:
    """How much of one text the other says, 0..1: the larger share of either text's character
    pairs found in the other. An agent who quotes one sentence of a long passage, or pastes the FAQ
    answer inside a greeting, scores high; one who says something else scores low. Lexical on
    purpose: it is evidence a supervisor can check by eye, not a judgement of meaning."""
    mine, theirs = _pairs(answer), _pairs(reference)
    if not mine or not theirs:
        return 0.0
    shared = len(mine & theirs)
    return round(max(shared / len(mine), shared / len(theirs)), 3)


def answered_questions(conversation: Conversation) -> list[AnsweredQuestion]:
    """Each stretch of customer messages followed by agent replies, in time order; answers too
    short to say anything are left out."""
    found: list[AnsweredQuestion] = []
    asked: list[Message] = []
    replies: list[Message] = []

    def close() -> None:
        answer = "\n".join(m.text for m in replies)
        if asked and replies and len(_pairs(answer)) >= MIN_ANSWER_PAIRS:
            question = "\n".join(m.text for m in asked)
            found.append(AnsweredQuestion(tuple(m.id for m in asked), question, tuple(m.id for m in replies), answer))

    for message in conversation.messages:
        if message.direction == "in" and message.author_kind == "customer":
            if replies:
                close()
                asked, replies = [], []
            asked.append(message)
        elif message.is_reply and asked:
            replies.append(message)
    close()
    return found


def compare_with_knowledge(
    conversation: Conversation, best_answer: Callable[[str], tuple[str, str] | None]
) -> dict[str, KnowledgeAnswer]:
    """For each answered question the knowledge base has a good answer to (``best_answer`` gives
    its source and text, or None), that answer and its similarity to the agent's, keyed by the
    first reply of the answer."""
    out: dict[str, KnowledgeAnswer] = {}
    for pair in answered_questions(conversation):
        best = best_answer(pair.question)
        if best is not None:
            source, text = best
            out[pair.reply_ids[0]] = KnowledgeAnswer(
                pair.question_ids[-1], source, text, answer_similarity(pair.answer, text)
            )
    return out


@dataclass(frozen=True, slots=True)
class Override:
    criterion: str
    original: float
    score: float
    by: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CriterionScore:
    criterion: str
    score: float
    max_score: int
    evidence: tuple[Evidence, ...]
    override: Override | None = None


@dataclass(slots=True)
class QaResult:
    conversation_id: str
    agent_id: str | None
    team: str | None
    inspected_at: datetime
    scores: dict[str, CriterionScore] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Percent of the points available from the criteria that applied."""
        available = sum(score.max_score for score in self.scores.values())
        got = sum(score.score for score in self.scores.values())
        return 100.0 if available == 0 else round(100 * got / available, 1)

    def override(self, criterion: str, score: float, by: str, reason: str, at: datetime) -> None:
        """A supervisor's verdict replaces the score; the original and the reason are kept."""
        current = self.scores.get(criterion)
        if current is None:
            raise InvalidInput("this criterion was not scored for this conversation", field=criterion)
        if not reason.strip():
            raise InvalidInput("an override needs a reason", field="reason")
        if not 0 <= score <= current.max_score:
            raise InvalidInput(f"score between 0 and {current.max_score}", field=criterion, value=score)
        original = current.override.original if current.override else current.score
        mark = Override(criterion, original, score, by, reason, require_aware(at))
        self.scores[criterion] = replace(current, score=score, override=mark)


def _found(text: str, phrases: Iterable[str]) -> tuple[str, ...]:
    return tuple(phrase for phrase in phrases if phrase and phrase in text)


def _cite(message: Message, note: str, words: tuple[str, ...] = ()) -> Evidence:
    return Evidence(note, message.id, message.at, words)


def _timed(actual: timedelta, target_seconds: int, weight: int) -> float:
    """Full points within target, half within twice the target, none beyond."""
    seconds = actual.total_seconds()
    if seconds <= target_seconds:
        return float(weight)
    return weight / 2 if seconds <= 2 * target_seconds else 0.0


class _Inspection:
    """One conversation's inspection; each method scores one criterion or returns None if it does not apply."""

    def __init__(
        self,
        conversation: Conversation,
        rubric: QaRubric,
        sentiment: Mapping[str, float],
        kb_similarity: Mapping[str, float],
        at: datetime,
        kb_answers: Mapping[str, KnowledgeAnswer] | None = None,
    ) -> None:
        self.conversation, self.rubric, self.at = conversation, rubric, at
        self.sentiment, self.kb_similarity = sentiment, kb_similarity
        self.kb_answers = kb_answers or {}
        self.messages = conversation.messages
        self.replies = [m for m in self.messages if m.is_reply]

    def greeting(self, weight: int) -> CriterionScore | None:
        if not self.replies:
            return None
        first = self.replies[0]
        words = _found(first.text, self.rubric.greetings)
        note = "greeted in the first reply" if words else "no greeting in the first reply"
        return CriterionScore("greeting", float(weight if words else 0), weight, (_cite(first, note, words),))

    def first_response(self, weight: int) -> CriterionScore | None:
        first = self.conversation.first_customer_message()
        if first is None:
            return None
        reply = self.conversation.first_reply()
        if reply is None:
            return CriterionScore("first_response", 0.0, weight, (_cite(first, "the customer was never answered"),))
        took = reply.at - first.at
        note = f"first reply after {int(took.total_seconds())} s (target {self.rubric.first_response_seconds} s)"
        score = _timed(took, self.rubric.first_response_seconds, weight)
        return CriterionScore("first_response", score, weight, (_cite(first, "customer wrote"), _cite(reply, note)))

    def longest_wait(self, weight: int) -> CriterionScore | None:
        wait = self.conversation.longest_customer_wait(now=self.at)
        if wait is None:
            return None
        note = f"longest wait {int(wait.waited.total_seconds())} s (target {self.rubric.longest_wait_seconds} s)"
        if not wait.answered:
            note += ", still unanswered"
        score = _timed(wait.waited, self.rubric.longest_wait_seconds, weight)
        return CriterionScore("longest_wait", score, weight, (Evidence(note, wait.message_id, wait.since),))

    def words(self, weight: int) -> CriterionScore | None:
        if not self.replies:
            return None
        evidence, score = [], float(weight)
        for reply in self.replies:
            hits = check_draft(reply.text, self.rubric.words)
            for kind in ("forbidden", "promise", "sensitive"):
                words = tuple(hit.word for hit in hits if hit.kind == kind)
                if words:
                    evidence.append(_cite(reply, f"{kind} words", words))
                    if kind == "forbidden":
                        score = 0.0
                    elif kind == "promise":
                        score = min(score, weight / 2)
        if not evidence:
            evidence.append(Evidence(f"no listed words in {len(self.replies)} replies"))
        return CriterionScore("words", score, weight, tuple(evidence))

    def empathy(self, weight: int) -> CriterionScore | None:
        inbound = (m for m in self.messages if m.direction == "in")
        negative = next((m for m in inbound if self.sentiment.get(m.id, 0.0) < self.rubric.negative_below), None)
        if negative is None:
            return None
        upset = _cite(negative, f"customer negative (sentiment {self.sentiment[negative.id]:.2f})")
        for reply in (m for m in self.replies if m.at >= negative.at):
            words = _found(reply.text, self.rubric.apologies + self.rubric.empathy)
            if words:
                return CriterionScore("empathy", float(weight), weight, (upset, _cite(reply, "apologized", words)))
        return CriterionScore("empathy", 0.0, weight, (upset, Evidence("no apology or empathy in any later reply")))

    def knowledge(self, weight: int) -> CriterionScore | None:
        similarity = {**self.kb_similarity, **{k: a.similarity for k, a in self.kb_answers.items()}}
        scored = [m for m in self.replies if m.id in similarity]
        if not scored:
            return None  # nothing the knowledge base answers (or no knowledge base): not applicable
        floor = self.rubric.kb_min_similarity
        off = [m for m in scored if similarity[m.id] < floor]
        evidence = [self._compared(m, similarity[m.id], "<") for m in off]
        evidence += [self._compared(m, similarity[m.id], ">=") for m in scored if m not in off]
        return CriterionScore("knowledge", round(weight * (1 - len(off) / len(scored)), 1), weight, tuple(evidence))

    def _compared(self, reply: Message, similarity: float, sign: str) -> Evidence:
        found = self.kb_answers.get(reply.id)
        note = f"similarity to the knowledge base {similarity:.2f} {sign} {self.rubric.kb_min_similarity}"
        if found is None:
            return _cite(reply, note)
        note += f" (question #{found.question_id}; {found.source})"
        return Evidence(note, reply.id, reply.at, (), found.source, found.text)

    def resolution(self, weight: int) -> CriterionScore | None:
        if not self.replies:
            return None
        for message in reversed(self.messages):
            phrases = self.rubric.confirmations if message.is_reply else self.rubric.customer_resolved
            words = _found(message.text, phrases) if message.author_kind in {"agent", "customer"} else ()
            if words:
                who = "agent asked" if message.is_reply else "customer confirmed"
                return CriterionScore("resolution", float(weight), weight, (_cite(message, who, words),))
        return CriterionScore("resolution", 0.0, weight, (Evidence("nobody confirmed the problem was solved"),))

    def closing(self, weight: int) -> CriterionScore | None:
        if not self.replies:
            return None
        last = self.replies[-1]
        words = _found(last.text, self.rubric.closings)
        note = "closed politely" if words else "no closing in the last reply"
        return CriterionScore("closing", float(weight if words else 0), weight, (_cite(last, note, words),))


#: The score key of an LLM criterion, beside the built-in ones: ``llm:解决问题``.
LLM_PREFIX = "llm:"
_VERDICT_POINTS = {"yes": 1.0, "partial": 0.5, "no": 0.0}
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LlmVerdict:
    """The model's answer to one criterion: yes, partial or no, and its one-sentence reason."""

    verdict: Literal["yes", "partial", "no"]
    reason: str


def parse_verdict(raw: str) -> LlmVerdict:
    """The verdict in a model's answer (a JSON object ``{"verdict": …, "reason": …}``, possibly
    inside a code fence or chatter); ValueError says what is wrong with it."""
    found = _JSON_OBJECT.search(raw or "")
    if found is None:
        raise ValueError(f"the model did not answer a JSON object: {raw[:120]!r}")
    try:
        data = json.loads(found.group(0), strict=False)  # models put raw newlines inside strings
    except json.JSONDecodeError as exc:
        raise ValueError(f"the model's JSON is malformed ({exc.msg}): {raw[:120]!r}") from exc
    verdict = str(data.get("verdict", "") if isinstance(data, dict) else "").strip().lower()
    if verdict not in _VERDICT_POINTS:
        raise ValueError(f"verdict must be yes, partial or no, not {verdict!r}")
    reason = " ".join(str(data.get("reason") or "").split())[:300]
    return LlmVerdict(verdict, reason or "(no reason given)")  # type: ignore[arg-type]


_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")  # ASCII only: Chinese around it stays


def mask_contacts(text: str) -> str:
    """Mobile numbers and emails replaced before a conversation leaves for a model."""
    return _EMAIL.sub("[邮箱]", _PHONE.sub("[手机号]", text))


def llm_transcript(conversation: Conversation, limit: int = 6000) -> str:
    """The conversation as the model reads it: 客户/客服 lines in time order, phones and emails
    masked, the latest ``limit`` characters."""
    lines = [
        f"{'客户' if m.direction == 'in' else '客服'}: {mask_contacts(' '.join(m.text.split()))}"
        for m in conversation.messages
        if m.direction == "in" or m.is_reply
    ]
    return "\n".join(lines)[-limit:]


def llm_score(criterion: LlmCriterion, answer: LlmVerdict | str) -> CriterionScore:
    """A verdict scored with the criterion's weight (partial is half), the reason as evidence. A
    provider error (a string) is noted with no points available, so it never costs the agent."""
    key = LLM_PREFIX + criterion.name
    if isinstance(answer, str):
        return CriterionScore(key, 0.0, 0, (Evidence(f"not applicable: {answer}"),))
    score = round(criterion.weight * _VERDICT_POINTS[answer.verdict], 1)
    return CriterionScore(key, score, criterion.weight, (Evidence(f"{answer.verdict}: {answer.reason}"),))


def inspect(
    conversation: Conversation,
    rubric: QaRubric,
    *,
    at: datetime,
    agent_id: str | None = None,
    team: str | None = None,
    sentiment: Mapping[str, float] | None = None,
    kb_similarity: Mapping[str, float] | None = None,
    kb_answers: Mapping[str, KnowledgeAnswer] | None = None,
    llm_answers: Mapping[str, LlmVerdict | str] | None = None,
) -> QaResult:
    """Score one conversation; ``agent_id`` defaults to whoever it is assigned to. ``kb_answers``
    (from ``compare_with_knowledge``) carries the knowledge-base answer each reply was compared with;
    ``llm_answers`` the model's verdict (or the provider's error) per LLM criterion name; a
    criterion without one (no provider) is not applicable."""
    at = require_aware(at, "at")
    inspection = _Inspection(conversation, rubric, sentiment or {}, kb_similarity or {}, at, kb_answers)
    result = QaResult(conversation.id, agent_id or conversation.assignee, team, at)
    for criterion in CRITERIA:
        weight = rubric.weight(criterion)
        if weight <= 0:
            continue
        score = getattr(inspection, criterion)(weight)
        if score is not None:
            result.scores[criterion] = score
    for extra in rubric.llm_criteria:
        answer = (llm_answers or {}).get(extra.name)
        if extra.weight > 0 and answer is not None:
            result.scores[LLM_PREFIX + extra.name] = llm_score(extra, answer)
    return result


@dataclass(frozen=True, slots=True)
class Scorecard:
    key: str
    period: str
    conversations: int
    average: float
    by_criterion: dict[str, float]  # percent of points, over the conversations where it applied
    overridden: int


def period_of(moment: datetime, period: Literal["day", "week", "month"], timezone: str = DEFAULT_TIMEZONE) -> str:
    """The reporting bucket in the workspace's time zone: 2026-11-22, 2026-W47 or 2026-11."""
    local = moment.astimezone(ZoneInfo(timezone))
    if period == "day":
        return local.date().isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


def scorecards(
    results: Iterable[QaResult],
    by: Literal["agent", "team"] = "agent",
    period: Literal["day", "week", "month"] = "week",
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Scorecard]:
    """Average QA score per agent (or team) per period, with each criterion's share of points."""
    groups: dict[tuple[str, str], list[QaResult]] = {}
    for result in results:
        key = (result.agent_id if by == "agent" else result.team) or "(none)"
        groups.setdefault((key, period_of(result.inspected_at, period, timezone)), []).append(result)
    cards = []
    for (key, bucket), members in sorted(groups.items()):
        by_criterion = {}
        for criterion in CRITERIA:
            scored = [r.scores[criterion] for r in members if criterion in r.scores]
            if scored:
                points = sum(s.score for s in scored) / sum(s.max_score for s in scored)
                by_criterion[criterion] = round(100 * points, 1)
        average = round(sum(r.total for r in members) / len(members), 1)
        overridden = sum(1 for r in members if any(s.override for s in r.scores.values()))
        cards.append(Scorecard(key, bucket, len(members), average, by_criterion, overridden))
    return cards
