"""Use cases for segments, tags and computed traits: save, refresh memberships, tag, score.

Every function takes a unit of work whose ``engagement`` is a
:class:`liuyu.storage.engagement_store.SqlEngagement` (or a fake with the same methods); the
caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from liuyu.domain.engagement import rfm
from liuyu.domain.engagement.lifecycle import LifecycleWindows, Stage, stage_of
from liuyu.domain.engagement.segment import Node, from_json, parse, to_json, to_text
from liuyu.domain.errors import InvalidInput, NotFound

MAX_NAME = 200
MAX_TAG = 100
MAX_REASON = 500
TAG_SOURCES = ("manual", "rule", "event", "text")


def read_expression(text: str | None = None, json: Mapping[str, Any] | None = None) -> Node:
    """The segment tree from the operator's text or the builder's JSON (exactly one of them)."""
    if (text is None) == (json is None):
        raise InvalidInput("give the expression as text or as JSON, not both and not neither", field="expression")
    return parse(text) if text is not None else from_json(json)  # type: ignore[arg-type]


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a segment needs a name of 1 to {MAX_NAME} characters", field="name", value=name)
    return name


def _check_tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    tag = tag.strip()
    if not tag or len(tag) > MAX_TAG:
        raise InvalidInput(f"a tag is 1 to {MAX_TAG} characters", field="tag", value=tag)
    return tag


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"say why in 1 to {MAX_REASON} characters", field="reason", value=reason)
    return reason


def save_segment(
    uow: Any,
    workspace_id: int,
    *,
    name: str,
    tree: Node,
    actor: str,
    tag: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a segment and compute its members at once, so its detail page is never empty by accident."""
    now = now or datetime.now(UTC)
    segment_id = uow.engagement.add_segment(
        workspace_id,
        {
            "name": _check_name(name),
            "expression": to_text(tree),
            "expression_json": to_json(tree),
            "tag": _check_tag(tag),
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        },
    )
    return refresh_segment(uow, workspace_id, segment_id, now=now, tree=tree)


def change_segment(
    uow: Any,
    workspace_id: int,
    segment_id: int,
    *,
    name: str | None = None,
    tree: Node | None = None,
    tag: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Rename, re-define or re-tag a segment; its members are recomputed (entries and exits recorded)."""
    now = now or datetime.now(UTC)
    changes: dict[str, Any] = {"updated_at": now}
    if name is not None:
        changes["name"] = _check_name(name)
    if tree is not None:
        changes["expression"] = to_text(tree)
        changes["expression_json"] = to_json(tree)
    if tag is not None:
        changes["tag"] = _check_tag(tag) if tag.strip() else None  # an empty tag stops tagging
    uow.engagement.update_segment(workspace_id, segment_id, changes)
    return refresh_segment(uow, workspace_id, segment_id, now=now, tree=tree)


def delete_segment(uow: Any, workspace_id: int, segment_id: int) -> None:
    uow.engagement.delete_segment(workspace_id, segment_id)


def refresh_segment(
    uow: Any, workspace_id: int, segment_id: int, *, now: datetime | None = None, tree: Node | None = None
) -> dict[str, Any]:
    """Recompute one segment's members; returns the segment with the entered and exited counts.

    ``tree`` is the one just typed, when there is one: it keeps the positions errors point at.
    """
    now = now or datetime.now(UTC)
    segment = uow.engagement.segment(workspace_id, segment_id)
    tree = tree or from_json(segment["expression_json"])
    entered, exited = uow.engagement.refresh_members(workspace_id, segment_id, tree, now)
    tagged, untagged = uow.engagement.sync_rule_tags(workspace_id, segment_id, segment["tag"], now)
    return {
        **uow.engagement.segment(workspace_id, segment_id),
        "entered": entered,
        "exited": exited,
        "tagged": tagged,
        "untagged": untagged,
    }


def refresh_segments(uow: Any, workspace_id: int, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Recompute every saved segment of the workspace (the scheduled full reconcile)."""
    now = now or datetime.now(UTC)
    return [refresh_segment(uow, workspace_id, s["id"], now=now) for s in uow.engagement.segments(workspace_id)]


# -- tags -----------------------------------------------------------------------------------


def tag_customer(
    uow: Any, workspace_id: int, customer_id: int, tag: str, *, reason: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """An operator tags a customer by hand; the tag, the reason and who did it are kept."""
    now = now or datetime.now(UTC)
    if not uow.engagement.customer_exists(workspace_id, customer_id):
        raise NotFound(f"no customer {customer_id} in this workspace")
    row = {"customer_id": customer_id, "tag": _check_tag(tag), "source": "manual", "reason": _check_reason(reason)}
    uow.engagement.put_tags(workspace_id, [{**row, "at": now}])
    uow.accounts.audit(workspace_id, actor, "tag.add", f"customer:{customer_id}", row, now)
    return {**row, "at": now}


def untag_customer(
    uow: Any, workspace_id: int, customer_id: int, tag: str, *, reason: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """Take a tag away (whatever its source); the audit log keeps what was removed and why."""
    now = now or datetime.now(UTC)
    why = _check_reason(reason)
    removed = uow.engagement.remove_tag(workspace_id, customer_id, tag)
    if removed is None:
        raise NotFound(f"customer {customer_id} has no tag {tag!r}")
    detail = {"tag": tag, "reason": why, "had": {**removed, "at": removed["at"].isoformat()}}
    uow.accounts.audit(workspace_id, actor, "tag.remove", f"customer:{customer_id}", detail, now)
    return {"customer_id": customer_id, "tag": tag, "removed": True}


def apply_tags(
    uow: Any,
    workspace_id: int,
    tags: Iterable[tuple[int, str, str]],
    *,
    source: str,
    now: datetime | None = None,
) -> int:
    """Tag many customers at once from ``(customer_id, tag, reason)``: the hook for event and text tags.

    Ids that are not customers of the workspace are skipped; returns how many tags were set.

    Text understanding (``liuyu.nlp.analyze``) is expected to call this with ``source="text"`` and
    a reason that quotes the evidence, e.g. ``(42, "王者荣耀玩家", "post 981: 今晚上王者")``.
    """
    if source not in TAG_SOURCES:
        raise InvalidInput(f"a tag source is one of {', '.join(TAG_SOURCES)}", field="source", value=source)
    now = now or datetime.now(UTC)
    unique: dict[tuple[int, str], dict[str, Any]] = {}
    for customer_id, tag, reason in tags:
        checked = _check_tag(tag) or ""
        unique[(customer_id, checked)] = {
            "customer_id": customer_id,
            "tag": checked,
            "source": source,
            "reason": reason[:MAX_REASON],
            "at": now,
        }
    known = uow.engagement.customers_of(workspace_id, sorted({cid for cid, _ in unique}))
    rows = [row for (cid, _), row in unique.items() if cid in known]  # never tag another workspace's customer
    uow.engagement.put_tags(workspace_id, rows)
    return len(rows)


# -- computed traits ------------------------------------------------------------------------

MIN_FIT_BUYERS = 20  # below this many buyers (or 5 repeat buyers) a BG/NBD fit says more about noise than people
TOP_HOURS = 3
SMALL_FIT_BUYERS, SMALL_FIT_PENALTY = 1000, 0.01


@dataclass(frozen=True, slots=True)
class TraitSettings:
    """A workspace's knobs for computed traits, from its settings (``lifecycle``, ``traits``, ``timezone``)."""

    windows: LifecycleWindows = field(default_factory=LifecycleWindows)
    horizon_days: int = 90
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TraitSettings:
        traits = settings.get("traits") or {}
        horizon = traits.get("horizon_days", 90)
        if not isinstance(horizon, int) or horizon < 1:
            raise InvalidInput("must be a whole number of days, at least 1", field="traits.horizon_days", value=horizon)
        return cls(
            windows=LifecycleWindows.from_settings(settings.get("lifecycle") or {}),
            horizon_days=horizon,
            timezone=str(settings.get("timezone") or "Asia/Shanghai"),
        )


def compute_scores(
    people: Sequence[Mapping[str, Any]],
    orders: Sequence[tuple[int, datetime, int]],
    activity: Sequence[tuple[int, int, int]],
    now: datetime,
    settings: TraitSettings,
) -> list[dict[str, Any]]:
    """One score row per customer from plain rows: RFM, lifecycle, BG/NBD forecasts, preferred hours.

    ``people`` has ``id`` and ``first_seen``; ``orders`` are (customer_id, paid at, net fen);
    ``activity`` is (customer_id, UTC hour, events).
    """
    ids = [int(p["id"]) for p in people]
    known = set(ids)
    by_customer: dict[int, list[tuple[datetime, int]]] = {}
    for customer_id, at, fen in orders:
        if customer_id in known and at <= now:
            by_customer.setdefault(customer_id, []).append((at, fen))
    buyers = [
        rfm.BuyerRow(cid, max(at for at, _ in rows), len(rows), Decimal(sum(fen for _, fen in rows)))
        for cid, rows in sorted(by_customer.items())
    ]
    scores = {s.customer_id: s for s in rfm.score(buyers)}
    forecasts = _forecasts(by_customer, now, settings)
    hours = _preferred_hours(activity, now, settings.timezone)
    rows = []
    for person in people:
        cid = int(person["id"])
        verdict = stage_of([at for at, _ in by_customer.get(cid, [])], person.get("first_seen"), now, settings.windows)
        score = scores.get(cid)
        p_alive, predicted = forecasts.get(cid, (None, None))
        rows.append(
            {
                "customer_id": cid,
                "rfm_r": score and score.recency,
                "rfm_f": score and score.frequency,
                "rfm_m": score and score.monetary,
                "rfm_cell": score and score.cell,
                "lifecycle": verdict.stage.value,
                "lifecycle_reason": verdict.reason[:200],
                "p_alive": p_alive,
                "predicted_purchases": predicted,
                "preferred_hours": hours.get(cid, []),
                "computed_at": now,
            }
        )
    return rows


def _forecasts(
    by_customer: Mapping[int, list[tuple[datetime, int]]], now: datetime, settings: TraitSettings
) -> dict[int, tuple[float, float]]:
    """(P(alive), expected purchases over the horizon) per buyer, from a BG/NBD fit on this workspace."""
    import numpy as np

    from liuyu.analytics.clv import fit_bgnbd, summarize  # scipy: loaded only for the traits job

    zone = ZoneInfo(settings.timezone)
    purchases = [
        (str(cid), at.astimezone(zone).date(), fen / 100) for cid, rows in by_customer.items() for at, fen in rows
    ]
    summary = summarize(purchases, end=now.astimezone(zone).date())
    if len(summary.customer_ids) < MIN_FIT_BUYERS or int((summary.frequency > 0).sum()) < 5:
        return {}
    # A small workspace's likelihood is flat enough for the parameters to run off; a light pull keeps them sane.
    penalty = SMALL_FIT_PENALTY if len(summary.customer_ids) < SMALL_FIT_BUYERS else 0.0
    try:
        model = fit_bgnbd(summary.frequency, summary.recency, summary.age, penalty=penalty)
    except (ValueError, ArithmeticError):
        return {}
    weeks = settings.horizon_days / 7.0
    alive = model.p_alive(summary.frequency, summary.recency, summary.age)
    expected = model.expected_purchases(weeks, summary.frequency, summary.recency, summary.age)
    if not (np.isfinite(alive).all() and np.isfinite(expected).all()):
        return {}
    return {
        int(cid): (round(float(p), 4), round(float(n), 4))
        for cid, p, n in zip(summary.customer_ids, alive, expected, strict=True)
    }


def _preferred_hours(activity: Sequence[tuple[int, int, int]], now: datetime, timezone: str) -> dict[int, list[int]]:
    """The local hours with the most events per customer, busiest first (ties: earlier hour first)."""
    offset = ZoneInfo(timezone).utcoffset(now.replace(tzinfo=None)) or timedelta(0)
    shift = round(offset / timedelta(hours=1))
    counts: dict[int, dict[int, int]] = {}
    for customer_id, utc_hour, events in activity:
        local = (utc_hour + shift) % 24
        per_hour = counts.setdefault(customer_id, {})
        per_hour[local] = per_hour.get(local, 0) + events
    return {
        cid: [h for h, _ in sorted(per_hour.items(), key=lambda item: (-item[1], item[0]))[:TOP_HOURS]]
        for cid, per_hour in counts.items()
    }


def refresh_traits(uow: Any, workspace_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Recompute every customer's scores for the workspace (the scheduled job); returns a summary."""
    now = now or datetime.now(UTC)
    workspace = uow.accounts.workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    settings = TraitSettings.from_settings(workspace.get("settings") or {})
    people, orders = uow.engagement.buyers_and_orders(workspace_id)
    rows = compute_scores(people, orders, uow.engagement.activity_by_hour(workspace_id), now, settings)
    before = uow.engagement.lifecycle_stages(workspace_id)
    moves: dict[tuple[str | None, str], int] = {}
    for row in rows:
        key = (before.get(row["customer_id"]), row["lifecycle"])
        moves[key] = moves.get(key, 0) + 1
    uow.engagement.replace_scores(workspace_id, rows)
    uow.engagement.record_lifecycle_moves(workspace_id, now, moves)
    stages: dict[str, int] = {}
    for row in rows:
        stages[row["lifecycle"]] = stages.get(row["lifecycle"], 0) + 1
    return {
        "customers": len(rows),
        "buyers": sum(1 for row in rows if row["rfm_r"] is not None),
        "forecast": sum(1 for row in rows if row["p_alive"] is not None),
        "lifecycle": dict(sorted(stages.items())),
        "moved": sum(n for (a, b), n in moves.items() if a is not None and a != b),
    }


# -- dashboard ------------------------------------------------------------------------------

CURVE_POINTS = 50  # enough for a smooth 20/80 line, few enough for a page


def dashboard(uow: Any, workspace_id: int) -> dict[str, Any]:
    """What the engagement dashboard shows: repurchase rate, R×F grid, stages and the 20/80 curve."""
    from liuyu.analytics.pareto import concentration, pareto_curve

    counts = uow.engagement.dashboard_counts(workspace_id)
    revenue = uow.engagement.revenue_per_buyer(workspace_id)
    curve = pareto_curve(revenue)
    step = max(1, len(curve) // CURVE_POINTS)
    shown = curve[::step] + ([curve[-1]] if (len(curve) - 1) % step else [])
    buyers = counts["buyers"]
    return {
        "buyers": buyers,
        "repeat_buyers": counts["repeat_buyers"],
        "repurchase_rate": counts["repeat_buyers"] / buyers if buyers else None,
        "grid": [[counts["grid"].get((r, f), 0) for f in range(1, 6)] for r in range(5, 0, -1)],  # rows R5…R1
        "stages": [(stage.value, counts["stages"].get(stage.value, 0)) for stage in Stage],
        "scored_at": counts["scored_at"],
        "top20_share": concentration(revenue).top_revenue_share if revenue else None,
        "curve": shown,
        "flow": _flow(uow.engagement.latest_lifecycle_moves(workspace_id)),
    }


def _flow(moves: Sequence[tuple[str | None, str, int]]) -> list[dict[str, Any]]:
    """The last scoring run's moves as one row per earlier stage (None: not scored before) in stage order."""
    order = [None, *(stage.value for stage in Stage)]
    cells: dict[str | None, dict[str, int]] = {}
    for a, b, n in moves:
        cells.setdefault(a, {})[b] = n
    return [
        {"from": a, "to": {stage.value: cells[a].get(stage.value, 0) for stage in Stage}} for a in order if a in cells
    ]
