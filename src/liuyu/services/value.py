"""Where the value is: the 20/80 view by channel, category and month, the segments that hold the
high-value core, and monthly cohort retention.

Reads plain rows through ``uow.value`` and leaves the arithmetic to ``liuyu.analytics`` (pareto,
cohorts). Months are calendar months in the workspace's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from liuyu.analytics.cohorts import average_curve, monthly_cohorts
from liuyu.analytics.pareto import Concentration, concentration, concentration_by
from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.services.engagement import TraitSettings

DIMENSIONS = ("channel", "category", "month")
UNCATEGORISED = "(none)"


def _zone(uow: Any, workspace_id: int) -> ZoneInfo:
    workspace = uow.accounts.workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    return ZoneInfo(TraitSettings.from_settings(workspace.get("settings") or {}).timezone)


def _top(top: float) -> float:
    if not 0 < top < 1:
        raise InvalidInput("must be a fraction between 0 and 1, e.g. 0.2", field="top", value=top)
    return top


def _summary(result: Concentration, total: Decimal) -> dict[str, Any]:
    return {
        "customers": result.customers,
        "revenue": str((result.revenue / 100).quantize(Decimal("0.01"))),
        "revenue_share": float(result.revenue / total) if total else 0.0,
        "top_revenue_share": result.top_revenue_share,
    }


def _per_customer(rows: Iterable[tuple[Hashable, int]]) -> dict[Hashable, int]:
    totals: dict[Hashable, int] = defaultdict(int)
    for customer, fen in rows:
        totals[customer] += fen
    return totals


def value_by(uow: Any, workspace_id: int, dimension: str, *, top: float = 0.2) -> list[dict[str, Any]]:
    """The 20/80 figures within each channel, category or month, biggest revenue first."""
    top = _top(top)
    if dimension == "category":
        rows: list[tuple[Hashable, int, int]] = [
            (category or UNCATEGORISED, cid, fen) for cid, category, fen in uow.value.paid_lines(workspace_id)
        ]
    elif dimension in ("channel", "month"):
        zone = _zone(uow, workspace_id)
        rows = [
            (channel if dimension == "channel" else at.astimezone(zone).strftime("%Y-%m"), cid, fen)
            for cid, channel, at, fen in uow.value.paid_orders(workspace_id)
        ]
    else:
        raise InvalidInput(f"must be one of {', '.join(DIMENSIONS)}", field="by", value=dimension)
    groups = concentration_by(rows, group=lambda r: r[0], customer=lambda r: r[1], amount=lambda r: r[2], top=top)
    total = sum((max(g.revenue, Decimal(0)) for g in groups.values()), Decimal(0))
    out = [{dimension: key, **_summary(result, total)} for key, result in groups.items()]
    ordered = sorted(out, key=lambda row: (-Decimal(row["revenue"]), str(row[dimension])))
    return ordered if dimension != "month" else sorted(out, key=lambda row: row["month"])


def value_view(uow: Any, workspace_id: int, *, top: float = 0.2) -> dict[str, Any]:
    """The overall 20/80 figure, the same within each dimension, and the segments holding the core.

    The *core* is the best ``top`` share of buyers by net spend; the *long tail* is everyone else.
    For each saved segment: its share of revenue, of the core and of the tail, so an operator sees
    which groups carry the business and which are mostly tail.
    """
    top = _top(top)
    spend = _per_customer((cid, fen) for cid, _, _, fen in uow.value.paid_orders(workspace_id))
    overall = concentration(spend.values(), top)
    total = sum((max(v, 0) for v in spend.values()), 0)
    ranked = sorted(spend, key=lambda cid: (-spend[cid], cid))
    core = set(ranked[: round(top * len(ranked))])
    members: dict[tuple[int, str], set[int]] = defaultdict(set)
    for segment_id, name, cid in uow.value.segment_members(workspace_id):
        members[(segment_id, name)].add(cid)
    segments = []
    for (segment_id, name), ids in sorted(members.items()):
        buyers = ids & spend.keys()
        in_core = len(ids & core)
        segments.append(
            {
                "segment_id": segment_id,
                "name": name,
                "members": len(ids),
                "buyers": len(buyers),
                "revenue_share": sum(max(spend[c], 0) for c in buyers) / total if total else 0.0,
                "core_share": in_core / len(core) if core else 0.0,
                "tail_share": (len(buyers) - in_core) / (len(ranked) - len(core)) if len(ranked) > len(core) else 0.0,
            }
        )
    segments.sort(key=lambda s: (-s["revenue_share"], s["name"]))
    return {
        "top": top,
        "overall": _summary(overall, Decimal(total)),
        "core_customers": len(core),
        "by": {dimension: value_by(uow, workspace_id, dimension, top=top) for dimension in DIMENSIONS},
        "segments": segments,
    }


def cohort_view(uow: Any, workspace_id: int, *, horizon: int = 12, now: datetime | None = None) -> dict[str, Any]:
    """Monthly cohorts by first purchase with their retention curves, and the size-weighted average."""
    if not 1 <= horizon <= 36:
        raise InvalidInput("must be between 1 and 36 months", field="horizon", value=horizon)
    zone = _zone(uow, workspace_id)
    purchases = [(cid, at.astimezone(zone).date()) for cid, _, at, _ in uow.value.paid_orders(workspace_id)]
    through = (now or datetime.now(UTC)).astimezone(zone).date()
    cohorts = monthly_cohorts(purchases, horizon=horizon, through=max([through, *(d for _, d in purchases)]))
    return {
        "horizon": horizon,
        "cohorts": [{"month": c.month, "customers": c.customers, "retained": list(c.retained)} for c in cohorts],
        "average": average_curve(cohorts),
    }
