"""Read queries for the customer 360, search and workspace counts. Every query is scoped to a workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, or_, select

from liuyu.domain.customers.identifiers import normalize_phone
from liuyu.domain.orders import from_fen
from liuyu.storage import tables as t


def live_id(conn: Connection, workspace_id: int, customer_id: int) -> int | None:
    """The customer id that now holds this one's history (itself unless it was merged away)."""
    row = conn.execute(
        select(t.customers.c.id, t.customers.c.merged_into).where(
            t.customers.c.workspace_id == workspace_id, t.customers.c.id == customer_id
        )
    ).first()
    if row is None:
        return None
    return row.merged_into or row.id


def find_customers(conn: Connection, workspace_id: int, query: str, limit: int = 20) -> list[int]:
    """Customers matching a phone, a name, any identifier, an order id or a customer id."""
    q = query.strip()
    if not q:
        return []
    found: list[int] = []
    values = {q, q.lower()}
    phone = normalize_phone(q) if any(ch.isdigit() for ch in q) else None
    if phone:
        values.add(phone)
    ids = conn.execute(
        select(t.identifiers.c.customer_id).where(
            t.identifiers.c.workspace_id == workspace_id, t.identifiers.c.value.in_(values)
        )
    ).scalars()
    found.extend(ids)
    found.extend(
        conn.execute(
            select(t.masked_identifiers.c.customer_id).where(
                t.masked_identifiers.c.workspace_id == workspace_id, t.masked_identifiers.c.value == q
            )
        ).scalars()
    )
    found.extend(
        conn.execute(
            select(t.orders.c.customer_id).where(
                t.orders.c.workspace_id == workspace_id, t.orders.c.order_id == q, t.orders.c.customer_id.is_not(None)
            )
        ).scalars()
    )
    found.extend(
        conn.execute(
            select(func.coalesce(t.customers.c.merged_into, t.customers.c.id))
            .where(t.customers.c.workspace_id == workspace_id, t.customers.c.erased_at.is_(None))
            .where(or_(t.customers.c.name == q, t.customers.c.name.startswith(q) if len(q) >= 2 else False))
            .limit(limit)
        ).scalars()
    )
    if q.isdigit() and len(q) < 12:
        row = live_id(conn, workspace_id, int(q))
        if row is not None:
            found.append(row)
    out: list[int] = []
    for cid in found:
        live = live_id(conn, workspace_id, cid)
        if live is not None and live not in out:
            out.append(live)
    return out[:limit]


def customer_summaries(conn: Connection, workspace_id: int, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = conn.execute(
        select(
            t.customers,
            t.customer_traits.c.order_count,
            t.customer_traits.c.total_spent_fen,
            t.customer_traits.c.channels,
            t.customer_traits.c.last_order_at,
        )
        .outerjoin(t.customer_traits, t.customer_traits.c.customer_id == t.customers.c.id)
        .where(t.customers.c.workspace_id == workspace_id, t.customers.c.id.in_(ids))
    ).mappings()
    by_id = {r["id"]: dict(r) for r in rows}
    phones = _identifiers_of(conn, workspace_id, ids, kinds=("phone",))
    out = []
    for cid in ids:
        row = by_id.get(cid)
        if row is None:
            continue
        out.append(
            {
                "id": cid,
                "name": row["name"],
                "city": row["city"],
                "phone": next((v for k, v, _ in phones.get(cid, []) if k == "phone"), None),
                "order_count": row["order_count"] or 0,
                "total_spent": str(from_fen(row["total_spent_fen"] or 0)),
                "channels": row["channels"] or [],
                "last_seen": row["last_seen"],
                "last_order_at": row["last_order_at"],
            }
        )
    return out


def _identifiers_of(
    conn: Connection, workspace_id: int, ids: list[int], kinds: tuple[str, ...] | None = None
) -> dict[int, list[tuple[str, str, bool]]]:
    query = select(
        t.identifiers.c.customer_id, t.identifiers.c.kind, t.identifiers.c.value, t.identifiers.c.verified
    ).where(t.identifiers.c.workspace_id == workspace_id, t.identifiers.c.customer_id.in_(ids))
    if kinds:
        query = query.where(t.identifiers.c.kind.in_(kinds))
    out: dict[int, list[tuple[str, str, bool]]] = {}
    # Sorted here, not in SQL: an ORDER BY (kind, value) tempts SQLite into scanning the primary key.
    for cid, kind, value, verified in sorted(conn.execute(query), key=lambda r: (r[1], r[2])):
        out.setdefault(cid, []).append((kind, value, verified))
    return out


def customer_360(
    conn: Connection, workspace_id: int, customer_id: int, timeline_limit: int = 200
) -> dict[str, Any] | None:
    """Everything liuyu knows about one customer, newest first. None when not in this workspace."""
    cid = live_id(conn, workspace_id, customer_id)
    if cid is None:
        return None
    customer = dict(conn.execute(select(t.customers).where(t.customers.c.id == cid)).mappings().one())
    traits = conn.execute(select(t.customer_traits).where(t.customer_traits.c.customer_id == cid)).mappings().first()
    identifiers = [
        {"kind": k, "value": v, "verified": ver, "masked": False}
        for k, v, ver in _identifiers_of(conn, workspace_id, [cid]).get(cid, [])
    ]
    identifiers += [
        {"kind": r.kind, "value": r.value, "verified": False, "masked": True}
        for r in conn.execute(
            select(t.masked_identifiers.c.kind, t.masked_identifiers.c.value)
            .where(t.masked_identifiers.c.workspace_id == workspace_id, t.masked_identifiers.c.customer_id == cid)
            .order_by(t.masked_identifiers.c.kind, t.masked_identifiers.c.value)
        )
    ]
    member_ids = list(
        conn.execute(
            select(t.customers.c.id).where(t.customers.c.workspace_id == workspace_id, t.customers.c.merged_into == cid)
        ).scalars()
    )
    merges = [
        dict(r)
        for r in conn.execute(
            select(t.merges)
            .where(t.merges.c.workspace_id == workspace_id)
            .where(or_(t.merges.c.winner_id.in_([cid, *member_ids]), t.merges.c.loser_id.in_([cid, *member_ids])))
            .order_by(t.merges.c.created_at.desc(), t.merges.c.id.desc())
        ).mappings()
    ]
    orders = [
        dict(r)
        for r in conn.execute(
            select(t.orders)
            .where(t.orders.c.workspace_id == workspace_id, t.orders.c.customer_id == cid)
            .order_by(t.orders.c.placed_at.desc().nulls_last(), t.orders.c.id.desc())
        ).mappings()
    ]
    pks = [o["id"] for o in orders]
    lines: dict[int, list[dict[str, Any]]] = {}
    history: dict[int, list[dict[str, Any]]] = {}
    if pks:
        for r in conn.execute(
            select(t.order_lines).where(t.order_lines.c.order_pk.in_(pks)).order_by(t.order_lines.c.line_no)
        ).mappings():
            lines.setdefault(r["order_pk"], []).append(dict(r))
        for r in conn.execute(
            select(t.order_status_history)
            .where(t.order_status_history.c.order_pk.in_(pks))
            .order_by(t.order_status_history.c.at)
        ).mappings():
            history.setdefault(r["order_pk"], []).append({"status": r["status"], "at": r["at"]})
    for order in orders:
        order["lines"] = lines.get(order["id"], [])
        order["history"] = history.get(order["id"], [])
    timeline = [
        dict(r)
        for r in conn.execute(
            select(
                t.events.c.seq,
                t.events.c.source,
                t.events.c.external_id,
                t.events.c.type,
                t.events.c.name,
                t.events.c.channel,
                t.events.c.occurred_at,
                t.events.c.payload,
            )
            .where(t.events.c.workspace_id == workspace_id, t.events.c.customer_id == cid)
            .order_by(t.events.c.occurred_at.desc(), t.events.c.seq.desc())
            .limit(timeline_limit)
        ).mappings()
    ]
    tags = [
        dict(r)
        for r in conn.execute(
            select(
                t.customer_tags.c.tag, t.customer_tags.c.source, t.customer_tags.c.reason, t.customer_tags.c.at
            ).where(t.customer_tags.c.workspace_id == workspace_id, t.customer_tags.c.customer_id == cid)
        ).mappings()
    ]
    return {
        "customer": customer,
        "traits": dict(traits) if traits else None,
        "identifiers": identifiers,
        "merged_from": member_ids,
        "merges": merges,
        "orders": orders,
        "timeline": timeline,
        "tags": tags,
    }


def workspace_counts(conn: Connection, workspace_id: int) -> dict[str, int]:
    def count(table: t.Table, *where: Any) -> int:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.workspace_id == workspace_id, *where)
            ).scalar_one()
        )

    return {
        "events": count(t.events),
        "customers": count(t.customers, t.customers.c.merged_into.is_(None)),
        "identifiers": count(t.identifiers),
        "masked_identifiers": count(t.masked_identifiers),
        "orders": count(t.orders),
        "merges": count(t.merges, t.merges.c.undone_at.is_(None)),
        "merges_undone": count(t.merges, t.merges.c.undone_at.is_not(None)),
        "rejected": count(t.rejections),
    }


class SqlCustomerReads:
    """The read queries bound to a unit of work's connection, for use cases that need them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def live_id(self, workspace_id: int, customer_id: int) -> int | None:
        return live_id(self.conn, workspace_id, customer_id)

    def customer_360(self, workspace_id: int, customer_id: int, timeline_limit: int = 200) -> dict[str, Any] | None:
        return customer_360(self.conn, workspace_id, customer_id, timeline_limit)
