"""Speed of the lexical text pipeline, in texts per second per core.

Runs, over the same review texts: plain ``jieba.lcut`` (the baseline), then the lexical
pipeline (clean + tokenize + sentiment + signals + entities, + intent when installed), then the
whole ``analyze()`` (adds suggestions and aspects). Single process, one thread (set before
numpy loads). Prints each figure and its ratio to the baseline measured in the same run.

    .venv/bin/python bench/nlp_lexical.py [--texts 3000]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections.abc import Callable
from pathlib import Path

# One thread per process, set before numpy is imported (main() imports it lazily).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

DATASETS = Path(os.environ.get("LIUYU_DATASETS") or Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets")

FALLBACK = [
    "质量很好,物流很快,非常满意,会回购的",
    "订单号123456789012345678三天了还没发货,到底什么时候发?",
    "你们这帮骗子,再不退款我就打12315投诉",
    "希望能出个大码的黑色款,预算两三百块",
    "顺丰SF1234567890123一直不动,电话13812345678",
]


def load_texts(count: int) -> list[str]:
    """Reviews from the shared corpora (customer texts of realistic length), else a fixed sample."""
    texts: list[str] = []
    for relative in ("online_shopping_10_cats/online_shopping_10_cats.csv", "waimai_10k/waimai_10k.csv"):
        path = DATASETS / relative
        if not path.is_file():
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [row["review"] for row in csv.DictReader(handle) if row.get("review")]
        step = max(1, len(rows) // (count // 2))
        texts.extend(rows[::step][: count // 2])
    if not texts:
        print(f"datasets not found at {DATASETS}; using {len(FALLBACK)} fixed texts")
        texts = FALLBACK
    return (texts * (count // len(texts) + 1))[:count]


def rate(run: Callable[[list[str]], object], texts: list[str], batch: int = 500) -> float:
    """Texts per second of CPU time (process time), so other load on the machine does not count."""
    run(texts[:50])  # warm up: loads models and dictionaries
    started = time.process_time()
    for start in range(0, len(texts), batch):
        run(texts[start : start + batch])
    return len(texts) / max(time.process_time() - started, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    count = parser.parse_args().texts

    import jieba

    from liuyu.nlp.analyze import AnalyzeOptions, analyze, intent_classifier
    from liuyu.nlp.entities import EntityExtractor
    from liuyu.nlp.sentiment import load_builtin_sentiment_model
    from liuyu.nlp.signals import detect_signals
    from liuyu.nlp.text import clean
    from liuyu.nlp.tokenize import JiebaTokenizer

    texts = load_texts(count)
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"{len(texts)} texts, {mean_chars:.0f} characters on average")

    plain = jieba.Tokenizer()
    plain.initialize()
    tokenizer = JiebaTokenizer()
    model = load_builtin_sentiment_model()
    extractor = EntityExtractor()
    has_intent = intent_classifier(fast=True) is not None

    def baseline(batch: list[str]) -> object:
        return [plain.lcut(text) for text in batch]

    def lexical(batch: list[str]) -> object:
        cleaned = [clean(text).text for text in batch]
        tokens = [tokenizer.cut(text) for text in cleaned]
        model.scores([t.lower() for t in cleaned], [[w.lower() for w in ws] for ws in tokens])
        for text in cleaned:
            detect_signals(text)
            extractor.extract(text)
        if has_intent:
            intent_classifier(fast=True).predict(cleaned)
        return tokens

    def full(batch: list[str]) -> object:
        return analyze(batch, options=AnalyzeOptions(workspace="bench", fast_intent=True))

    base = rate(baseline, texts)
    print(f"baseline jieba.lcut:        {base:8,.0f} texts/s/core")
    name = "lexical pipeline" + (" + intent" if has_intent else " (intent not installed)")
    for label, run in ((name, lexical), ("analyze() (all parts)", full)):
        figure = rate(run, texts)
        print(f"{label + ':':27} {figure:8,.0f} texts/s/core   ratio to baseline {figure / base:.2f}")


if __name__ == "__main__":
    main()
