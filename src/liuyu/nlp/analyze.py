"""``analyze(texts)``: everything liuyu reads in a batch of customer texts, in one call.

Each text is cleaned once (``liuyu.nlp.text``: HTML, controls, full-width, traditional →
simplified, first 2,000 characters), tokenized once, and the batch goes through the sentiment
model in one matrix product. Intent comes from ``liuyu.nlp.intent`` when that module and its
model are installed; otherwise it is None.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from liuyu.domain.text import Intent, Sentiment, TextInsight
from liuyu.nlp.aspects import find_suggestion, tag_aspects
from liuyu.nlp.entities import CatalogItem, EntityExtractor
from liuyu.nlp.sentiment import label_for, load_builtin_sentiment_model
from liuyu.nlp.signals import detect_signals
from liuyu.nlp.text import CleanText, clean
from liuyu.nlp.tokenize import tokenizer_for

__all__ = ["AnalyzeOptions", "CatalogItem", "analyze"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalyzeOptions:
    """What to run and with which workspace vocabulary."""

    workspace: str = "default"
    brand_terms: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    include_tokens: bool = False
    intent: bool = True
    fast_intent: bool = False  # the words-and-characters intent model: for bulk reading, less accurate
    # The sentiment model's e5 head: reads mixed reviews better, about ten texts/s/core. Off by
    # default so bulk reading stays lexical; `liuyu nlp analyze` turns it on.
    accurate_sentiment: bool = False
    entities: bool = True
    aspects: bool = True


CatalogEntry = CatalogItem | str | Mapping[str, Any]


def as_catalog(entries: Sequence[CatalogEntry] | None) -> list[CatalogItem]:
    """Accept catalog items, bare product names, or mappings with ``sku``/``name``/``aliases``."""
    items: list[CatalogItem] = []
    for entry in entries or ():
        if isinstance(entry, CatalogItem):
            items.append(entry)
        elif isinstance(entry, str):
            items.append(CatalogItem(entry, entry))
        else:
            name = str(entry.get("name") or entry.get("title") or "")
            sku = str(entry.get("sku") or entry.get("id") or name)
            items.append(CatalogItem(sku, name, tuple(str(a) for a in entry.get("aliases") or ())))
    return [item for item in items if item.name]


@lru_cache(maxsize=2)
def intent_classifier(fast: bool = False) -> Any | None:
    """The built-in intent classifier, or None when its module or model is not installed."""
    try:
        intent_module = importlib.import_module("liuyu.nlp.intent")

        # The intent module's own model-file error may not derive from FileNotFoundError.
        missing = (FileNotFoundError, getattr(intent_module, "ModelFileError", FileNotFoundError))
        try:
            return intent_module.load_builtin_intent_classifier(fast=fast)
        except missing as exc:
            raise FileNotFoundError(str(exc)) from exc
    except (ImportError, AttributeError, FileNotFoundError) as exc:
        log.info("intent classification unavailable: %s", exc)
        return None


def _as_intent(prediction: Any) -> Intent:
    """The contract is a ``(label, probability)`` pair; an object with ``label`` and a score works too."""
    if isinstance(prediction, tuple):
        label, score = prediction
        return Intent(str(label), float(score))
    score = next(
        (getattr(prediction, name) for name in ("probability", "score", "confidence") if hasattr(prediction, name)), 0.0
    )
    return Intent(str(prediction.label), float(score))


def _intents(texts: list[str], fast: bool = False) -> list[Intent | None]:
    classifier = intent_classifier(fast)
    if classifier is None:
        return [None] * len(texts)
    return [_as_intent(prediction) for prediction in classifier.predict(texts)]


def analyze(
    texts: list[str], *, catalog: Sequence[CatalogEntry] | None = None, options: AnalyzeOptions | None = None
) -> list[TextInsight]:
    """Read a batch of texts; the result has one ``TextInsight`` per text, in order."""
    options = options or AnalyzeOptions()
    items = as_catalog(catalog)
    cleaned: list[CleanText] = [clean(text if isinstance(text, str) else str(text or "")) for text in texts]
    if not cleaned:
        return []
    tokenizer = tokenizer_for(options.workspace, [*options.brand_terms, *(item.name for item in items)])
    tokens = [tokenizer.cut(c.text) if c.text else [] for c in cleaned]

    model = load_builtin_sentiment_model()
    lowered = [c.text.lower() for c in cleaned]
    lowered_tokens = [[t.lower() for t in ts] for ts in tokens]
    if options.accurate_sentiment:
        scores = model.accurate_scores(lowered, lowered_tokens)
    else:
        scores = model.scores(lowered, lowered_tokens)
    sentiments = [Sentiment(label_for(float(p)), float(p)) for p in scores]

    plain = [c.text for c in cleaned]
    intents = _intents(plain, options.fast_intent) if options.intent else [None] * len(plain)
    extractor = EntityExtractor(items, options.competitors)
    entities = [extractor.extract(text) for text in plain] if options.entities else [[] for _ in plain]
    aspects = tag_aspects(plain, model.predict, sentiments) if options.aspects else [[] for _ in plain]

    insights = []
    for i, c in enumerate(cleaned):
        suggestion = find_suggestion(c.text) if c.text else None
        insights.append(
            TextInsight(
                text=c.text,
                language=c.language,
                script=c.script,
                truncated=c.truncated,
                sentiment=sentiments[i],
                signals=detect_signals(c.text),
                intent=intents[i],
                tokens=tuple(tokens[i]) if options.include_tokens else None,
                entities=tuple(entities[i]),
                suggestion=suggestion is not None,
                suggestion_text=suggestion,
                aspects=tuple(aspects[i]),
            )
        )
    return insights
