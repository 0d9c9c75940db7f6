"""Tag rules: tags that events and what customers write give them, e.g. 王者荣耀玩家 from community posts.

A workspace keeps its rules as data (YAML or JSON, under the ``tag_rules`` setting). An *event* rule
tags whoever sends one of its events (``followed`` → 公众号粉丝); a *text* rule reads the words of an
event's text and, when the offline text understanding is asked for, its intent, sentiment and
aspects (``aspect: packaging, sentiment: negative`` → 包装差评). Each tag carries its evidence as the
reason, so an operator can see why a customer has it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import EVENT_TYPES

TEXT_EVENTS = ("community_post", "review_posted", "custom")  # events that usually carry what a customer wrote
SENTIMENTS = ("positive", "neutral", "negative")
MAX_RULES = 200
EVIDENCE_CHARS = 60


@dataclass(frozen=True, slots=True)
class TextReading:
    """What the text understanding made of one text (only what rules may ask about)."""

    intent: str | None = None
    sentiment: str | None = None
    aspects: Mapping[str, str] | None = None  # aspect → its sentiment


@dataclass(frozen=True, slots=True)
class TagRule:
    tag: str
    source: str  # "event" | "text"
    events: tuple[str, ...]
    words: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    sentiment: str | None = None
    aspect: str | None = None

    @property
    def reads_text(self) -> bool:
        """Whether the rule needs the text understanding (not just the words)."""
        return bool(self.intents or self.sentiment or self.aspect)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise InvalidInput("must be a text or a list of texts", field=where, value=value)
    return tuple(v.strip() for v in items)


def parse_tag_rules(data: Any) -> list[TagRule]:
    """Rules from their YAML/JSON form; a bad rule is refused with the path of the bad field."""
    if not isinstance(data, list):
        raise InvalidInput("tag rules are a list", field="tag_rules", value=type(data).__name__)
    if len(data) > MAX_RULES:
        raise InvalidInput(f"at most {MAX_RULES} rules", field="tag_rules", value=len(data))
    rules = []
    for i, item in enumerate(data):
        at = f"tag_rules[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidInput("a rule is a mapping with at least `tag`", field=at)
        unknown = set(item) - {"tag", "from", "events", "words", "intents", "sentiment", "aspect"}
        if unknown:
            raise InvalidInput(f"unknown key(s): {', '.join(sorted(unknown))}", field=at)
        tag = item.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
            raise InvalidInput("a tag of 1-100 characters", field=f"{at}.tag", value=tag)
        source = item.get("from", "text")
        if source not in ("event", "text"):
            raise InvalidInput("`event` or `text`", field=f"{at}.from", value=source)
        events = _strings(item.get("events"), f"{at}.events") or (() if source == "event" else TEXT_EVENTS)
        for e in events:
            if e not in EVENT_TYPES:
                raise InvalidInput(f"unknown event type {e!r}", field=f"{at}.events", value=e)
        rule = TagRule(
            tag=tag.strip(),
            source=source,
            events=events,
            words=_strings(item.get("words"), f"{at}.words"),
            intents=_strings(item.get("intents"), f"{at}.intents"),
            sentiment=item.get("sentiment"),
            aspect=item.get("aspect"),
        )
        if rule.sentiment is not None and rule.sentiment not in SENTIMENTS:
            raise InvalidInput(f"one of {', '.join(SENTIMENTS)}", field=f"{at}.sentiment", value=rule.sentiment)
        if rule.aspect is not None and not isinstance(rule.aspect, str):
            raise InvalidInput("an aspect name, e.g. packaging", field=f"{at}.aspect", value=rule.aspect)
        if source == "event" and not events:
            raise InvalidInput("an event rule names its events", field=f"{at}.events")
        if source == "event" and (rule.words or rule.reads_text):
            raise InvalidInput("words, intents, sentiment and aspect belong to `from: text` rules", field=at)
        if source == "text" and not (rule.words or rule.reads_text):
            raise InvalidInput("a text rule needs words, intents, sentiment or an aspect", field=at)
        rules.append(rule)
    return rules


def _snippet(text: str, word: str) -> str:
    at = text.find(word)
    start = max(0, at - EVIDENCE_CHARS // 3)
    return text[start : start + EVIDENCE_CHARS].replace("\n", " ")


def match(rule: TagRule, event_type: str, text: str | None, reading: TextReading | None) -> str | None:
    """The evidence (the reason kept with the tag) when the rule applies to this event, else None.

    ``text`` is the event's text already normalised (simplified characters, lower case);
    ``reading`` is needed only for rules that ``reads_text``.
    """
    if event_type not in rule.events:
        return None
    if rule.source == "event":
        return f"event {event_type}"
    if not text:
        return None
    evidence = []
    if rule.words:
        hit = next((w for w in rule.words if w.lower() in text), None)
        if hit is None:
            return None
        evidence.append(f"“{_snippet(text, hit.lower())}”")
    if rule.reads_text:
        if reading is None:
            return None
        if rule.intents:
            if reading.intent not in rule.intents:
                return None
            evidence.append(f"intent {reading.intent}")
        if rule.aspect:
            polarity = (reading.aspects or {}).get(rule.aspect)
            if polarity is None or (rule.sentiment and polarity != rule.sentiment):
                return None
            evidence.append(f"{rule.aspect} {polarity}")
        elif rule.sentiment:
            if reading.sentiment != rule.sentiment:
                return None
            evidence.append(f"sentiment {reading.sentiment}")
    return f"{event_type}: " + ", ".join(evidence)


def rules_document(rules: Sequence[TagRule]) -> list[dict[str, Any]]:
    """Rules back in their stored form (what ``parse_tag_rules`` reads)."""
    out = []
    for r in rules:
        doc: dict[str, Any] = {"tag": r.tag, "from": r.source, "events": list(r.events)}
        for key in ("words", "intents"):
            if getattr(r, key):
                doc[key] = list(getattr(r, key))
        for key in ("sentiment", "aspect"):
            if getattr(r, key):
                doc[key] = getattr(r, key)
        out.append(doc)
    return out
