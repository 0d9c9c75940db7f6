"""Batch job: suggest merges for customers who look alike but share no strong identifier.

Reads the live customers of one workspace, scores look-alike pairs with the Splink model in
liuyu.matching, and keeps one ``merge_suggestions`` row per pair for an operator to accept or
reject. It never merges anything. Running it again refreshes the pending suggestions and leaves
the decided ones (accepted, rejected) as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from liuyu.matching.customers import CustomerRecord, customer_model, platform_of_kind, prepare_customers
from liuyu.matching.probabilistic import ScoredPair, score_pairs
from liuyu.storage import tables as t
from liuyu.storage.ingest_store import chunks

MODEL_NAME = "liuyu.customers.v1"


def suggest_merges(engine: Engine, workspace_id: int, *, threshold: float = 0.9) -> int:
    """Score look-alike customers and store pairs at or above ``threshold`` as pending suggestions.

    Returns how many pending suggestions this run produced (new or refreshed). Pending rows
    that the model no longer proposes are removed; accepted and rejected rows are never touched.
    """
    with engine.connect() as conn:
        customers = load_live_customers(conn, workspace_id)
    pairs: list[ScoredPair] = []
    if len(customers) >= 2:
        pairs = score_pairs(prepare_customers(customers.values()), customer_model(), threshold=threshold)
    with engine.begin() as conn:
        return save_suggestions(conn, workspace_id, pairs, customers)


def load_live_customers(conn: Connection, workspace_id: int) -> dict[int, CustomerRecord]:
    """Live customers (not merged away, not erased) with their phones and platforms, by id."""
    c = t.customers
    live = (c.c.workspace_id == workspace_id) & c.c.merged_into.is_(None) & c.c.erased_at.is_(None)
    rows = conn.execute(select(c.c.id, c.c.name, c.c.province, c.c.city, c.c.address, c.c.birthday).where(live))
    customers = {
        row.id: CustomerRecord(
            customer_id=row.id,
            name=row.name,
            province=row.province,
            city=row.city,
            address=row.address,
            birthday=row.birthday,
        )
        for row in rows
    }
    for table in (t.identifiers, t.masked_identifiers):
        query = select(table.c.customer_id, table.c.kind, table.c.value).where(table.c.workspace_id == workspace_id)
        for customer_id, kind, value in conn.execute(query):
            record = customers.get(customer_id)
            if record is None:
                continue
            if kind == "phone":
                record.phones.append(value)
            platform = platform_of_kind(kind)
            if platform:
                record.platforms.add(platform)
    return customers


def evidence_of(pair: ScoredPair, a: CustomerRecord, b: CustomerRecord) -> dict[str, Any]:
    """Why two customers look alike: the level each field reached and the weight it added.

    No personal data is copied here (the review screen shows both customers side by side), so
    erasing a customer needs nothing from this table.
    """
    return {
        "model": MODEL_NAME,
        "match_weight": round(pair.match_weight, 3),
        "fields": {
            name: {"level": level, "weight": pair.weights.get(name, 0.0)} for name, level in pair.levels.items()
        },
        "platforms": {"a": sorted(a.platforms), "b": sorted(b.platforms)},
    }


def save_suggestions(
    conn: Connection,
    workspace_id: int,
    pairs: Sequence[ScoredPair],
    customers: Mapping[int, CustomerRecord],
    *,
    now: datetime | None = None,
) -> int:
    """Upsert pending suggestions set-wise: one read, one insert, one update, one delete."""
    now = now or datetime.now(UTC)
    s = t.merge_suggestions
    existing = {
        (row.customer_a, row.customer_b): (row.id, row.status)
        for row in conn.execute(
            select(s.c.id, s.c.customer_a, s.c.customer_b, s.c.status).where(s.c.workspace_id == workspace_id)
        )
    }
    fresh = _rows_by_pair(pairs, customers)
    inserts = [
        {"workspace_id": workspace_id, "customer_a": a, "customer_b": b, "status": "pending", "created_at": now, **row}
        for (a, b), row in fresh.items()
        if (a, b) not in existing
    ]
    refreshes = [
        {"row_id": existing[key][0], "new_probability": row["probability"], "new_evidence": row["evidence"]}
        for key, row in fresh.items()
        if key in existing and existing[key][1] == "pending"
    ]
    stale = [row_id for key, (row_id, status) in existing.items() if status == "pending" and key not in fresh]
    if inserts:
        conn.execute(s.insert(), inserts)
    if refreshes:
        conn.execute(
            update(s)
            .where(s.c.id == bindparam("row_id"))
            .values(
                probability=bindparam("new_probability"),
                evidence=bindparam("new_evidence", type_=s.c.evidence.type),
            ),
            refreshes,
        )
    for chunk in chunks(stale, 1000):
        conn.execute(delete(s).where(s.c.id.in_(chunk)))
    return len(inserts) + len(refreshes)


def _rows_by_pair(
    pairs: Iterable[ScoredPair], customers: Mapping[int, CustomerRecord]
) -> dict[tuple[int, int], dict[str, Any]]:
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for pair in pairs:
        a, b = sorted((int(pair.left), int(pair.right)))
        rows[(a, b)] = {
            "probability": round(pair.probability, 6),
            "evidence": evidence_of(pair, customers[a], customers[b]),
        }
    return rows
