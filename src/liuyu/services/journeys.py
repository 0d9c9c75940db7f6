"""Journey use cases: apply a definition, pause and resume, start journeys, record goals, report.

``store`` is a :class:`liuyu.storage.journey_store.SqlJourneys` (``uow.journeys``) or a fake with
the same methods; the caller commits. Running the steps is in ``services.journey_runner``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import yaml

from liuyu.domain.engagement.journey import (
    Journey,
    in_control,
    may_enter,
    occurrence,
    target_day,
)
from liuyu.domain.engagement.journey_format import journey_document, read_journey
from liuyu.domain.engagement.uplift import uplift
from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.domain.eventlog import Event

_PARSED: dict[str, Journey] = {}  # keyed by the canonical text: another database may reuse an id


def journey_of(journey_id: int, version: int, definition: Mapping[str, Any]) -> Journey:
    """The journey of a stored version, parsed once per process."""
    key = f"{journey_id}:{version}:" + json.dumps(definition, sort_keys=True, ensure_ascii=False)
    if key not in _PARSED:
        if len(_PARSED) > 1000:
            _PARSED.clear()
        _PARSED[key] = read_journey(definition)
    return _PARSED[key]


# -- definitions ----------------------------------------------------------------------------


def read_text(text: str) -> Journey:
    """A journey from YAML or JSON text (JSON is YAML too); problems name the path of the field."""
    if not text.strip():
        raise InvalidInput("the journey is empty", where="$")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "$"
        raise InvalidInput(f"not valid YAML or JSON: {getattr(exc, 'problem', exc)}", where=where) from None
    return read_journey(data)


def _trigger_name(journey: Journey) -> str | None:
    trig = journey.trigger
    if trig.kind == "event":
        assert trig.event is not None
        return trig.event.event
    return trig.segment if trig.kind == "segment" else trig.date


def apply_journey(uow: Any, workspace_id: int, text: str, *, actor: str, now: datetime) -> dict[str, Any]:
    """Create the journey named in ``text``, or give it a new version (running customers finish the
    version they started). Applying the same definition again changes nothing."""
    journey = read_text(text)
    _check_against_workspace(uow, workspace_id, journey, now)
    document = journey_document(journey)
    store = uow.journeys
    existing = store.journey_named(workspace_id, journey.name)
    columns = {"trigger_kind": journey.trigger.kind, "trigger_name": _trigger_name(journey), "updated_at": now}
    if existing is None:
        journey_id = store.add_journey(
            workspace_id,
            {"name": journey.name, "status": "active", "version": 1, "created_by": actor, "created_at": now, **columns},
        )
        version, changed = 1, True
    else:
        journey_id = existing["id"]
        current = store.definition(journey_id, existing["version"])["definition"]
        changed = json.dumps(current, sort_keys=True) != json.dumps(document, sort_keys=True)
        version = existing["version"] + 1 if changed else existing["version"]
        if changed:
            store.update_journey(workspace_id, journey_id, {"version": version, **columns})
    if changed:
        store.add_version(
            workspace_id,
            {
                "journey_id": journey_id,
                "version": version,
                "definition": document,
                "source": text,
                "created_by": actor,
                "created_at": now,
            },
        )
    return {**store.journey(workspace_id, journey_id), "changed": changed}


def _check_against_workspace(uow: Any, workspace_id: int, journey: Journey, now: datetime) -> None:
    """Names a journey uses must exist here: segment fields, the trigger's saved segment."""
    conditions = [("$.audience", journey.audience)] + [
        (f"$.steps[{i}].branch.if", s.condition) for i, s in enumerate(journey.steps) if s.condition is not None
    ]
    for where, tree in conditions:
        if tree is None:
            continue
        try:
            uow.journeys.check_condition(workspace_id, tree)
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, where=where, field=exc.field, value=exc.value) from None
    if journey.trigger.kind == "segment":
        names = {s["name"] for s in uow.engagement.segments(workspace_id)}
        if journey.trigger.segment not in names:
            raise InvalidInput(
                "no saved segment with this name", where="$.trigger.segment", value=journey.trigger.segment
            )


def set_status(uow: Any, workspace_id: int, journey_id: int, status: str, *, now: datetime) -> dict[str, Any]:
    """Pause (nobody enters, nobody moves; goals are still recorded) or resume a journey."""
    if status not in ("active", "paused"):
        raise InvalidInput("a journey is active or paused", field="status", value=status)
    uow.journeys.update_journey(workspace_id, journey_id, {"status": status, "updated_at": now})
    return uow.journeys.journey(workspace_id, journey_id)


def resolve(uow: Any, workspace_id: int, ref: str | int) -> dict[str, Any]:
    """A journey by id or by name."""
    if isinstance(ref, int) or str(ref).isdigit():
        return uow.journeys.journey(workspace_id, int(ref))
    found = uow.journeys.journey_named(workspace_id, str(ref))
    if found is None:
        raise NotFound(f"no journey named {ref!r} in this workspace")
    return found


# -- entering -------------------------------------------------------------------------------


def enroll(
    store: Any,
    workspace_id: int,
    row: Mapping[str, Any],
    journey: Journey,
    candidates: Sequence[tuple[int, str, datetime, int, dict[str, Any]]],
    now: datetime,
) -> int:
    """Let candidates ``(customer, entry key, entered at, log position, why)`` in, set-wise: live
    customers in the audience whom the re-entry policy admits; a share is held out as control."""
    first: dict[int, tuple[int, str, datetime, int, dict[str, Any]]] = {}
    for candidate in candidates:
        first.setdefault(candidate[0], candidate)
    if not first:
        return 0
    ids = store.live_customers(workspace_id, first)
    if journey.audience is not None and ids:
        ids = store.in_audience(workspace_id, journey.audience, ids, now)
    histories = store.histories(workspace_id, row["id"], ids) if ids else {}
    rows, why = [], []
    for cid in sorted(ids):
        _, key, entered_at, seq, detail = first[cid]
        past = histories.get(cid, [])
        if any(k == key for _, _, k in past):
            continue  # the same entry seen again (a replay, a second worker)
        allowed, reason = may_enter(journey, [(at, running) for at, running, _ in past], entered_at)
        if not allowed:
            continue
        control = in_control(row["id"], cid, journey.control_percent)
        rows.append(
            {
                "journey_id": row["id"],
                "version": row["version"],
                "customer_id": cid,
                "entry_key": key[:300],
                "grp": "control" if control else "treatment",
                "state": "holdout" if control else "active",
                "step_key": None if control else journey.first,
                "next_run_at": None if control else entered_at,
                "entered_at": entered_at,
                "entered_seq": seq,
                "goal_deadline": entered_at + journey.goal.within if journey.goal else None,
            }
        )
        why.append({**detail, "reentry": reason, "group": "control" if control else "treatment"})
    enrollment_ids = store.add_enrollments(workspace_id, rows)
    store.log(
        {
            "workspace_id": workspace_id,
            "journey_id": row["id"],
            "enrollment_id": eid,
            "customer_id": r["customer_id"],
            "step_key": "entry",
            "outcome": "held_out" if r["grp"] == "control" else "entered",
            "detail": detail,
            "at": now,
        }
        for eid, r, detail in zip(enrollment_ids, rows, why, strict=True)
    )
    return len(rows)


def _event_name(event: Event) -> str:
    return event.name if event.type == "custom" and event.name else event.type


def _event_fields(event: Event) -> dict[str, Any]:
    return {**event.properties, "channel": event.channel, "source": event.source}


def handle_events(
    store: Any,
    workspace_id: int,
    rows: Sequence[tuple[int, Event, int | None]],
    now: datetime,
    live: list[dict[str, Any]] | None = None,
) -> int:
    """New events of a batch: start event-triggered journeys, then record goals reached. ``live``:
    the active and paused journeys, when the caller has read them already."""
    journeys = store.live_journeys(workspace_id, statuses=("active", "paused")) if live is None else live
    if not journeys:
        return 0
    parsed = [(j, journey_of(j["id"], j["version"], j["definition"])) for j in journeys]
    entered = 0
    for row, journey in parsed:
        if row["trigger_kind"] != "event":
            continue
        trig = journey.trigger
        assert trig.event is not None
        if not any(_event_name(e) == trig.event.event for _, e, _ in rows):
            continue
        if row["status"] != "active":
            continue
        candidates = [
            (
                cid,
                f"event:{e.source}:{e.external_id}",
                min(e.occurred_at, now),
                seq,
                {"trigger": "event", "event": _event_name(e), "source": e.source, "external_id": e.external_id},
            )
            for seq, e, cid in rows
            if cid is not None
            and e.occurred_at >= now - trig.max_age
            and trig.event.matches(_event_name(e), _event_fields(e))
        ]
        entered += enroll(store, workspace_id, row, journey, candidates, now)
    record_goals(store, workspace_id, parsed, rows, now)
    return entered


def record_goals(
    store: Any,
    workspace_id: int,
    parsed: Sequence[tuple[Mapping[str, Any], Journey]],
    rows: Sequence[tuple[int, Event, int | None]],
    now: datetime,
) -> int:
    """Goal events reach every open enrollment of their customer entered before them and within the
    window; a running enrollment exits, a finished or held-out one only counts the conversion."""
    hits: dict[int, list[tuple[int, int, datetime, Event]]] = {}
    for row, journey in parsed:
        goal = journey.goal
        if goal is None:
            continue
        for seq, e, cid in rows:
            if cid is not None and goal.event.matches(_event_name(e), _event_fields(e)):
                hits.setdefault(row["id"], []).append((cid, seq, e.occurred_at, e))
    if not hits:
        return 0
    customers = {cid for found in hits.values() for cid, _, _, _ in found}
    earliest = min(at for found in hits.values() for _, _, at, _ in found)
    changes, log = [], []
    for enrollment in store.open_goals(workspace_id, hits, customers, earliest):
        for cid, seq, at, e in sorted(hits[enrollment["journey_id"]], key=lambda h: h[1]):
            if cid != enrollment["customer_id"] or seq <= enrollment["entered_seq"]:
                continue
            if not enrollment["entered_at"] <= at <= enrollment["goal_deadline"]:
                continue
            running = enrollment["state"] == "active"
            changes.append({"id": enrollment["id"], "converted_at": at, "exit": running, "finished_at": now})
            detail = {"event": _event_name(e), "source": e.source, "external_id": e.external_id, "exited": running}
            log.append(
                {
                    "workspace_id": workspace_id,
                    "journey_id": enrollment["journey_id"],
                    "enrollment_id": enrollment["id"],
                    "customer_id": cid,
                    "step_key": "goal",
                    "outcome": "converted",
                    "detail": detail,
                    "at": now,
                }
            )
            break
    store.convert(changes)
    store.log(log)
    return len(changes)


def handle_segment_entries(
    store: Any, workspace_id: int, now: datetime, *, replay: bool = False, live: list[dict[str, Any]] | None = None
) -> int:
    """Customers who entered a saved segment since last time start the journeys it triggers. During
    a rebuild's replay the entries are only passed over. ``live``: as for ``handle_events``."""
    entered = 0
    if live is None:
        journeys = store.live_journeys(workspace_id, kinds=("segment",))
    else:
        journeys = [j for j in live if j["status"] == "active" and j["trigger_kind"] == "segment"]
    for row in journeys:
        journey = journey_of(row["id"], row["version"], row["definition"])
        assert journey.trigger.segment is not None
        if replay:
            store.set_segment_cursor(row["id"], store.newest_segment_change())
            continue
        # When the newest changes were deleted (a segment removed), SQLite reuses their ids: start again
        # from the newest one left, or later entries would hide below the old cursor.
        cursor = min(row["segment_cursor"], store.newest_segment_change())
        changes, newest = store.segment_entries(workspace_id, journey.trigger.segment, cursor)
        if changes:
            seq = store.log_end(workspace_id)
            why = {"trigger": "segment", "segment": journey.trigger.segment}
            candidates = [(cid, f"segment:{cid_change}", at, seq, why) for cid_change, cid, at in changes]
            entered += enroll(store, workspace_id, row, journey, candidates, now)
        if newest != row["segment_cursor"]:
            store.set_segment_cursor(row["id"], newest)
    return entered


def handle_merges(store: Any, workspace_id: int, merges: Sequence[tuple[int, int]], now: datetime) -> None:
    """A merge moves the loser's running journeys to the winner (or ends them when the winner runs
    the same journey), and says so in the step log."""
    for winner, loser in merges:
        for done in store.move_enrollments(workspace_id, loser, winner, now):
            store.log(
                [
                    {
                        "workspace_id": workspace_id,
                        "journey_id": done["journey_id"],
                        "enrollment_id": done["id"],
                        "customer_id": winner,
                        "step_key": "merge",
                        "outcome": done["outcome"],
                        "detail": {"from": loser, "to": winner},
                        "at": now,
                    }
                ]
            )


def run_scheduled(uow: Any, now: datetime) -> int:
    """Date and schedule triggers: today's occurrence of each active journey, once (the first worker
    to claim it runs it)."""
    store = uow.journeys
    entered = 0
    for row in store.scheduled_journeys():
        journey = journey_of(row["id"], row["version"], row["definition"])
        day = occurrence(journey.trigger, now, journey.timezone)
        if day is None or not store.claim_run(row["workspace_id"], row["id"], day, now):
            continue
        ws = row["workspace_id"]
        if journey.trigger.kind == "date":
            assert journey.trigger.date is not None
            target = target_day(journey.trigger, day)
            ids = store.date_matches(ws, journey.trigger.date, target, journey.timezone, journey.audience, now)
            why = {"trigger": "date", "date": journey.trigger.date, "target": target.isoformat()}
        else:
            ids = store.audience_members(ws, journey.audience, now)
            why = {"trigger": "schedule", "every": journey.trigger.every}
        seq = store.log_end(ws)
        key = f"{journey.trigger.kind}:{day.isoformat()}"
        n = enroll(store, ws, row, journey, [(cid, key, now, seq, {**why, "day": day.isoformat()}) for cid in ids], now)
        store.finish_run(row["id"], day, n)
        entered += n
    return entered


def run_segment_triggers(uow: Any, now: datetime) -> int:
    """Segment entries recorded outside ingestion (a full refresh): the worker's periodic pass."""
    entered = 0
    for workspace_id in uow.journeys.segment_journey_workspaces():
        uow.journeys.lock_workspace(workspace_id)  # the ingest hook reads the same cursors
        entered += handle_segment_entries(uow.journeys, workspace_id, now)
    return entered


# -- reading --------------------------------------------------------------------------------


def show(uow: Any, workspace_id: int, journey_id: int) -> dict[str, Any]:
    """A journey with its definition and, per step, how many are there now and what happened there."""
    store = uow.journeys
    row = store.journey(workspace_id, journey_id)
    stored = store.definition(journey_id, row["version"])
    journey = journey_of(journey_id, row["version"], stored["definition"])
    counts = store.step_counts(workspace_id, journey_id)
    reasons = store.outcome_reasons(workspace_id, journey_id)
    steps = []
    for step in journey.steps:
        here = counts.get(step.key, {})
        steps.append(
            {
                "key": step.key,
                "kind": step.kind,
                "next": journey.after(step.key) if step.kind != "branch" else None,
                "then": journey.branch_to(step.key, True) if step.kind == "branch" else None,
                "else": journey.branch_to(step.key, False) if step.kind == "branch" else None,
                "now": here.get("now", 0),
                "outcomes": {k: v for k, v in sorted(here.items()) if k != "now"},
                "reasons": reasons.get(step.key, {}),
            }
        )
    special = {k: v for k, v in counts.items() if k in ("entry", "goal", "merge")}
    return {
        **row,
        "definition": stored["definition"],
        "source": stored["source"],
        "versions": store.versions(workspace_id, journey_id),
        "steps": steps,
        "entry": special.get("entry", {}),
        "goal": special.get("goal", {}),
        "groups": store.group_counts(workspace_id, journey_id),
    }


def report(uow: Any, workspace_id: int, journey_id: int, *, confidence: float = 0.95) -> dict[str, Any]:
    """Conversion of treatment and control, and the uplift with Newcombe's interval."""
    store = uow.journeys
    row = store.journey(workspace_id, journey_id)
    groups = store.group_counts(workspace_id, journey_id)
    treated = groups.get("treatment", {"entered": 0, "converted": 0})
    control = groups.get("control", {"entered": 0, "converted": 0})
    result = uplift(treated["entered"], treated["converted"], control["entered"], control["converted"], confidence)
    return {
        "journey_id": journey_id,
        "name": row["name"],
        "groups": groups,
        "uplift": {**asdict(result), "significant": result.significant, "method": "newcombe-wilson"},
        "steps": show(uow, workspace_id, journey_id)["steps"],
    }


def run_once(uow: Any, now: datetime) -> dict[str, int]:
    """Both trigger passes of the worker, for one transaction."""
    return {"scheduled": run_scheduled(uow, now), "segment": run_segment_triggers(uow, now)}
