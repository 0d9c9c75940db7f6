"""The knowledge base: import documents, mine FAQ pairs from resolved conversations, suggest answers.

Suggestions come from one ``KnowledgeIndex`` (nlp/retrieval.py) per workspace holding the article
chunks and the mined questions. Building it costs seconds at tens of thousands of chunks, so it is
cached per process and rebuilt only when the workspace's knowledge revision (``kb_state``) moves.
Embedding is slow next to the database, so vectors are computed once, outside any transaction
(``prepare_document``, ``mine_faqs`` embeds before writing), and stored with the chunks.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.domain.service.qa import mask_contacts  # mined FAQ text is shown to every agent and sent by the bot
from liuyu.services.ports_knowledge import Hit, KnowledgePassage

__all__ = [
    "BOT_ACTOR",
    "GOOD_CONFIDENCE",
    "KnowledgeCache",
    "PreparedDocument",
    "Suggestion",
    "SuggestionIndex",
    "build_index",
    "confidence",
    "faq_pair",
    "knowledge_report",
    "mine_faqs",
    "prepare_document",
    "rank",
    "record_feedback",
    "shared_cache",
    "store_document",
    "suggest",
    "suggestions_for_conversation",
]

log = logging.getLogger(__name__)

#: The actor the bot's replies and notes are written as; its replies never count as a person's.
BOT_ACTOR = "bot:knowledge"
#: Below this best confidence a customer question counts as a knowledge gap (no good suggestion).
GOOD_CONFIDENCE = 0.5
FEEDBACK_ACTIONS = ("inserted", "helpful", "unhelpful")
ERASED = "[erased]"  # the text of a message whose customer was erased
_DIGITS = re.compile(r"\d+")


class Embedder(Protocol):
    def query(self, texts: Sequence[str]) -> np.ndarray: ...
    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _vector(v: np.ndarray | None) -> bytes | None:
    return None if v is None else np.asarray(v, dtype=np.float32).tobytes()


# -- documents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedDocument:
    name: str
    title: str
    kind: str
    digest: str
    chunks: list[tuple[str, str, bytes | None]]  # heading, text, vector


def prepare_document(name: str, data: bytes, *, embedder: Embedder | None = None) -> PreparedDocument:
    """Read and chunk one file and embed its chunks; no database, so it runs before any transaction."""
    from liuyu.nlp.documents import read_document

    name = name.strip().replace("\\", "/").rsplit("/", 1)[-1][:300]
    if not name:
        raise InvalidInput("must not be empty", field="name")
    document = read_document(name, data)
    vectors: list[np.ndarray | None] = [None] * len(document.chunks)
    if embedder is not None:
        texts = [f"{document.title} {c.heading} {c.text}".strip() for c in document.chunks]
        vectors = list(embedder.passage(texts))
    return PreparedDocument(
        name=name,
        title=document.title,
        kind=document.kind,
        digest=hashlib.sha256(data).hexdigest(),
        chunks=[(c.heading, c.text, _vector(v)) for c, v in zip(document.chunks, vectors, strict=True)],
    )


def store_document(uow: Any, workspace_id: int, doc: PreparedDocument, now: datetime | None = None) -> dict[str, Any]:
    """Insert or replace the article of that name; the same file again changes nothing."""
    now = _now(now)
    current = uow.knowledge.article_by_name(workspace_id, doc.name)
    if current is not None and current["digest"] == doc.digest:
        return {"name": doc.name, "article_id": current["id"], "status": "unchanged", "chunks": current["chunk_count"]}
    values = {"name": doc.name, "title": doc.title, "kind": doc.kind, "digest": doc.digest}
    article_id = uow.knowledge.save_article(workspace_id, values, doc.chunks, now)
    uow.knowledge.bump(workspace_id, now)
    status = "created" if current is None else "updated"
    return {"name": doc.name, "article_id": article_id, "status": status, "chunks": len(doc.chunks)}


def delete_article(uow: Any, workspace_id: int, article_id: int, now: datetime | None = None) -> None:
    if not uow.knowledge.delete_article(workspace_id, article_id):
        raise NotFound(f"no article {article_id}")
    uow.knowledge.bump(workspace_id, _now(now))


# -- FAQ pairs mined from resolved conversations -------------------------------------------------


def faq_pair(thread: Sequence[dict[str, Any]], bot_actor: str = BOT_ACTOR) -> tuple[str, str] | None:
    """The question that opened a resolved conversation and the agent's answer to it.

    The answer is every agent reply after the first customer message up to the customer's next
    message; bot replies do not count (they came from the knowledge base already). None when the
    question or the answer is too short to be worth suggesting.
    """
    question, answer, started = "", [], False
    for m in thread:
        if m["direction"] == "in":
            if answer:
                break
            if not started:
                question, started = m["text"].strip(), True
            continue
        if started and m["direction"] == "out" and m["sender"] != bot_actor and m["text"].strip():
            answer.append(m["text"].strip())
    text = "\n".join(answer)
    if len(question) < 4 or len(text) < 6 or ERASED in (question, text):
        return None
    return mask_contacts(question)[:500], mask_contacts(text)[:2000]


def fold_text(text: str) -> str:
    from liuyu.nlp.embeddings import clean_text

    return _DIGITS.sub("0", clean_text(text).lower())


@dataclass
class MineReport:
    conversations: int = 0
    pairs: int = 0
    new: int = 0


def mine_faqs(
    unit_of_work: Callable[[], Any],
    workspace_id: int,
    *,
    embedder: Embedder | None = None,
    limit: int = 5000,
    now: datetime | None = None,
) -> MineReport:
    """Mine resolved conversations not mined before; each gives at most one pair, counted once."""
    now = _now(now)
    with unit_of_work() as uow:
        ids = uow.knowledge.unmined_resolved(workspace_id, limit)
        threads = uow.knowledge.thread(ids)
    pairs = {cid: faq_pair(threads[cid]) for cid in ids}
    found = {cid: p for cid, p in pairs.items() if p is not None}
    questions = sorted({q for q, _ in found.values()})
    vectors = dict(zip(questions, embedder.query(questions), strict=True)) if embedder and questions else {}
    report = MineReport(conversations=len(ids), pairs=len(found))
    with unit_of_work() as uow:
        for cid in ids:
            pair = found.get(cid)
            faq_id = None
            if pair is not None:
                question, answer = pair
                digest = hashlib.sha256(f"{fold_text(question)}\n{fold_text(answer)}".encode()).hexdigest()
                faq_id, created = uow.knowledge.add_faq(
                    workspace_id,
                    {
                        "digest": digest,
                        "question": question,
                        "answer": answer,
                        "conversation_id": cid,
                        "vector": _vector(vectors.get(question)),
                    },
                    now,
                )
                report.new += created
            uow.knowledge.mark_mined(workspace_id, cid, faq_id, now)
        if found:
            uow.knowledge.bump(workspace_id, now)
        uow.commit()
    return report


# -- the cached index ----------------------------------------------------------------------------


def confidence(hit: Hit) -> float:
    """A 0..1 confidence from a hit's evidence: e5 cosine scaled between the band where unrelated
    and matching texts sit (known questions run higher than paragraphs), or BM25 coverage when the
    question's rare words are all there. A ranking aid with a fixed meaning, not a probability;
    the bands come from the suggestion evaluation (docs/evaluation/suggestions.md)."""
    lexical = min(1.0, max(0.0, (hit.coverage - 0.4) / 0.6))
    if hit.cosine is None:
        return round(lexical, 3)
    low, high = (0.88, 0.97) if hit.source == "question" else (0.83, 0.92)
    dense = min(1.0, max(0.0, (hit.cosine - low) / (high - low)))
    return round(max(dense, 0.8 * lexical), 3)


class RememberingEmbedder:
    """Question vectors remembered by text (the most recent 4,096): the bot and the agent's panel
    ask about the same message, and an agent opens a conversation more than once. Embedding the
    question is most of a suggestion's time."""

    def __init__(self, inner: Embedder, memory: OrderedDict[str, np.ndarray], size: int = 4096) -> None:
        self.inner = inner
        self.memory = memory
        self.size = size
        self._lock = threading.Lock()

    def query(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.query(texts)
        with self._lock:
            found = self.memory.get(texts[0])
            if found is not None:
                self.memory.move_to_end(texts[0])
                return found[None, :]
        vector = np.asarray(self.inner.query(texts))
        with self._lock:
            self.memory[texts[0]] = vector[0]
            while len(self.memory) > self.size:
                self.memory.popitem(last=False)
        return vector

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.passage(texts)


@dataclass
class SuggestionIndex:
    """A retrieval index and, per passage id, where the passage came from."""

    revision: str
    index: Any
    sources: dict[str, dict[str, Any]]


class KnowledgeCache:
    """One index per (database, workspace), rebuilt when the workspace's knowledge revision moves.

    Searches run on the cached index without a lock. The first build happens under a per-workspace
    lock, so concurrent questions wait for one build. Later rebuilds happen in the foreground, or
    with ``background=True`` (the API's cache) in a thread while the previous index keeps answering.
    """

    def __init__(
        self,
        *,
        use_embeddings: bool = True,
        embedder: Embedder | None = None,
        index_factory: Callable[[], Any] | None = None,
        background: bool = False,
    ) -> None:
        self.use_embeddings = use_embeddings
        self.background = background
        self.embedder = embedder
        self.index_factory = index_factory
        self._entries: dict[tuple[str, int], SuggestionIndex] = {}
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._guard = threading.Lock()
        self._refreshing: dict[tuple[str, int], threading.Thread] = {}
        self._questions: OrderedDict[str, np.ndarray] = OrderedDict()
        self.builds = 0

    def _new_index(self) -> Any:
        if self.index_factory is not None:
            return self.index_factory()
        from liuyu.nlp.retrieval import KnowledgeIndex

        embedder = self.get_embedder()
        return KnowledgeIndex(
            use_embeddings=self.use_embeddings,
            embedder=None if embedder is None else RememberingEmbedder(embedder, self._questions),
        )

    def get_embedder(self) -> Embedder | None:
        if not self.use_embeddings:
            return None
        if self.embedder is None:
            from liuyu.nlp.embeddings import shared_embedder

            self.embedder = shared_embedder()
        return self.embedder

    def entry(self, uow: Any, workspace_id: int) -> SuggestionIndex:
        key = (str(uow.conn.engine.url), workspace_id)
        revision = uow.knowledge.revision(workspace_id)
        found = self._entries.get(key)
        if found is not None and found.revision == revision:
            return found
        same_database = found is not None and found.revision.split(":")[0] == revision.split(":")[0]
        if found is not None and same_database and self.background:
            self._refresh_later(key, uow, workspace_id)
            return found
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self._entries.get(key)
            if found is None or found.revision != revision:
                found = self._build(uow, workspace_id, revision)
                self._entries[key] = found
        return found

    def _refresh_later(self, key: tuple[str, int], uow: Any, workspace_id: int) -> None:
        """Rebuild in a thread of its own with its own unit of work; questions meanwhile get the
        previous index, so a knowledge change never makes an agent or a customer wait for a build."""
        with self._guard:
            if key in self._refreshing:
                return
            thread = threading.Thread(
                target=self._refresh, args=(key, type(uow), uow.engine, workspace_id), name=f"kb-index-{workspace_id}"
            )
            self._refreshing[key] = thread
        thread.daemon = True
        thread.start()

    def _refresh(
        self, key: tuple[str, int], unit_of_work: Callable[[Any], Any], engine: Any, workspace_id: int
    ) -> None:
        try:
            with unit_of_work(engine) as uow:
                revision = uow.knowledge.revision(workspace_id)
                self._entries[key] = self._build(uow, workspace_id, revision)
        except Exception:  # the previous index keeps serving; the next question tries again
            log.exception("rebuilding the knowledge index of workspace %s failed", workspace_id)
        finally:
            with self._guard:
                self._refreshing.pop(key, None)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for rebuilds in progress (tests, benchmarks, a graceful shutdown)."""
        with self._guard:
            threads = list(self._refreshing.values())
        for thread in threads:
            thread.join(timeout)

    def _build(self, uow: Any, workspace_id: int, revision: str) -> SuggestionIndex:
        self.builds += 1
        return build_index(
            uow.knowledge.index_chunks(workspace_id),
            uow.knowledge.index_faqs(workspace_id),
            self._new_index(),
            revision=revision,
            use_vectors=self.use_embeddings,
        )


def build_index(
    chunks: Sequence[dict[str, Any]],
    faqs: Sequence[dict[str, Any]],
    index: Any,
    *,
    revision: str = "",
    use_vectors: bool = True,
) -> SuggestionIndex:
    """Fill ``index`` with article chunks (passages) and FAQ pairs (known questions with answers).

    Rows carry ``id``, ``text`` / ``question`` and ``answer``, and optionally a stored ``vector``;
    rows without one are embedded by the index itself (when it uses embeddings)."""
    sources: dict[str, dict[str, Any]] = {}
    with_vectors: list[tuple[KnowledgePassage, bytes]] = []
    without: list[KnowledgePassage] = []
    for c in chunks:
        passage = KnowledgePassage(id=f"c{c['id']}", text=c["text"], title=f"{c['title']} {c['heading']}".strip())
        sources[passage.id] = {
            "source": "chunk",
            "source_id": c["id"],
            "article_id": c["article_id"],
            "title": c["title"],
            "heading": c["heading"],
        }
        (with_vectors.append((passage, c["vector"])) if c.get("vector") else without.append(passage))
    for f in faqs:
        passage = KnowledgePassage(id=f"f{f['id']}", text=f["question"], source="question", answer=f["answer"])
        sources[passage.id] = {
            "source": "faq",
            "source_id": f["id"],
            "question": f["question"],
            "support": f.get("support", 1),
        }
        (with_vectors.append((passage, f["vector"])) if f.get("vector") else without.append(passage))
    if use_vectors and with_vectors and hasattr(index, "add_vectors"):
        matrix = np.vstack([np.frombuffer(v, dtype=np.float32) for _, v in with_vectors])
        index.add_vectors([p for p, _ in with_vectors], matrix)
    else:
        without = [p for p, _ in with_vectors] + without
    if without:
        index.add(without)
    return SuggestionIndex(revision=revision, index=index, sources=sources)


_SHARED: dict[bool, KnowledgeCache] = {}


def shared_cache(use_embeddings: bool = True) -> KnowledgeCache:
    """The process's cache (one per embeddings setting); it rebuilds in the background."""
    if use_embeddings not in _SHARED:
        _SHARED[use_embeddings] = KnowledgeCache(use_embeddings=use_embeddings, background=True)
    return _SHARED[use_embeddings]


# -- suggestions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    source: str  # chunk | faq
    source_id: int
    text: str  # what goes into the reply box
    confidence: float
    article_id: int | None = None
    title: str = ""
    heading: str = ""
    question: str = ""  # the known question, for an FAQ pair
    support: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def citation(self) -> str:
        if self.source == "chunk":
            return f"《{self.title}》{(' ' + self.heading) if self.heading else ''}"
        return f"常见问题 #{self.source_id}"


def suggest(cache: KnowledgeCache, uow: Any, workspace_id: int, question: str, k: int = 3) -> list[Suggestion]:
    """The best ``k`` answers to a question from the workspace's cached index."""
    return rank(cache.entry(uow, workspace_id), question, k)


def rank(entry: SuggestionIndex, question: str, k: int = 3) -> list[Suggestion]:
    """The best ``k`` answers, most confident first, one per distinct text (many FAQ pairs share an answer)."""
    hits = entry.index.search(question, k=max(k * 3, 10))
    out: list[Suggestion] = []
    seen: set[str] = set()
    for hit in hits:
        source = entry.sources.get(hit.id)
        if source is None:
            continue
        text = hit.answer if source["source"] == "faq" else hit.text
        if text in seen:
            continue
        seen.add(text)
        out.append(Suggestion(text=text, confidence=confidence(hit), **source))
    out.sort(key=lambda s: -s.confidence)
    return out[:k]


def suggestions_for_conversation(
    uow: Any,
    workspace_id: int,
    conversation_id: int,
    *,
    cache: KnowledgeCache,
    message_id: int | None = None,
    k: int = 3,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Suggestions for a customer message (default: the latest); a question without a good one is
    recorded as a gap (once per message; the caller commits)."""
    conversation = uow.service.conversation(workspace_id, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    if message_id is None:
        message = uow.knowledge.latest_inbound(conversation_id)
    else:
        message = uow.knowledge.message(workspace_id, message_id)
        if message is None or message["conversation_id"] != conversation_id or message["direction"] != "in":
            raise NotFound(f"no customer message {message_id} in conversation {conversation_id}")
    bot = [
        {
            "reply_id": t["reply_id"],
            "message_id": t["message_id"],
            "action": t["action"],
            "reason": t["reason"],
            "confidence": t["confidence"],
            "flagged": t["flagged"],
            "citations": t["citations"],
        }
        for t in uow.knowledge.bot_turns(conversation_id)
    ]
    if message is None:
        return {"message": None, "suggestions": [], "gap": False, "bot": bot}
    found = suggest(cache, uow, workspace_id, message["text"], k)
    best = found[0].confidence if found else 0.0
    gap = best < GOOD_CONFIDENCE
    if gap:
        uow.knowledge.add_gap(
            workspace_id, message["id"], conversation_id, "no_suggestion", {"best_confidence": best}, _now(now)
        )
    return {
        "message": {"id": message["id"], "text": message["text"], "sent_at": message["sent_at"]},
        "suggestions": [s.as_dict() for s in found],
        "gap": gap,
        "bot": bot,
    }


def record_feedback(
    uow: Any,
    workspace_id: int,
    conversation_id: int,
    *,
    message_id: int,
    source: str,
    source_id: int,
    action: str,
    actor: str,
    now: datetime | None = None,
) -> bool:
    """An agent inserted a suggestion or marked it helpful / unhelpful; True when it was new."""
    if action not in FEEDBACK_ACTIONS:
        raise InvalidInput(f"use one of {', '.join(FEEDBACK_ACTIONS)}", field="action", value=action)
    message = uow.knowledge.message(workspace_id, message_id)
    if message is None or message["conversation_id"] != conversation_id:
        raise NotFound(f"no message {message_id} in conversation {conversation_id}")
    article_id = None
    if source == "chunk":
        article_id = uow.knowledge.chunk_article(workspace_id, source_id)
        if article_id is None:
            raise NotFound(f"no knowledge chunk {source_id}")
    elif source == "faq":
        if not uow.knowledge.faq_exists(workspace_id, source_id):
            raise NotFound(f"no FAQ pair {source_id}")
    else:
        raise InvalidInput("use chunk or faq", field="source", value=source)
    return bool(
        uow.knowledge.add_feedback(
            {
                "workspace_id": workspace_id,
                "message_id": message_id,
                "source": source,
                "source_id": source_id,
                "article_id": article_id,
                "action": action,
                "actor": actor,
                "at": _now(now),
            }
        )
    )


# -- the report ----------------------------------------------------------------------------------


def knowledge_report(
    uow: Any, workspace_id: int, *, stale_days: int = 180, gap_limit: int = 100, now: datetime | None = None
) -> dict[str, Any]:
    """Articles with their use and staleness, the most supported FAQ pairs, the latest gaps.

    An article is stale when it was not updated for ``stale_days``, or when an agent marked one of
    its answers unhelpful after its last update (updating the article clears that)."""
    now = _now(now)
    articles = []
    for a in uow.knowledge.articles(workspace_id):
        reasons = []
        if now - a["updated_at"] > timedelta(days=stale_days):
            reasons.append(f"not updated for {stale_days} days")
        if a["last_unhelpful_at"] is not None and a["last_unhelpful_at"] > a["updated_at"]:
            reasons.append("marked unhelpful since its last update")
        a = {k: v for k, v in a.items() if k != "digest"}
        articles.append(
            {**a, "used": int(a["inserted"]) + int(a["helpful"]), "stale": bool(reasons), "stale_reasons": reasons}
        )
    return {
        "articles": articles,
        "faqs": uow.knowledge.faqs(workspace_id),
        "gaps": uow.knowledge.gaps(workspace_id, limit=gap_limit),
    }
