"""Journeys on the database: definitions, enrollments, the step log, and the trigger hook at ingest.

Due enrollments are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL and handled in
the claiming transaction, so two workers never take the same step and a crash undoes a whole pass
(messages go to the outbox in the same transaction). SQLite has one writer and needs no claim.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, text, update

from liuyu.domain.engagement.segment import Node
from liuyu.domain.errors import Conflict, NotFound
from liuyu.domain.eventlog import Event
from liuyu.storage import tables as t
from liuyu.storage.ingest_store import chunks
from liuyu.storage.journey_queries import JourneyReads, JourneyTriggerQueries
from liuyu.storage.journey_tables import (
    journey_enrollments,
    journey_log_marks,
    journey_steps,
    journey_versions,
    journeys,
)
from liuyu.storage.playbook_queries import MEMBER_TRAITS, PlaybookQueries
from liuyu.storage.segments import compile_segment

en, js = journey_enrollments, journey_steps

# One statement for a whole pass, whatever its size (PostgreSQL): arrays in, rows out.
_PG_PROGRESS = text(
    "UPDATE journey_enrollments AS e SET state = p.state, step_key = p.step_key, next_run_at = p.next_run_at,"
    " waiting_until = p.waiting_until, finished_at = p.finished_at"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:steps AS text[]),"
    " CAST(:nexts AS timestamptz[]), CAST(:waits AS timestamptz[]), CAST(:dones AS timestamptz[]))"
    " AS p(id, state, step_key, next_run_at, waiting_until, finished_at)"
    " WHERE e.id = p.id AND e.id = ANY(CAST(:ids AS bigint[]))"  # lets the planner use the key, not scan the table
)
_PG_LOG = text(
    "INSERT INTO journey_steps (workspace_id, journey_id, enrollment_id, customer_id, step_key, outcome, detail, at)"
    " SELECT w, j, e, c, k, o, CAST(d AS jsonb), a FROM unnest(CAST(:workspace_id AS bigint[]),"
    " CAST(:journey_id AS bigint[]), CAST(:enrollment_id AS bigint[]), CAST(:customer_id AS bigint[]),"
    " CAST(:step_key AS text[]), CAST(:outcome AS text[]), CAST(:detail AS text[]), CAST(:at AS timestamptz[]))"
    " AS l(w, j, e, c, k, o, d, a)"
)
_PG_LOG_AT = text(
    "INSERT INTO journey_steps (workspace_id, journey_id, enrollment_id, customer_id, step_key, outcome, detail, at)"
    " SELECT w, j, e, c, k, o, CAST(d AS jsonb), CAST(:at AS timestamptz) FROM unnest(CAST(:workspace_id AS bigint[]),"
    " CAST(:journey_id AS bigint[]), CAST(:enrollment_id AS bigint[]), CAST(:customer_id AS bigint[]),"
    " CAST(:step_key AS text[]), CAST(:outcome AS text[]), CAST(:detail AS text[])) AS l(w, j, e, c, k, o, d)"
)
LIVE_STATES = ("active", "holdout", "completed")  # may still reach the goal
JOURNEY_COLUMNS = (
    "id",
    "name",
    "status",
    "version",
    "trigger_kind",
    "trigger_name",
    "created_by",
    "created_at",
    "updated_at",
)


class SqlJourneys(PlaybookQueries, JourneyTriggerQueries, JourneyReads):
    """Journeys of every workspace; methods take the workspace and filter on it (the worker's claim
    spans workspaces and returns each row's)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def date_matches(
        self, workspace_id: int, trait: str, target: date, timezone: str, audience: Node | None, now: datetime
    ) -> list[int]:
        """Customers whose date trait falls on ``target``; member-center traits read the member center."""
        if trait in MEMBER_TRAITS:
            return self.member_date_matches(workspace_id, trait, target, timezone, audience, now)
        return super().date_matches(workspace_id, trait, target, timezone, audience, now)

    # -- definitions --------------------------------------------------------------------------

    def journey_named(self, workspace_id: int, name: str) -> dict[str, Any] | None:
        query = select(*(journeys.c[n] for n in JOURNEY_COLUMNS)).where(
            journeys.c.workspace_id == workspace_id, journeys.c.name == name
        )
        row = self.conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def journey(self, workspace_id: int, journey_id: int) -> dict[str, Any]:
        query = select(*(journeys.c[n] for n in JOURNEY_COLUMNS)).where(
            journeys.c.workspace_id == workspace_id, journeys.c.id == journey_id
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no journey {journey_id} in this workspace")
        return dict(row)

    def journeys(self, workspace_id: int) -> list[dict[str, Any]]:
        query = (
            select(*(journeys.c[n] for n in JOURNEY_COLUMNS))
            .where(journeys.c.workspace_id == workspace_id)
            .order_by(journeys.c.name)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def add_journey(self, workspace_id: int, row: dict[str, Any]) -> int:
        if self.journey_named(workspace_id, row["name"]) is not None:
            raise Conflict(f"a journey named {row['name']!r} exists already")
        cursor = self.newest_segment_change() if row["trigger_kind"] == "segment" else 0
        result = self.conn.execute(insert(journeys).values(workspace_id=workspace_id, segment_cursor=cursor, **row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def update_journey(self, workspace_id: int, journey_id: int, changes: dict[str, Any]) -> None:
        before = self.journey(workspace_id, journey_id)
        if changes.get("trigger_kind") == "segment" and (
            before["trigger_kind"] != "segment" or before["trigger_name"] != changes.get("trigger_name")
        ):
            changes = {**changes, "segment_cursor": self.newest_segment_change()}  # entries from now on only
        self.conn.execute(
            update(journeys)
            .where(journeys.c.workspace_id == workspace_id, journeys.c.id == journey_id)
            .values(**changes)
        )

    def add_version(self, workspace_id: int, row: dict[str, Any]) -> None:
        self.conn.execute(insert(journey_versions).values(workspace_id=workspace_id, **row))

    def versions(self, workspace_id: int, journey_id: int) -> list[dict[str, Any]]:
        v = journey_versions
        query = (
            select(v.c.version, v.c.created_by, v.c.created_at)
            .where(v.c.workspace_id == workspace_id, v.c.journey_id == journey_id)
            .order_by(v.c.version)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def definition(self, journey_id: int, version: int) -> dict[str, Any]:
        v = journey_versions
        query = select(v.c.definition, v.c.source).where(v.c.journey_id == journey_id, v.c.version == version)
        row = self.conn.execute(query).mappings().one()
        return dict(row)

    def live_journeys(
        self, workspace_id: int, kinds: Collection[str] = (), statuses: Collection[str] = ("active",)
    ) -> list[dict[str, Any]]:
        """Journeys in these states (and with these trigger kinds, when given), with their current definition."""
        v = journey_versions
        query = (
            select(
                journeys.c.id,
                journeys.c.version,
                journeys.c.status,
                journeys.c.trigger_kind,
                journeys.c.trigger_name,
                journeys.c.segment_cursor,
                v.c.definition,
            )
            .join(v, and_(v.c.journey_id == journeys.c.id, v.c.version == journeys.c.version))
            .where(journeys.c.workspace_id == workspace_id, journeys.c.status.in_(list(statuses)))
            .order_by(journeys.c.id)
        )
        if kinds:
            query = query.where(journeys.c.trigger_kind.in_(list(kinds)))
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def scheduled_journeys(self) -> list[dict[str, Any]]:
        """Active date and schedule journeys of every workspace (the daily trigger job)."""
        v = journey_versions
        query = (
            select(journeys.c.id, journeys.c.workspace_id, journeys.c.version, v.c.definition)
            .join(v, and_(v.c.journey_id == journeys.c.id, v.c.version == journeys.c.version))
            .where(journeys.c.status == "active", journeys.c.trigger_kind.in_(["date", "schedule"]))
            .order_by(journeys.c.id)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def segment_journey_workspaces(self) -> list[int]:
        query = select(journeys.c.workspace_id).where(
            journeys.c.status == "active", journeys.c.trigger_kind == "segment"
        )
        return sorted(set(self.conn.execute(query.distinct()).scalars()))

    # -- where the trigger hook is in the log --------------------------------------------------

    def last_seq(self, workspace_id: int) -> int:
        query = select(journey_log_marks.c.last_seq).where(journey_log_marks.c.workspace_id == workspace_id)
        return int(self.conn.execute(query).scalar() or 0)

    def set_last_seq(self, workspace_id: int, seq: int) -> None:
        mark = journey_log_marks
        done = self.conn.execute(
            update(mark).where(mark.c.workspace_id == workspace_id, mark.c.last_seq < seq).values(last_seq=seq)
        )
        if done.rowcount == 0 and self.last_seq(workspace_id) == 0:
            self.conn.execute(insert(mark).values(workspace_id=workspace_id, last_seq=seq))

    def log_end(self, workspace_id: int) -> int:
        """The newest event's log position in the workspace (entries after it count for a goal)."""
        query = select(func.max(t.events.c.seq)).where(t.events.c.workspace_id == workspace_id)
        return int(self.conn.execute(query).scalar() or 0)

    def lock_workspace(self, workspace_id: int) -> None:
        from liuyu.storage.ingest_store import SqlIngestStore

        SqlIngestStore(self.conn).lock_workspace(workspace_id)

    # -- who may enter ------------------------------------------------------------------------

    def histories(
        self, workspace_id: int, journey_id: int, customer_ids: Collection[int]
    ) -> dict[int, list[tuple[datetime, bool, str]]]:
        """Each customer's past entries: (entered at, still running, entry key)."""
        found: dict[int, list[tuple[datetime, bool, str]]] = {}
        for part in chunks(sorted(customer_ids), 5000):
            query = select(en.c.customer_id, en.c.entered_at, en.c.state, en.c.entry_key).where(
                en.c.workspace_id == workspace_id, en.c.journey_id == journey_id, en.c.customer_id.in_(part)
            )
            for cid, at, state, key in self.conn.execute(query):
                found.setdefault(int(cid), []).append((at, state in ("active", "holdout"), key))
        return found

    def check_condition(self, workspace_id: int, tree: Node) -> None:
        """Compile a condition without running it: unknown names raise InvalidInput."""
        compile_segment(tree, workspace_id, datetime.now(UTC))

    def in_audience(self, workspace_id: int, tree: Node, customer_ids: Collection[int], now: datetime) -> set[int]:
        """Which of these customers match a segment-language condition now (live, set-wise)."""
        matched: set[int] = set()
        for part in chunks(sorted(customer_ids), 5000):
            query = compile_segment(tree, workspace_id, now).where(t.customers.c.id.in_(part))
            matched.update(int(cid) for cid in self.conn.execute(query).scalars())
        return matched

    def live_customers(self, workspace_id: int, customer_ids: Collection[int]) -> set[int]:
        c = t.customers
        live: set[int] = set()
        for part in chunks(sorted(customer_ids), 5000):
            query = select(c.c.id).where(
                c.c.workspace_id == workspace_id, c.c.id.in_(part), c.c.merged_into.is_(None), c.c.erased_at.is_(None)
            )
            live.update(int(cid) for cid in self.conn.execute(query).scalars())
        return live

    def add_enrollments(self, workspace_id: int, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert enrollments; returns their ids in the order given."""
        if not rows:
            return []
        values = [{"workspace_id": workspace_id, **row} for row in rows]
        result = self.conn.execute(insert(en).returning(en.c.id, sort_by_parameter_order=True), values)
        return [int(i) for i in result.scalars()]

    # -- goals and merges ---------------------------------------------------------------------

    def open_goals(
        self, workspace_id: int, journey_ids: Collection[int], customer_ids: Collection[int], earliest: datetime
    ) -> list[dict[str, Any]]:
        """Enrollments of these customers that may still reach their goal at or after ``earliest``."""
        found: list[dict[str, Any]] = []
        for part in chunks(sorted(customer_ids), 5000):
            query = select(
                en.c.id,
                en.c.journey_id,
                en.c.customer_id,
                en.c.state,
                en.c.entered_at,
                en.c.entered_seq,
                en.c.goal_deadline,
            ).where(
                en.c.workspace_id == workspace_id,
                en.c.journey_id.in_(list(journey_ids)),
                en.c.customer_id.in_(part),
                en.c.converted_at.is_(None),
                en.c.state.in_(LIVE_STATES),
                en.c.goal_deadline >= earliest,
            )
            found.extend(dict(row) for row in self.conn.execute(query).mappings())
        return found

    def convert(self, changes: Sequence[dict[str, Any]]) -> None:
        """Record goals reached: ``id``, ``converted_at``, and ``exit`` when the enrollment was running."""
        if not changes:
            return
        self.conn.execute(
            update(en).where(en.c.id == bindparam("b_id")).values(converted_at=bindparam("b_at")),
            [{"b_id": c["id"], "b_at": c["converted_at"]} for c in changes],
        )
        running = [c for c in changes if c["exit"]]
        if running:
            self.conn.execute(
                update(en)
                .where(en.c.id == bindparam("b_id"))
                .values(state="converted", next_run_at=None, waiting_until=None, finished_at=bindparam("b_at")),
                [{"b_id": c["id"], "b_at": c["finished_at"]} for c in running],
            )

    def move_enrollments(self, workspace_id: int, loser: int, winner: int, now: datetime) -> list[dict[str, Any]]:
        """A merge: the loser's running enrollments go to the winner, unless the winner runs that journey
        too (then the loser's ends). Returns what was done, for the step log."""
        query = select(en.c.id, en.c.journey_id).where(
            en.c.workspace_id == workspace_id, en.c.customer_id == loser, en.c.state.in_(("active", "holdout"))
        )
        moved: list[dict[str, Any]] = []
        for enrollment_id, journey_id in self.conn.execute(query).all():
            clash = self.conn.execute(
                select(en.c.id).where(
                    en.c.workspace_id == workspace_id,
                    en.c.journey_id == journey_id,
                    en.c.customer_id == winner,
                    en.c.state.in_(("active", "holdout")),
                )
            ).first()
            if clash is None:
                self.conn.execute(update(en).where(en.c.id == enrollment_id).values(customer_id=winner))
                moved.append({"id": enrollment_id, "journey_id": journey_id, "outcome": "moved"})
            else:
                self.conn.execute(
                    update(en)
                    .where(en.c.id == enrollment_id)
                    .values(state="exited", next_run_at=None, waiting_until=None, finished_at=now)
                )
                moved.append({"id": enrollment_id, "journey_id": journey_id, "outcome": "exited"})
        return moved

    # -- the worker -----------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Active enrollments due by ``now`` in journeys that are not paused; PostgreSQL workers skip
        rows another worker holds. The rows stay locked until the caller's transaction ends."""
        paused = select(journeys.c.id).where(journeys.c.status != "active")
        query = (
            select(
                en.c.id,
                en.c.workspace_id,
                en.c.journey_id,
                en.c.version,
                en.c.customer_id,
                en.c.step_key,
                en.c.waiting_until,
                en.c.next_run_at,
            )
            .where(en.c.next_run_at <= now, en.c.state == "active", en.c.journey_id.not_in(paused))
            .order_by(en.c.next_run_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=en)
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def save_progress(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write where each handled enrollment is now: ``id`` with state, step, next run, wait and finish.

        PostgreSQL takes the whole pass in one ``UPDATE … FROM unnest(arrays)``; SQLite an executemany.
        """
        if not rows:
            return
        if self.dialect == "postgresql":
            self.conn.execute(
                _PG_PROGRESS,
                {
                    "ids": [r["id"] for r in rows],
                    "states": [r["state"] for r in rows],
                    "steps": [r["step_key"] for r in rows],
                    "nexts": [r["next_run_at"] for r in rows],
                    "waits": [r["waiting_until"] for r in rows],
                    "dones": [r["finished_at"] for r in rows],
                },
            )
            return
        statement = (
            update(en)
            .where(en.c.id == bindparam("b_id"))
            .values(
                state=bindparam("b_state"),
                step_key=bindparam("b_step"),
                next_run_at=bindparam("b_next"),
                waiting_until=bindparam("b_wait"),
                finished_at=bindparam("b_done"),
            )
        )
        params = [
            {
                "b_id": r["id"],
                "b_state": r["state"],
                "b_step": r["step_key"],
                "b_next": r["next_run_at"],
                "b_wait": r["waiting_until"],
                "b_done": r["finished_at"],
            }
            for r in rows
        ]
        self.conn.execute(statement, params)

    def log(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append to the step log: ``workspace_id, journey_id, enrollment_id, customer_id, step_key,
        outcome, detail, at`` (PostgreSQL: one ``INSERT … SELECT unnest(arrays)``)."""
        batch = list(rows)
        if not batch:
            return 0
        if self.dialect != "postgresql":
            self.conn.execute(insert(js), batch)
            return len(batch)
        columns = ("workspace_id", "journey_id", "enrollment_id", "customer_id", "step_key", "outcome")
        params: dict[str, Any] = {name: [r[name] for r in batch] for name in columns}
        params["detail"] = [json.dumps(r["detail"], ensure_ascii=False, default=str) for r in batch]
        times = {r["at"] for r in batch}
        if len(times) == 1:  # a pass logs everything at its one "now": send it once, not per row
            self.conn.execute(_PG_LOG_AT, {**params, "at": times.pop()})
        else:
            self.conn.execute(_PG_LOG, {**params, "at": [r["at"] for r in batch]})
        return len(batch)

    def savepoint(self) -> Any:
        return self.conn.begin_nested()


def _fresh(rows: Sequence[tuple[int, Event, int | None]], mark: int) -> bool:
    return any(seq > mark for seq, _, _ in rows)


class JourneyTriggers:
    """Starts journeys as events arrive and records goals reached (a Projection, see services.ports).

    Runs after the segment membership projection, so segment entries of the same batch are seen.
    A rebuild replays old events: they neither start journeys nor count as goals again.
    """

    def __init__(self, conn: Connection) -> None:
        self.store = SqlJourneys(conn)

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Event, int | None]]) -> None:
        from liuyu.services.journeys import handle_events, handle_segment_entries

        mark = self.store.last_seq(workspace_id)
        now = datetime.now(UTC)
        # One read of the live journeys serves both handlers (a batch's fixed cost is per statement).
        live = self.store.live_journeys(workspace_id, statuses=("active", "paused"))
        if rows and _fresh(rows, mark):
            fresh = [row for row in rows if row[0] > mark]
            handle_events(self.store, workspace_id, fresh, now, live)
            self.store.set_last_seq(workspace_id, max(seq for seq, _, _ in rows))
            handle_segment_entries(self.store, workspace_id, now, live=live)
        else:
            handle_segment_entries(self.store, workspace_id, now, replay=True, live=live)

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        from liuyu.services.journeys import handle_merges

        handle_merges(self.store, workspace_id, merges, datetime.now(UTC))

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        """An unmerge: enrollments stay with the customer they were on (journeys are not re-run)."""

    def clear(self, workspace_id: int) -> None:
        """A rebuild: enrollments and the step log are kept (they record what was sent)."""
