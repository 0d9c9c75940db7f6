"""Saved segments, their stored memberships and customer tags, on one connection."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    and_,
    any_,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from liuyu.domain.engagement.segment import Node, from_json
from liuyu.domain.errors import Conflict, NotFound
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import from_fen
from liuyu.storage import tables as t
from liuyu.storage.engagement_tables import (
    customer_scores,
    lifecycle_moves,
    saved_segments,
    segment_changes,
    segment_members,
)
from liuyu.storage.segments import compile_segment

ID_CHUNK = 5_000  # customer ids per IN list, well under every driver's parameter limit

SEGMENT_COLUMNS = (
    "id",
    "name",
    "expression",
    "expression_json",
    "tag",
    "created_by",
    "created_at",
    "updated_at",
    "member_count",
    "refreshed_at",
)


class SqlEngagement:
    """Segments and tags of every workspace; each method takes the workspace and filters on it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- saved segments ---------------------------------------------------------------------

    def add_segment(self, workspace_id: int, row: dict[str, Any]) -> int:
        if self._segment_named(workspace_id, row["name"]) is not None:
            raise Conflict(f"a segment named {row['name']!r} exists already")
        result = self.conn.execute(insert(saved_segments).values(workspace_id=workspace_id, member_count=0, **row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def update_segment(self, workspace_id: int, segment_id: int, changes: dict[str, Any]) -> None:
        self.segment(workspace_id, segment_id)
        if "name" in changes:
            other = self._segment_named(workspace_id, changes["name"])
            if other is not None and other != segment_id:
                raise Conflict(f"a segment named {changes['name']!r} exists already")
        self.conn.execute(
            update(saved_segments)
            .where(saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment_id)
            .values(**changes)
        )

    def delete_segment(self, workspace_id: int, segment_id: int) -> None:
        self.segment(workspace_id, segment_id)
        self.sync_rule_tags(workspace_id, segment_id, None, datetime.now(UTC))
        for table in (segment_members, segment_changes):
            self.conn.execute(
                delete(table).where(table.c.workspace_id == workspace_id, table.c.segment_id == segment_id)
            )
        self.conn.execute(
            delete(saved_segments).where(
                saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment_id
            )
        )

    def segment(self, workspace_id: int, segment_id: int) -> dict[str, Any]:
        row = (
            self.conn.execute(
                select(*(saved_segments.c[name] for name in SEGMENT_COLUMNS)).where(
                    saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no segment {segment_id} in this workspace")
        return dict(row)

    def segments(self, workspace_id: int) -> list[dict[str, Any]]:
        query = (
            select(*(saved_segments.c[name] for name in SEGMENT_COLUMNS))
            .where(saved_segments.c.workspace_id == workspace_id)
            .order_by(saved_segments.c.name)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def _segment_named(self, workspace_id: int, name: str) -> int | None:
        return self.conn.execute(
            select(saved_segments.c.id).where(
                saved_segments.c.workspace_id == workspace_id, saved_segments.c.name == name
            )
        ).scalar()

    # -- memberships ------------------------------------------------------------------------

    def refresh_members(self, workspace_id: int, segment_id: int, tree: Node, now: datetime) -> tuple[int, int]:
        """Make the stored members equal the live ones, set-wise; records and returns (entered, exited)."""
        entered, exited = self._reconcile(workspace_id, segment_id, tree, now, only=None)
        mine = and_(segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id)
        total = self.conn.execute(select(func.count()).select_from(segment_members).where(mine)).scalar_one()
        self.update_segment(workspace_id, segment_id, {"member_count": total, "refreshed_at": now})
        return entered, exited

    def update_members_of(self, workspace_id: int, customer_ids: Collection[int], now: datetime) -> int:
        """Re-check only these customers against every saved segment (as events arrive); returns the changes."""
        ids = sorted(customer_ids)
        changes = 0
        for segment in self.segments(workspace_id):
            tree = from_json(segment["expression_json"])
            for start in range(0, len(ids), ID_CHUNK):
                entered, exited = self._recheck(workspace_id, segment["id"], tree, now, ids[start : start + ID_CHUNK])
                if entered or exited:
                    self.conn.execute(
                        update(saved_segments)
                        .where(saved_segments.c.workspace_id == workspace_id, saved_segments.c.id == segment["id"])
                        .values(member_count=saved_segments.c.member_count + entered - exited)
                    )
                changes += entered + exited
        return changes

    def _recheck(
        self, workspace_id: int, segment_id: int, tree: Node, now: datetime, ids: Sequence[int]
    ) -> tuple[int, int]:
        """Stored members := live members among ``ids``, recording entries and exits.

        For a batch's few customers two reads and a diff in Python beat the set-wise
        ``_reconcile``, whose counts and INSERT … SELECTs each run the segment's query again.
        """
        query = compile_segment(tree, workspace_id, now, correlated=True).where(self._among(t.customers.c.id, ids))
        live = set(self.conn.execute(query).scalars())
        mine = and_(
            segment_members.c.workspace_id == workspace_id,
            segment_members.c.segment_id == segment_id,
            self._among(segment_members.c.customer_id, ids),
        )
        stored = set(self.conn.execute(select(segment_members.c.customer_id).where(mine)).scalars())
        entered, exited = sorted(live - stored), sorted(stored - live)
        changes = [("exited", cid) for cid in exited] + [("entered", cid) for cid in entered]
        if changes:
            self.conn.execute(
                insert(segment_changes),
                [
                    {
                        "workspace_id": workspace_id,
                        "segment_id": segment_id,
                        "customer_id": cid,
                        "change": kind,
                        "at": now,
                    }
                    for kind, cid in changes
                ],
            )
        if exited:
            self.conn.execute(
                delete(segment_members).where(
                    segment_members.c.workspace_id == workspace_id,
                    segment_members.c.segment_id == segment_id,
                    self._among(segment_members.c.customer_id, exited),
                )
            )
        if entered:
            self.conn.execute(
                insert(segment_members),
                [
                    {"workspace_id": workspace_id, "segment_id": segment_id, "customer_id": cid, "entered_at": now}
                    for cid in entered
                ],
            )
        return len(entered), len(exited)

    def _among(self, column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
        """``column IN ids`` with one parameter instead of one per id (``= ANY(array)`` on PostgreSQL,
        ``json_each`` on SQLite): a thousand parameters cost more to render and parse than the
        query took to run."""
        if self.conn.dialect.name == "postgresql":
            return column == any_(cast(literal(list(ids), ARRAY(BigInteger)), ARRAY(BigInteger)))
        each = func.json_each(literal(json.dumps(list(ids)))).table_valued("value")
        return column.in_(select(each.c.value))

    def _reconcile(
        self, workspace_id: int, segment_id: int, tree: Node, now: datetime, only: Sequence[int] | None
    ) -> tuple[int, int]:
        """Stored members := live members (of ``only`` when given), recording entries and exits."""
        query = compile_segment(tree, workspace_id, now)
        mine = and_(segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id)
        if only is not None:
            query = query.where(t.customers.c.id.in_(only))
            mine = and_(mine, segment_members.c.customer_id.in_(only))
        live = query.subquery()
        leaving = and_(mine, segment_members.c.customer_id.not_in(select(live.c.id)))
        entering = live.c.id.not_in(select(segment_members.c.customer_id).where(mine))
        ws, seg, at = literal(workspace_id), literal(segment_id), literal(now, t.UTCDateTime())
        # rowcount of INSERT … SELECT is not reported by every driver, so count first.
        exited = self.conn.execute(select(func.count()).select_from(segment_members).where(leaving)).scalar_one()
        entered = self.conn.execute(select(func.count()).select_from(live).where(entering)).scalar_one()
        change_columns = ["workspace_id", "segment_id", "customer_id", "change", "at"]
        if exited:
            self.conn.execute(
                insert(segment_changes).from_select(
                    change_columns, select(ws, seg, segment_members.c.customer_id, literal("exited"), at).where(leaving)
                )
            )
            self.conn.execute(delete(segment_members).where(leaving))
        if entered:
            self.conn.execute(
                insert(segment_changes).from_select(
                    change_columns, select(ws, seg, live.c.id, literal("entered"), at).where(entering)
                )
            )
            self.conn.execute(
                insert(segment_members).from_select(
                    ["workspace_id", "segment_id", "customer_id", "entered_at"],
                    select(ws, seg, live.c.id, at).where(entering),
                )
            )
        return int(entered), int(exited)

    def clear_members(self, workspace_id: int) -> None:
        """Forget memberships and their history (before a rebuild, which may renumber customers)."""
        for table in (segment_members, segment_changes):
            self.conn.execute(delete(table).where(table.c.workspace_id == workspace_id))
        self.conn.execute(
            update(saved_segments).where(saved_segments.c.workspace_id == workspace_id).values(member_count=0)
        )

    def members(self, workspace_id: int, segment_id: int, after: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Stored members in id order after ``after`` (keyset paging), with what a list shows."""
        c, tr = t.customers, t.customer_traits
        query = (
            select(
                c.c.id,
                c.c.name,
                c.c.province,
                c.c.city,
                func.coalesce(tr.c.order_count, 0).label("order_count"),
                func.coalesce(tr.c.total_spent_fen, 0).label("total_spent_fen"),
                tr.c.last_order_at,
                segment_members.c.entered_at,
            )
            .select_from(
                segment_members.join(
                    c, and_(c.c.id == segment_members.c.customer_id, c.c.workspace_id == workspace_id)
                ).outerjoin(tr, tr.c.customer_id == c.c.id)
            )
            .where(
                segment_members.c.workspace_id == workspace_id,
                segment_members.c.segment_id == segment_id,
                segment_members.c.customer_id > after,
            )
            .order_by(c.c.id)
            .limit(limit)
        )
        rows = self.conn.execute(query).mappings().all()
        return [
            {
                **{k: v for k, v in row.items() if k != "total_spent_fen"},
                "total_spent": from_fen(row["total_spent_fen"]),
            }
            for row in rows
        ]

    def changes(self, workspace_id: int, segment_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """The latest entries and exits, newest first."""
        query = (
            select(segment_changes.c.customer_id, segment_changes.c.change, segment_changes.c.at)
            .where(segment_changes.c.workspace_id == workspace_id, segment_changes.c.segment_id == segment_id)
            .order_by(segment_changes.c.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def customer_exists(self, workspace_id: int, customer_id: int) -> bool:
        found = self.conn.execute(
            select(t.customers.c.id).where(t.customers.c.workspace_id == workspace_id, t.customers.c.id == customer_id)
        ).first()
        return found is not None

    def customers_of(self, workspace_id: int, customer_ids: Sequence[int]) -> set[int]:
        """Which of these ids are customers of the workspace."""
        c = t.customers
        query = select(c.c.id).where(c.c.workspace_id == workspace_id, c.c.id.in_(list(customer_ids)))
        return set(self.conn.execute(query).scalars())

    def is_member(self, workspace_id: int, segment_id: int, customer_id: int) -> bool:
        query = select(segment_members.c.customer_id).where(
            segment_members.c.workspace_id == workspace_id,
            segment_members.c.segment_id == segment_id,
            segment_members.c.customer_id == customer_id,
        )
        return self.conn.execute(query).first() is not None

    def member_ids(self, workspace_id: int, segment_id: int) -> Sequence[int]:
        query = select(segment_members.c.customer_id).where(
            segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id
        )
        return list(self.conn.execute(query.order_by(segment_members.c.customer_id)).scalars())

    # -- tags ---------------------------------------------------------------------------------

    def tags_of(self, workspace_id: int, customer_id: int) -> list[dict[str, Any]]:
        ct = t.customer_tags
        query = (
            select(ct.c.tag, ct.c.source, ct.c.reason, ct.c.at)
            .where(ct.c.workspace_id == workspace_id, ct.c.customer_id == customer_id)
            .order_by(ct.c.tag)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def put_tags(self, workspace_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Set tags (``customer_id``, ``tag``, ``source``, ``reason``, ``at``); a tag set again takes the new source.

        One upsert on the primary key: a delete by tag and customer list let PostgreSQL pick the
        ``(workspace_id, tag)`` index on a freshly grown table and read every holder of the tag.
        """
        if not rows:
            return
        ct = t.customer_tags
        upsert = postgresql.insert(ct) if self.conn.dialect.name == "postgresql" else sqlite.insert(ct)
        statement = upsert.on_conflict_do_update(
            index_elements=[ct.c.workspace_id, ct.c.customer_id, ct.c.tag],
            set_={name: upsert.excluded[name] for name in ("source", "reason", "at")},
        )
        self.conn.execute(statement, [{"workspace_id": workspace_id, **row} for row in rows])

    def remove_tag(self, workspace_id: int, customer_id: int, tag: str) -> dict[str, Any] | None:
        """Remove a tag; returns what was removed (None when the customer did not have it)."""
        ct = t.customer_tags
        mine = and_(ct.c.workspace_id == workspace_id, ct.c.customer_id == customer_id, ct.c.tag == tag)
        row = self.conn.execute(select(ct.c.tag, ct.c.source, ct.c.reason, ct.c.at).where(mine)).mappings().first()
        if row is not None:
            self.conn.execute(delete(ct).where(mine))
        return None if row is None else dict(row)

    def tag_counts(self, workspace_id: int) -> list[dict[str, Any]]:
        """Every tag of the workspace with how many live customers carry it, per source."""
        ct, c = t.customer_tags, t.customers
        query = (
            select(ct.c.tag, ct.c.source, func.count().label("customers"))
            .select_from(ct.join(c, and_(c.c.id == ct.c.customer_id, c.c.workspace_id == ct.c.workspace_id)))
            .where(ct.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None))
            .group_by(ct.c.tag, ct.c.source)
            .order_by(ct.c.tag, ct.c.source)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def sync_rule_tags(self, workspace_id: int, segment_id: int, tag: str | None, now: datetime) -> tuple[int, int]:
        """Give the segment's members its tag and take it from those who left, set-wise; (added, removed).

        Rule tags say which segment gave them (reason ``segment:<id>``); a tag set by hand or by
        another rule is never taken away here.
        """
        ct = t.customer_tags
        reason = rule_reason(segment_id)
        members = select(segment_members.c.customer_id).where(
            segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id
        )
        given = and_(ct.c.workspace_id == workspace_id, ct.c.source == "rule", ct.c.reason == reason)
        stale = and_(given, ct.c.tag != tag) if tag else given
        if tag:
            stale = or_(stale, and_(given, ct.c.customer_id.not_in(members)))
        removed = self.conn.execute(select(func.count()).select_from(ct).where(stale)).scalar_one()
        self.conn.execute(delete(ct).where(stale))
        if not tag:
            return 0, int(removed)
        has_it = select(ct.c.customer_id).where(ct.c.workspace_id == workspace_id, ct.c.tag == tag)
        missing = and_(
            segment_members.c.workspace_id == workspace_id,
            segment_members.c.segment_id == segment_id,
            segment_members.c.customer_id.not_in(has_it),
        )
        added = self.conn.execute(select(func.count()).select_from(segment_members).where(missing)).scalar_one()
        constants = (
            literal(workspace_id),
            literal(tag),
            literal("rule"),
            literal(reason),
            literal(now, t.UTCDateTime()),
        )
        ws, tag_value, source, why, at = constants
        self.conn.execute(
            insert(ct).from_select(
                ["workspace_id", "customer_id", "tag", "source", "reason", "at"],
                select(ws, segment_members.c.customer_id, tag_value, source, why, at).where(missing),
            )
        )
        return int(added), int(removed)

    # -- computed scores (liuyu traits refresh) ---------------------------------------------

    def buyers_and_orders(self, workspace_id: int) -> tuple[list[dict[str, Any]], list[tuple[int, datetime, int]]]:
        """Live customers (id, first_seen) and their paid orders as (customer_id, paid time, net fen)."""
        c, o = t.customers, t.orders
        live = and_(c.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None))
        people = [dict(row) for row in self.conn.execute(select(c.c.id, c.c.first_seen).where(live)).mappings()]
        paid_at = func.coalesce(o.c.paid_at, o.c.placed_at)
        query = (
            select(o.c.customer_id, paid_at, o.c.paid_fen - o.c.refunded_fen)
            .join(c, and_(c.c.id == o.c.customer_id, live))
            .where(o.c.workspace_id == workspace_id, o.c.paid_fen.is_not(None), paid_at.is_not(None))
        )
        orders = [(int(cid), at, int(fen)) for cid, at, fen in self.conn.execute(query)]
        return people, orders

    def activity_by_hour(self, workspace_id: int) -> list[tuple[int, int, int]]:
        """(customer_id, UTC hour 0–23, events) for every customer with events: for preferred hours."""
        e = t.events
        hour = func.extract("hour", e.c.occurred_at)
        query = (
            select(e.c.customer_id, hour, func.count())
            .where(e.c.workspace_id == workspace_id, e.c.customer_id.is_not(None))
            .group_by(e.c.customer_id, hour)
        )
        return [(int(cid), int(h), int(n)) for cid, h, n in self.conn.execute(query)]

    def replace_scores(self, workspace_id: int, rows: Sequence[dict[str, Any]], batch: int = 10_000) -> None:
        """Swap the workspace's scores for these, inside the caller's transaction."""
        self.conn.execute(delete(customer_scores).where(customer_scores.c.workspace_id == workspace_id))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            self.conn.execute(insert(customer_scores), [{"workspace_id": workspace_id, **row} for row in chunk])

    def lifecycle_stages(self, workspace_id: int) -> dict[int, str]:
        """Each scored customer's stage as of the last scoring run."""
        sc = customer_scores
        query = select(sc.c.customer_id, sc.c.lifecycle).where(sc.c.workspace_id == workspace_id)
        return {int(cid): str(stage) for cid, stage in self.conn.execute(query)}

    def record_lifecycle_moves(self, workspace_id: int, at: datetime, moves: dict[tuple[str | None, str], int]) -> None:
        """How many customers went from each stage to each stage in one scoring run."""
        rows = [
            {"workspace_id": workspace_id, "computed_at": at, "from_stage": a, "to_stage": b, "customers": n}
            for (a, b), n in moves.items()
        ]
        if rows:
            self.conn.execute(insert(lifecycle_moves), rows)

    def latest_lifecycle_moves(self, workspace_id: int) -> list[tuple[str | None, str, int]]:
        """The moves of the latest scoring run as (from stage, to stage, customers)."""
        lm = lifecycle_moves
        latest = select(func.max(lm.c.computed_at)).where(lm.c.workspace_id == workspace_id).scalar_subquery()
        query = select(lm.c.from_stage, lm.c.to_stage, lm.c.customers).where(
            lm.c.workspace_id == workspace_id, lm.c.computed_at == latest
        )
        return [(a, str(b), int(n)) for a, b, n in self.conn.execute(query)]

    def scores_of(self, workspace_id: int, customer_id: int) -> dict[str, Any] | None:
        sc = customer_scores
        query = select(sc).where(sc.c.workspace_id == workspace_id, sc.c.customer_id == customer_id)
        row = self.conn.execute(query).mappings().first()
        return None if row is None else {k: v for k, v in row.items() if k != "workspace_id"}

    # -- dashboard reads ----------------------------------------------------------------------

    def dashboard_counts(self, workspace_id: int) -> dict[str, Any]:
        """Buyers, repeat buyers, the R×F grid, stage counts and when scores were computed."""
        c, tr, sc = t.customers, t.customer_traits, customer_scores
        live = and_(c.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None))
        buyers_query = (
            select(
                func.count().filter(tr.c.order_count >= 1),
                func.count().filter(tr.c.order_count >= 2),
            )
            .select_from(c.join(tr, tr.c.customer_id == c.c.id))
            .where(live)
        )
        buyers, repeat = self.conn.execute(buyers_query).one()
        scored = c.join(sc, and_(sc.c.customer_id == c.c.id, sc.c.workspace_id == c.c.workspace_id))
        grid_query = (
            select(sc.c.rfm_r, sc.c.rfm_f, func.count())
            .select_from(scored)
            .where(live, sc.c.rfm_r.is_not(None))
            .group_by(sc.c.rfm_r, sc.c.rfm_f)
        )
        stage_query = select(sc.c.lifecycle, func.count()).select_from(scored).where(live).group_by(sc.c.lifecycle)
        when = select(func.max(sc.c.computed_at)).where(sc.c.workspace_id == workspace_id)
        return {
            "buyers": int(buyers or 0),
            "repeat_buyers": int(repeat or 0),
            "grid": {(int(r), int(f)): int(n) for r, f, n in self.conn.execute(grid_query)},
            "stages": {str(stage): int(n) for stage, n in self.conn.execute(stage_query)},
            "scored_at": self.conn.execute(when).scalar(),
        }

    def revenue_per_buyer(self, workspace_id: int) -> list[int]:
        """Net spend in fen of every live customer who bought: the input of the 20/80 curve."""
        c, tr = t.customers, t.customer_traits
        query = (
            select(tr.c.total_spent_fen)
            .select_from(c.join(tr, tr.c.customer_id == c.c.id))
            .where(
                c.c.workspace_id == workspace_id,
                c.c.merged_into.is_(None),
                c.c.erased_at.is_(None),
                tr.c.order_count >= 1,
            )
        )
        return [int(v) for v in self.conn.execute(query).scalars()]


class SegmentMembership:
    """Keeps saved segments' members current as events arrive (a Projection, see services.ports).

    Only the customers a batch touched are re-checked, set-wise per segment. Rule tags and
    customers whose day counts cross a threshold without any event wait for the scheduled
    ``liuyu segments refresh``.
    """

    def __init__(self, conn: Connection) -> None:
        self.store = SqlEngagement(conn)

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Event, int | None]]) -> None:
        touched = {customer_id for _, _, customer_id in rows if customer_id is not None}
        if touched:
            self.store.update_members_of(workspace_id, touched, datetime.now(UTC))

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        both = {customer_id for pair in merges for customer_id in pair}  # losers leave, winners may enter
        if both:
            self.store.update_members_of(workspace_id, both, datetime.now(UTC))

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        if customer_ids:
            self.store.update_members_of(workspace_id, customer_ids, datetime.now(UTC))

    def clear(self, workspace_id: int) -> None:
        self.store.clear_members(workspace_id)


def rule_reason(segment_id: int) -> str:
    """The reason a rule tag carries: which saved segment gave it."""
    return f"segment:{segment_id}"
