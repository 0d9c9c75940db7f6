"""Service reports as SQL over ``service_conversation_facts``: one group per agent, team, channel,
intent or period, and the conversation list behind every figure (the drill-down and its CSV).

Periods are the stored local buckets (``day``, ``week``, ``month``), so grouping is a plain GROUP BY
on both databases; ``since``/``until`` are local dates compared with ``day``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, and_, case, cast, func, select

from liuyu.storage.service_quality_tables import conversation_facts as f
from liuyu.storage.service_tables import conversations as c

DIMENSIONS = ("all", "agent", "team", "channel", "intent", "day", "week", "month")
FILTERS = ("agent", "team", "channel", "intent", "day", "week", "month")
#: Each figure of a report row and which conversations it counts (the drill-down's ``metric``).
METRICS: dict[str, ColumnElement[bool] | None] = {
    "conversations": None,
    "first_response": f.c.first_response_seconds.is_not(None),
    "resolution": f.c.resolution_seconds.is_not(None),
    "sla": f.c.sla_met.is_not(None),
    "sla_breached": f.c.sla_met.is_(False),
    "csat": f.c.csat.is_not(None),
    "qa": f.c.qa_total.is_not(None),
    "sentiment": f.c.sentiment.is_not(None),
}
CSV_COLUMNS = (
    "conversation_id",
    "channel",
    "conversation_key",
    "agent",
    "team",
    "status",
    "opened_at",
    "first_response_seconds",
    "resolution_seconds",
    "sla_target_seconds",
    "sla_met",
    "csat",
    "qa_total",
    "intent",
    "sentiment",
    "messages",
)


def _where(workspace_id: int, since: str | None, until: str | None, filters: Mapping[str, str]) -> list[Any]:
    where: list[Any] = [f.c.workspace_id == workspace_id]
    if since:
        where.append(f.c.day >= since)
    if until:
        where.append(f.c.day <= until)
    for name, value in filters.items():
        if name in FILTERS and value is not None:
            column = f.c[name]
            where.append(column.is_(None) if value == "" else column == value)
    return where


def _round(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def report(
    conn: Connection,
    workspace_id: int,
    *,
    by: str = "all",
    since: str | None = None,
    until: str | None = None,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per group with every figure; the group key is ``""`` for conversations without one."""
    met = func.sum(case((f.c.sla_met.is_(True), 1), else_=0))
    measured = func.count(f.c.sla_met)
    figures = [
        func.count().label("conversations"),
        func.avg(cast(f.c.first_response_seconds, Float)).label("first_response_avg_seconds"),
        func.avg(cast(f.c.resolution_seconds, Float)).label("resolution_avg_seconds"),
        met.label("sla_met"),
        measured.label("sla_measured"),
        func.avg(cast(f.c.csat, Float)).label("csat_avg"),
        func.count(f.c.csat).label("csat_answers"),
        func.avg(f.c.qa_total).label("qa_avg"),
        func.count(f.c.qa_total).label("qa_scored"),
        func.avg(f.c.sentiment).label("sentiment_avg"),
    ]
    key = f.c[by] if by != "all" else None
    query = select(*([key.label("key")] if key is not None else []), *figures).where(
        and_(*_where(workspace_id, since, until, filters or {}))
    )
    if key is not None:
        query = query.group_by(key).order_by(key)
    rows = []
    for row in conn.execute(query):
        m = row._mapping
        if not m["conversations"]:
            continue
        rows.append(
            {
                "key": (m["key"] or "") if key is not None else "all",
                "conversations": int(m["conversations"]),
                "first_response_avg_seconds": _round(m["first_response_avg_seconds"]),
                "resolution_avg_seconds": _round(m["resolution_avg_seconds"]),
                "sla_met_pct": _round(100 * m["sla_met"] / m["sla_measured"]) if m["sla_measured"] else None,
                "sla_measured": int(m["sla_measured"]),
                "csat_avg": _round(m["csat_avg"], 2),
                "csat_answers": int(m["csat_answers"]),
                "qa_avg": _round(m["qa_avg"]),
                "qa_scored": int(m["qa_scored"]),
                "sentiment_avg": _round(m["sentiment_avg"], 3),
            }
        )
    return rows


def _drill_query(
    workspace_id: int, since: str | None, until: str | None, filters: Mapping[str, str], metric: str
) -> Any:
    where = _where(workspace_id, since, until, filters)
    condition = METRICS[metric]
    if condition is not None:
        where.append(condition)
    columns = [f.c.conversation_id, f.c.channel, c.c.conversation_key] + [
        f.c[name] for name in CSV_COLUMNS if name not in ("conversation_id", "channel", "conversation_key")
    ]
    return (
        select(*columns)
        .select_from(f.join(c, c.c.id == f.c.conversation_id))
        .where(and_(*where))
        .order_by(f.c.opened_at.desc(), f.c.conversation_id.desc())
    )


def conversations(
    conn: Connection,
    workspace_id: int,
    *,
    since: str | None = None,
    until: str | None = None,
    filters: Mapping[str, str] | None = None,
    metric: str = "conversations",
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """The conversations behind a figure: (how many, one page of them, newest first)."""
    query = _drill_query(workspace_id, since, until, filters or {}, metric)
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar() or 0
    rows = [dict(r._mapping) for r in conn.execute(query.limit(limit).offset(offset))]
    return int(total), rows


def stream_conversations(
    conn: Connection,
    workspace_id: int,
    *,
    since: str | None = None,
    until: str | None = None,
    filters: Mapping[str, str] | None = None,
    metric: str = "conversations",
) -> Iterator[dict[str, Any]]:
    """Every conversation behind a figure, fetched in chunks (for the CSV export)."""
    query = _drill_query(workspace_id, since, until, filters or {}, metric)
    for row in conn.execution_options(yield_per=2000).execute(query):
        yield dict(row._mapping)
