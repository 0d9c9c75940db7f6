"""Question matching: do two customer questions ask the same thing (花呗怎么提额 / 怎样提高花呗额度)?

Cosine of sentence embeddings alone confuses questions that share a topic but differ in one
decisive word (多少钱 vs 在哪买, 能 vs 不能, 7天 vs 15天). So a small gradient-boosted classifier
reads several views of the pair: e5 cosine and the element-wise product and difference of the two
vectors, character and word overlap, TF-IDF cosines, the IDF weight of words only one side has,
edit-distance ratios, length differences, and whether numbers, negations or question words disagree.
It is trained by ``liuyu nlp train-match`` on question pairs and shipped as ``models/match_zh.joblib``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from liuyu.domain.errors import InvalidInput
from liuyu.nlp.embeddings import clean_text, shared_embedder
from liuyu.nlp.intent import ModelFileError
from liuyu.services.ports_knowledge import MatchResult

__all__ = [
    "BUILTIN_MATCH_MODEL",
    "MATCH_FORMAT_VERSION",
    "MatchModel",
    "MatchResult",
    "load_match_model",
    "pair_features",
    "read_pairs_csv",
    "train_match_model",
]

MATCH_FORMAT_VERSION = 2
# Matching compares questions; past this many characters a text is cut (a question is rarely longer).
MAX_QUESTION_CHARS = 200
BUILTIN_MATCH_MODEL = Path(__file__).parent / "models" / "match_zh.joblib"
REBUILD_MATCH = "liuyu nlp train-match --out {path}"

_NUMBER = re.compile(r"\d+(?:\.\d+)?|[一二两三四五六七八九十百千万]+")
_NEGATION = re.compile(r"不|没|别|非|无|未|否")
# Question words grouped by what they ask; a pair asking different kinds of thing rarely matches.
_QUESTION_KINDS = {
    "how": ("怎么", "怎样", "如何", "咋"),
    "why": ("为什么", "为啥", "为何", "怎么会"),
    "what": ("什么", "啥", "哪个", "哪些"),
    "where": ("哪里", "哪儿", "在哪"),
    "when": ("什么时候", "几时", "多久", "何时"),
    "amount": ("多少", "几个", "几天", "多大", "多长", "多高"),
    "whether": ("吗", "能不能", "可不可以", "是不是", "有没有", "会不会"),
    "who": ("谁",),
}


class Embedder(Protocol):
    def query(self, texts: Sequence[str]) -> np.ndarray: ...


def _words(text: str) -> list[str]:
    import jieba

    return [tok for tok in jieba.lcut(text.lower()) if tok.strip()]


def _question_kinds(text: str) -> set[str]:
    return {kind for kind, words in _QUESTION_KINDS.items() if any(w in text for w in words)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _scalar_features(a: str, b: str) -> list[float]:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel, Levenshtein

    chars_a, chars_b = set(a), set(b)
    words_a, words_b = set(_words(a)), set(_words(b))
    bigrams_a = {a[i : i + 2] for i in range(len(a) - 1)}
    bigrams_b = {b[i : i + 2] for i in range(len(b) - 1)}
    nums_a, nums_b = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    neg_a, neg_b = len(_NEGATION.findall(a)), len(_NEGATION.findall(b))
    kinds_a, kinds_b = _question_kinds(a), _question_kinds(b)
    shorter, longer = sorted((len(a), len(b)))
    return [
        _jaccard(chars_a, chars_b),
        _jaccard(words_a, words_b),
        _jaccard(bigrams_a, bigrams_b),
        len(words_a - words_b) + len(words_b - words_a),
        fuzz.ratio(a, b) / 100,
        fuzz.partial_ratio(a, b) / 100,
        fuzz.token_sort_ratio(" ".join(_words(a)), " ".join(_words(b))) / 100,
        Levenshtein.normalized_similarity(a, b),
        Indel.normalized_similarity(a, b),
        abs(len(a) - len(b)),
        shorter / longer if longer else 1.0,
        float(longer),
        float(bool(nums_a or nums_b) and nums_a != nums_b),
        float((neg_a % 2) != (neg_b % 2)),
        float(abs(neg_a - neg_b)),
        float(bool(kinds_a or kinds_b) and kinds_a != kinds_b),
        _jaccard(kinds_a, kinds_b),
    ]


def _unmatched_weight(words: set[str], other: set[str], idf: dict[str, float]) -> tuple[float, float]:
    """Share of a question's IDF mass in words the other question lacks, and the rarest such word's IDF."""
    weights = {w: idf.get(w, max(idf.values(), default=1.0)) for w in words}
    total = sum(weights.values()) or 1.0
    missing = [weights[w] for w in words - other]
    return sum(missing) / total, max(missing, default=0.0)


def pair_features(
    texts_a: Sequence[str], texts_b: Sequence[str], emb_a: np.ndarray, emb_b: np.ndarray, vocab: Vocabulary
) -> np.ndarray:
    """One row per pair: scalar similarity features, then |a-b| and a*b of the embeddings."""
    from sklearn.preprocessing import normalize

    tf_a = normalize(vocab.chars.transform(texts_a))
    tf_b = normalize(vocab.chars.transform(texts_b))
    char_cos = np.asarray(tf_a.multiply(tf_b).sum(axis=1)).ravel()
    words_a = [_words(t) for t in texts_a]
    words_b = [_words(t) for t in texts_b]
    wa = normalize(vocab.words.transform(words_a))
    wb = normalize(vocab.words.transform(words_b))
    word_cos = np.asarray(wa.multiply(wb).sum(axis=1)).ravel()
    rows = []
    for a, b, ta, tb in zip(texts_a, texts_b, words_a, words_b, strict=True):
        share_a, rarest_a = _unmatched_weight(set(ta), set(tb), vocab.idf)
        share_b, rarest_b = _unmatched_weight(set(tb), set(ta), vocab.idf)
        rows.append([*_scalar_features(a, b), max(share_a, share_b), min(share_a, share_b), max(rarest_a, rarest_b)])
    scalars = np.array(rows, dtype=np.float32)
    cosine = np.einsum("ij,ij->i", emb_a, emb_b)
    return np.hstack(
        [cosine[:, None], char_cos[:, None], word_cos[:, None], scalars, np.abs(emb_a - emb_b), emb_a * emb_b]
    ).astype(np.float32)


class Vocabulary:
    """Character and word TF-IDF fitted on the training questions, and the word IDF table."""

    def __init__(self, texts: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit(texts)
        self.words = TfidfVectorizer(analyzer=_identity, sublinear_tf=True).fit([_words(t) for t in texts])
        self.idf = dict(zip(self.words.get_feature_names_out().tolist(), self.words.idf_.tolist(), strict=True))


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _one_thread() -> Any:
    """Boosted trees use OpenMP; on a shared, busy machine its spinning threads cost more than they
    save (one training run took ten times longer), so fitting and scoring use one thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


class MatchModel:
    """A trained pair classifier with its TF-IDF vocabulary and decision threshold."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.version = MATCH_FORMAT_VERSION
        self._vocabulary: Vocabulary | None = None
        self._booster: Any = None

    def fit(
        self,
        texts_a: Sequence[str],
        texts_b: Sequence[str],
        labels: Sequence[int],
        emb_a: np.ndarray,
        emb_b: np.ndarray,
        *,
        max_iter: int = 400,
    ) -> MatchModel:
        """Learn from labelled pairs whose e5 vectors the caller computed (they are the slow part)."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        if len(set(labels)) < 2:
            raise InvalidInput("need both matching and non-matching pairs", value=sorted(set(labels)))
        a = [clean_text(t, MAX_QUESTION_CHARS) for t in texts_a]
        b = [clean_text(t, MAX_QUESTION_CHARS) for t in texts_b]
        self._vocabulary = Vocabulary(a + b)
        features = pair_features(a, b, emb_a, emb_b, self._vocabulary)
        self._booster = HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=0.05,
            max_leaf_nodes=31,
            l2_regularization=1.0,
            min_samples_leaf=min(20, max(2, len(labels) // 10)),  # small workspace sets still get splits
            random_state=7,
        )
        with _one_thread():
            self._booster.fit(features, np.asarray(labels, dtype=int))
        return self

    def probabilities(
        self,
        texts_a: Sequence[str],
        texts_b: Sequence[str],
        emb_a: np.ndarray | None = None,
        emb_b: np.ndarray | None = None,
        embedder: Embedder | None = None,
    ) -> np.ndarray:
        """P(same question) per pair; embeddings are computed when not given."""
        if not texts_a:
            return np.zeros(0)
        a = [clean_text(t, MAX_QUESTION_CHARS) for t in texts_a]
        b = [clean_text(t, MAX_QUESTION_CHARS) for t in texts_b]
        if emb_a is None or emb_b is None:
            embedder = embedder or shared_embedder()
            emb_a, emb_b = embedder.query(a), embedder.query(b)
        features = pair_features(a, b, emb_a, emb_b, self._vocabulary)
        with _one_thread():
            return self._booster.predict_proba(features)[:, 1]

    def match(self, text_a: str, text_b: str) -> MatchResult:
        """Do these two questions ask the same thing?"""
        probability = float(self.probabilities([text_a], [text_b])[0])
        return MatchResult(same=probability >= self.threshold, probability=round(probability, 4))

    def save(self, path: Path | str) -> Path:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"kind": "liuyu-match", "version": MATCH_FORMAT_VERSION, "model": self}, path, compress=3)
        return path


def train_match_model(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    labels: Sequence[int],
    *,
    embedder: Embedder | None = None,
    max_iter: int = 400,
) -> MatchModel:
    """Embed both sides and fit a MatchModel."""
    embedder = embedder or shared_embedder()
    a = [clean_text(t, MAX_QUESTION_CHARS) for t in texts_a]
    b = [clean_text(t, MAX_QUESTION_CHARS) for t in texts_b]
    return MatchModel().fit(a, b, labels, embedder.query(a), embedder.query(b), max_iter=max_iter)


def load_match_model(path: Path | str | None = None) -> MatchModel:
    """Load a model written by ``MatchModel.save``; problems become a ModelFileError with the rebuild command."""
    path = Path(path) if path else BUILTIN_MATCH_MODEL
    rebuild = REBUILD_MATCH.format(path=path)
    if not path.is_file():
        raise ModelFileError(path, "not found", rebuild)
    try:
        import joblib

        payload = joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways; all mean "rebuild"
        raise ModelFileError(path, f"cannot be read ({type(exc).__name__}: {exc})", rebuild) from exc
    if not isinstance(payload, dict) or payload.get("kind") != "liuyu-match":
        raise ModelFileError(path, "is not a liuyu match model", rebuild)
    if payload.get("version") != MATCH_FORMAT_VERSION:
        raise ModelFileError(
            path, f"has format version {payload.get('version')}, expected {MATCH_FORMAT_VERSION}", rebuild
        )
    return payload["model"]


# Label spellings seen in public pair sets (AFQMC's original files say 匹配 / 不匹配).
_PAIR_LABELS = {"1": 1, "1.0": 1, "true": 1, "匹配": 1, "0": 0, "0.0": 0, "false": 0, "不匹配": 0}


def read_pairs_csv(path: Path | str) -> tuple[list[str], list[str], list[int]]:
    """Columns ``text_a,text_b,label`` (label 1/0, also 1.0/0.0, true/false, 匹配/不匹配); rows with a
    missing side or another label are skipped."""
    import csv

    path = Path(path)
    texts_a: list[str] = []
    texts_b: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text_a", "text_b", "label"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(f"missing columns {sorted(missing)}", where=str(path), value=reader.fieldnames)
        for row in reader:
            label = _PAIR_LABELS.get((row.get("label") or "").strip().lower())
            if label is None or not (row.get("text_a") or "").strip() or not (row.get("text_b") or "").strip():
                continue
            texts_a.append(row["text_a"])
            texts_b.append(row["text_b"])
            labels.append(label)
    return texts_a, texts_b, labels
