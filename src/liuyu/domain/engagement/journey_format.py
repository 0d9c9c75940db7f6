"""Reading and writing journeys: a plain mapping (YAML or JSON loaded by the caller) to a
:class:`~liuyu.domain.engagement.journey.Journey` and back. Every problem names the path of the
bad field (``$.steps[2].wait.days``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from liuyu.domain.engagement.journey import (
    CHANNELS,
    DATE_TRAITS,
    END,
    MAX_CONTROL_PERCENT,
    MAX_STEPS,
    PURPOSES,
    STEP_KINDS,
    TRIGGER_KINDS,
    WEEKDAYS,
    EventFilter,
    Goal,
    Journey,
    Step,
    Trigger,
)
from liuyu.domain.engagement.segment import Node, SegmentSyntaxError, parse, to_text
from liuyu.domain.errors import InvalidInput


def _fail(reason: str, where: str, value: object = None) -> InvalidInput:
    return InvalidInput(reason, where=where, value=value)


# -- reading a mapping ----------------------------------------------------------------------


def read_journey(data: Any, where: str = "$") -> Journey:
    """Validate a journey document; raises InvalidInput naming the path of the first problem."""
    doc = _mapping(data, where)
    _only(doc, ("name", "description", "trigger", "audience", "steps", "goal", "reentry", "control", "timezone"), where)
    name = _text(doc.get("name"), f"{where}.name", limit=200)
    timezone = _timezone(doc.get("timezone", "Asia/Shanghai"), f"{where}.timezone")
    steps_raw = doc.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise _fail("a journey needs a list of at least one step", f"{where}.steps", steps_raw)
    if len(steps_raw) > MAX_STEPS:
        raise _fail(f"at most {MAX_STEPS} steps", f"{where}.steps", len(steps_raw))
    steps = tuple(_step(s, f"{where}.steps[{i}]") for i, s in enumerate(steps_raw))
    _check_graph(steps, f"{where}.steps")
    reentry, after = _reentry(doc.get("reentry", "never"), f"{where}.reentry")
    control = doc.get("control", 0)
    if isinstance(control, Mapping):
        _only(control, ("percent",), f"{where}.control")
        control = control.get("percent", 0)
    if isinstance(control, bool) or not isinstance(control, int | float) or not 0 <= control <= MAX_CONTROL_PERCENT:
        raise _fail(f"the control group is a percentage from 0 to {MAX_CONTROL_PERCENT}", f"{where}.control", control)
    description = doc.get("description", "")
    if not isinstance(description, str) or len(description) > 2000:
        raise _fail("a description is text of at most 2000 characters", f"{where}.description", description)
    return Journey(
        name=name,
        trigger=_trigger(doc.get("trigger"), f"{where}.trigger"),
        steps=steps,
        goal=None if doc.get("goal") is None else _goal(doc["goal"], f"{where}.goal"),
        audience=None if doc.get("audience") is None else _condition(doc["audience"], f"{where}.audience"),
        reentry=reentry,
        reentry_after=after,
        control_percent=float(control),
        timezone=timezone,
        description=description,
    )


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail("expected an object (key: value pairs)", where, type(data).__name__)
    return data


def _only(doc: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in doc:
        if key not in allowed:
            raise _fail(f"unknown key {key!r}; allowed: {', '.join(allowed)}", f"{where}.{key}")


def _text(value: Any, where: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail(f"expected text of 1 to {limit} characters", where, value)
    return value.strip()


def _key(value: Any, where: str) -> str:
    text = _text(value, where, limit=64)
    if not all(ch.isalnum() or ch in "_-" for ch in text):
        raise _fail("a step key is letters, digits, '_' and '-'", where, value)
    return text


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(f"expected a whole number from {low} to {high}", where, value)
    return value


def _clock(value: Any, where: str) -> time:
    text = str(value) if isinstance(value, str | int) else ""
    try:
        hour, minute = (int(part) for part in text.split(":"))
        return time(hour, minute)
    except ValueError:
        raise _fail('expected a local time such as "10:00"', where, value) from None


def _timezone(value: Any, where: str) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("unknown time zone (use a name such as Asia/Shanghai)", where, value) from None
    return str(value)


def _duration(doc: Mapping[str, Any], where: str) -> timedelta | None:
    parts = {unit: doc[unit] for unit in ("days", "hours", "minutes") if unit in doc}
    if not parts:
        return None
    for unit, amount in parts.items():
        _whole(amount, f"{where}.{unit}", 0, 3650 if unit == "days" else 100_000)
    return timedelta(**parts)


def _condition(value: Any, where: str) -> Node:
    if not isinstance(value, str):
        raise _fail("a condition is one line of the segment language", where, value)
    try:
        return parse(value)
    except SegmentSyntaxError as exc:
        raise _fail(f"{exc.reason} at character {exc.position + 1}", where, value) from None


def _event_filter(doc: Mapping[str, Any], where: str, *, allowed: Sequence[str]) -> EventFilter:
    _only(doc, allowed, where)
    event = _text(doc.get("event"), f"{where}.event", limit=200)
    tests = doc.get("where") or {}
    tests = _mapping(tests, f"{where}.where")
    for name, value in tests.items():
        if not isinstance(value, str | int | float | bool):
            raise _fail("a filter value is text, a number or true/false", f"{where}.where.{name}", value)
    return EventFilter(event, dict(tests))


def _trigger(data: Any, where: str) -> Trigger:
    doc = _mapping(data, where)
    kinds = [k for k in TRIGGER_KINDS if k in doc]
    if len(kinds) != 1:
        raise _fail(f"a trigger is exactly one of {', '.join(TRIGGER_KINDS)}", where, sorted(doc))
    kind = kinds[0]
    if kind == "event":
        event = _event_filter(doc, where, allowed=("event", "where", "max_age_hours"))
        hours = _whole(doc.get("max_age_hours", 24), f"{where}.max_age_hours", 1, 24 * 365)
        return Trigger("event", event=event, max_age=timedelta(hours=hours))
    if kind == "segment":
        _only(doc, ("segment",), where)
        return Trigger("segment", segment=_text(doc["segment"], f"{where}.segment"))
    if kind == "date":
        _only(doc, ("date", "offset_days", "at"), where)
        if doc["date"] not in DATE_TRAITS:
            raise _fail(f"a date trigger uses one of {', '.join(DATE_TRAITS)}", f"{where}.date", doc["date"])
        return Trigger(
            "date",
            date=doc["date"],
            offset_days=_whole(doc.get("offset_days", 0), f"{where}.offset_days", -366, 3650),
            at=_clock(doc.get("at", "10:00"), f"{where}.at"),
        )
    schedule = _mapping(doc["schedule"], f"{where}.schedule")
    spot = f"{where}.schedule"
    _only(schedule, ("every", "at", "weekday", "day"), spot)
    every = schedule.get("every")
    if every not in ("day", "week", "month"):
        raise _fail("'every' is day, week or month", f"{spot}.every", every)
    weekday = day = None
    if every == "week":
        if schedule.get("weekday") not in WEEKDAYS:
            raise _fail(f"a weekly schedule names a weekday: {', '.join(WEEKDAYS)}", f"{spot}.weekday")
        weekday = WEEKDAYS.index(schedule["weekday"])
    if every == "month":
        day = _whole(schedule.get("day"), f"{spot}.day", 1, 28)
    return Trigger(
        "schedule", every=every, weekday=weekday, day=day, at=_clock(schedule.get("at", "10:00"), f"{spot}.at")
    )


def _goal(data: Any, where: str) -> Goal:
    doc = _mapping(data, where)
    event = _event_filter(doc, where, allowed=("event", "where", "within_days"))
    days = _whole(doc.get("within_days"), f"{where}.within_days", 1, 365)
    return Goal(event, timedelta(days=days))


def _reentry(value: Any, where: str) -> tuple[str, timedelta | None]:
    if value in ("never", "always"):
        return str(value), None
    if isinstance(value, Mapping) and set(value) == {"after_days"}:
        return "after", timedelta(days=_whole(value["after_days"], f"{where}.after_days", 1, 3650))
    raise _fail("re-entry is never, always, or {after_days: N}", where, value)


def _step(data: Any, where: str) -> Step:
    doc = _mapping(data, where)
    key = _key(doc.get("key"), f"{where}.key")
    kinds = [k for k in STEP_KINDS if k in doc]
    if len(kinds) != 1:
        raise _fail(f"a step does exactly one of {', '.join(STEP_KINDS)}", where, sorted(doc))
    kind = kinds[0]
    nxt = None if doc.get("next") is None else _key(doc["next"], f"{where}.next")
    if kind == "branch":
        _only(doc, ("key", "branch"), where)
        spot = f"{where}.branch"
        branch = _mapping(doc["branch"], spot)
        _only(branch, ("if", "then", "else"), spot)
        return Step(
            key,
            "branch",
            condition=_condition(branch.get("if"), f"{spot}.if"),
            then=None if branch.get("then") is None else _key(branch["then"], f"{spot}.then"),
            otherwise=None if branch.get("else") is None else _key(branch["else"], f"{spot}.else"),
        )
    _only(doc, ("key", kind, "next"), where)
    body = _mapping(doc[kind], f"{where}.{kind}")
    spot = f"{where}.{kind}"
    if kind == "wait":
        _only(body, ("days", "hours", "minutes", "until"), spot)
        duration = _duration(body, spot)
        until = None if body.get("until") is None else _clock(body["until"], f"{spot}.until")
        if duration is None and until is None:
            raise _fail("a wait needs days, hours, minutes or until", spot)
        return Step(key, "wait", next=nxt, wait=duration, until=until)
    return Step(key, kind, next=nxt, params=_action(kind, body, spot))


def _action(kind: str, body: Mapping[str, Any], where: str) -> dict[str, Any]:
    if kind in ("send", "webhook"):
        allowed = (
            ("channel", "template", "variables", "purpose") if kind == "send" else ("template", "variables", "purpose")
        )
        _only(body, allowed, where)
        channel = body.get("channel") if kind == "send" else "webhook"
        if channel not in CHANNELS:
            raise _fail(f"a channel is one of {', '.join(CHANNELS)}", f"{where}.channel", channel)
        purpose = body.get("purpose", "marketing" if kind == "send" else "service")
        if purpose not in PURPOSES:
            raise _fail(f"a purpose is one of {', '.join(PURPOSES)}", f"{where}.purpose", purpose)
        variables = dict(_mapping(body.get("variables") or {}, f"{where}.variables"))
        return {
            "channel": channel,
            "template": _text(body.get("template"), f"{where}.template", limit=100),
            "variables": variables,
            "purpose": purpose,
        }
    if kind == "coupon":
        _only(body, ("template",), where)
        return {"template": _text(body.get("template"), f"{where}.template", limit=64)}
    if kind == "points":
        _only(body, ("amount", "reason"), where)
        amount = _whole(body.get("amount"), f"{where}.amount", -1_000_000, 1_000_000)
        if amount == 0:
            raise _fail("award at least one point", f"{where}.amount", amount)
        return {"amount": amount, "reason": _text(body.get("reason", "journey"), f"{where}.reason", limit=200)}
    if kind == "tag":
        _only(body, ("tag", "reason"), where)
        return {
            "tag": _text(body.get("tag"), f"{where}.tag", limit=100),
            "reason": _text(body.get("reason", "journey"), f"{where}.reason", limit=200),
        }
    _only(body, ("subject", "body", "priority"), where)
    priority = body.get("priority", "normal")
    if priority not in ("low", "normal", "high", "urgent"):
        raise _fail("priority is low, normal, high or urgent", f"{where}.priority", priority)
    return {
        "subject": _text(body.get("subject"), f"{where}.subject", limit=200),
        "body": str(body.get("body") or ""),
        "priority": priority,
    }


def _check_graph(steps: Sequence[Step], where: str) -> None:
    """Keys unique, every jump lands on a step, and no loop can run without a wait in it."""
    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.key == END:
            raise _fail(f"'{END}' is reserved for finishing the journey", f"{where}[{i}].key", step.key)
        if step.key in index:
            raise _fail(f"step key {step.key!r} is used twice", f"{where}[{i}].key", step.key)
        index[step.key] = i
    for i, step in enumerate(steps):
        for name, target in (("next", step.next), ("branch.then", step.then), ("branch.else", step.otherwise)):
            if target is not None and target != END and target not in index:
                raise _fail(f"no step with key {target!r}", f"{where}[{i}].{name}", target)
    successors: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        default = steps[i + 1].key if i + 1 < len(steps) else END
        branching = step.kind == "branch"
        targets = [step.then or default, step.otherwise or default] if branching else [step.next or default]
        successors[step.key] = [t for t in targets if t != END]
    # A cycle through steps that are not waits would run forever in one pass of the worker.
    instant = {s.key for s in steps if s.kind != "wait"}
    state: dict[str, int] = {}

    def visit(key: str) -> None:
        state[key] = 1
        for nxt in successors[key]:
            if nxt not in instant:
                continue
            if state.get(nxt) == 1:
                raise _fail(f"steps loop back to {nxt!r} without a wait in between", f"{where}[{index[nxt]}]", nxt)
            if nxt not in state:
                visit(nxt)
        state[key] = 2

    for key in instant:
        if key not in state:
            visit(key)


# -- writing a mapping ----------------------------------------------------------------------


def _clock_text(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _filter_doc(event: EventFilter) -> dict[str, Any]:
    doc: dict[str, Any] = {"event": event.event}
    if event.where:
        doc["where"] = dict(event.where)
    return doc


def journey_document(journey: Journey) -> dict[str, Any]:
    """The canonical mapping of a journey; ``read_journey(journey_document(j)) == j``."""
    trig = journey.trigger
    trigger: dict[str, Any]
    if trig.kind == "event":
        assert trig.event is not None
        trigger = {**_filter_doc(trig.event), "max_age_hours": int(trig.max_age / timedelta(hours=1))}
    elif trig.kind == "segment":
        trigger = {"segment": trig.segment}
    elif trig.kind == "date":
        trigger = {"date": trig.date, "offset_days": trig.offset_days, "at": _clock_text(trig.at)}
    else:
        schedule: dict[str, Any] = {"every": trig.every, "at": _clock_text(trig.at)}
        if trig.weekday is not None:
            schedule["weekday"] = WEEKDAYS[trig.weekday]
        if trig.day is not None:
            schedule["day"] = trig.day
        trigger = {"schedule": schedule}
    doc: dict[str, Any] = {"name": journey.name}
    if journey.description:
        doc["description"] = journey.description
    doc["trigger"] = trigger
    if journey.audience is not None:
        doc["audience"] = to_text(journey.audience)
    doc["steps"] = [_step_doc(s) for s in journey.steps]
    if journey.goal is not None:
        doc["goal"] = {**_filter_doc(journey.goal.event), "within_days": journey.goal.within.days}
    doc["reentry"] = (
        {"after_days": journey.reentry_after.days} if journey.reentry_after is not None else journey.reentry
    )
    doc["control"] = {"percent": journey.control_percent}
    doc["timezone"] = journey.timezone
    return doc


def _step_doc(step: Step) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": step.key}
    if step.kind == "branch":
        assert step.condition is not None
        branch: dict[str, Any] = {"if": to_text(step.condition)}
        if step.then is not None:
            branch["then"] = step.then
        if step.otherwise is not None:
            branch["else"] = step.otherwise
        doc["branch"] = branch
        return doc
    if step.kind == "wait":
        wait: dict[str, Any] = {}
        if step.wait is not None:
            days, rest = divmod(int(step.wait.total_seconds()), 86400)
            hours, rest = divmod(rest, 3600)
            for unit, amount in (("days", days), ("hours", hours), ("minutes", rest // 60)):
                if amount:
                    wait[unit] = amount
            if not wait:
                wait["minutes"] = 0
        if step.until is not None:
            wait["until"] = _clock_text(step.until)
        doc["wait"] = wait
    else:
        params = dict(step.params)
        if step.kind == "webhook":
            params.pop("channel", None)
        doc[step.kind] = params
    if step.next is not None:
        doc["next"] = step.next
    return doc
