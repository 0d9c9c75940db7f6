"""Tags from events and from what customers write, kept current as events arrive.

The rules are the workspace's ``tag_rules`` setting (see ``domain.engagement.tag_rules``). A
projection (``storage.tag_projection.EventTags``) calls ``tags_for_events`` on every ingested batch
and on a rebuild, so the same log always gives the same tags. The text understanding runs only for
rules that ask about intent, sentiment or aspects, and only on events that carry text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from liuyu.domain.engagement.tag_rules import TagRule, TextReading, match, parse_tag_rules, rules_document
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import Event

SETTING = "tag_rules"
TEXT_KEYS = ("text", "content", "review", "comment", "body", "message", "title")

Cleaner = Callable[[str], str]
Reader = Callable[[list[str]], list[TextReading]]


def event_text(event: Event) -> str | None:
    """The text a customer wrote in this event, from the first text-like property."""
    for key in TEXT_KEYS:
        value = event.properties.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def rules_of(settings: Mapping[str, Any] | None) -> list[TagRule]:
    return parse_tag_rules((settings or {}).get(SETTING) or [])


def offline_cleaner(text: str) -> str:
    """Simplified characters, half-width digits, lower case: how rule words are compared."""
    from liuyu.nlp.text import clean_for_model

    return clean_for_model(text)


def offline_reader(texts: list[str]) -> list[TextReading]:
    """The offline models' reading of each text: intent (fast model), sentiment and aspects."""
    from liuyu.nlp.analyze import AnalyzeOptions, analyze

    insights = analyze(texts, options=AnalyzeOptions(fast_intent=True))
    return [
        TextReading(
            intent=insight.intent.label if insight.intent else None,
            sentiment=insight.sentiment.label,
            aspects={a.aspect: a.sentiment for a in insight.aspects},
        )
        for insight in insights
    ]


def tags_for_events(
    rules: Sequence[TagRule],
    rows: Sequence[tuple[int, Event, int | None]],
    *,
    clean: Cleaner = offline_cleaner,
    read: Reader = offline_reader,
) -> list[dict[str, Any]]:
    """Tag rows (customer_id, tag, source, reason, at) the rules give for a batch of events.

    A customer gets each tag once per batch, from the earliest event that earned it; ``at`` is that
    event's time, so replaying the log gives the same rows.
    """
    if not rules:
        return []
    wanted = {e for rule in rules for e in rule.events}
    candidates = [(event, cid) for _, event, cid in rows if cid is not None and event.type in wanted]
    texts: dict[int, str] = {}
    for i, (event, _) in enumerate(candidates):
        raw = event_text(event)
        if raw is not None:
            texts[i] = clean(raw)
    readings: dict[int, TextReading] = {}
    if any(rule.reads_text for rule in rules) and texts:
        order = sorted(texts)
        readings = dict(zip(order, read([texts[i] for i in order]), strict=True))
    earned: dict[tuple[int, str], dict[str, Any]] = {}
    for i, (event, cid) in enumerate(candidates):
        for rule in rules:
            reason = match(rule, event.type, texts.get(i), readings.get(i))
            if reason is None:
                continue
            row = {"customer_id": cid, "tag": rule.tag, "source": rule.source, "reason": reason[:500]}
            key = (cid, rule.tag)
            if key not in earned or event.occurred_at < earned[key]["at"]:
                earned[key] = {**row, "at": event.occurred_at.astimezone(UTC)}
    return list(earned.values())


def read_rules(text: str) -> list[TagRule]:
    """Rules from a YAML (or JSON) document, checked."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not YAML: {str(exc).splitlines()[0]}", field=SETTING) from exc
    return parse_tag_rules(data if data is not None else [])


def set_rules(
    uow: Any, workspace_id: int, rules: Sequence[TagRule], *, actor: str, now: datetime | None = None
) -> None:
    """Store the workspace's tag rules. They apply to events from now on; `liuyu rebuild` applies
    them to the whole history."""
    document = rules_document(rules)
    uow.accounts.set_setting(workspace_id, SETTING, document)
    uow.accounts.audit(
        workspace_id, actor, "tag_rules.set", f"workspace:{workspace_id}", {"rules": document}, now or datetime.now(UTC)
    )


def get_rules(uow: Any, workspace_id: int) -> list[dict[str, Any]]:
    workspace = uow.accounts.workspace(workspace_id) or {}
    return rules_document(rules_of(workspace.get("settings")))
