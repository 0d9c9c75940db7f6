"""Journey queries that are not about one enrollment: segment entries, date and schedule
occurrences, and the reads behind the flow view and the report. Mixed into ``SqlJourneys``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, insert, select, update

from liuyu.domain.engagement.journey import birthday_keys
from liuyu.domain.engagement.segment import Node
from liuyu.storage import tables as t
from liuyu.storage.engagement_tables import saved_segments, segment_changes
from liuyu.storage.journey_tables import journey_enrollments, journey_runs, journey_steps, journeys
from liuyu.storage.segments import compile_segment

en, js = journey_enrollments, journey_steps


class JourneyTriggerQueries:
    conn: Connection
    dialect: str

    def newest_segment_change(self) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(segment_changes.c.id), 0))).scalar_one())

    def segment_entries(
        self, workspace_id: int, segment: str, after_id: int
    ) -> tuple[list[tuple[int, int, datetime]], int]:
        """Customers who entered the saved segment named ``segment`` after change ``after_id``, and the
        newest change id seen (whatever the segment)."""
        newest = self.newest_segment_change()
        seg = select(saved_segments.c.id).where(
            saved_segments.c.workspace_id == workspace_id, saved_segments.c.name == segment
        )
        query = (
            select(segment_changes.c.id, segment_changes.c.customer_id, segment_changes.c.at)
            .where(
                segment_changes.c.workspace_id == workspace_id,
                segment_changes.c.segment_id.in_(seg),
                segment_changes.c.change == "entered",
                segment_changes.c.id > after_id,
                segment_changes.c.id <= newest,
            )
            .order_by(segment_changes.c.id)
        )
        return [(int(i), int(cid), at) for i, cid, at in self.conn.execute(query)], newest

    def set_segment_cursor(self, journey_id: int, cursor: int) -> None:
        self.conn.execute(update(journeys).where(journeys.c.id == journey_id).values(segment_cursor=cursor))

    def claim_run(self, workspace_id: int, journey_id: int, occurrence: date, now: datetime) -> bool:
        """Take a date or schedule occurrence; False when another worker ran it (or runs it now)."""
        r = journey_runs
        key = occurrence.isoformat()
        exists = self.conn.execute(
            select(r.c.journey_id).where(r.c.journey_id == journey_id, r.c.occurrence == key)
        ).first()
        if exists is not None:
            return False
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            done = self.conn.execute(
                pg_insert(r)
                .values(journey_id=journey_id, occurrence=key, workspace_id=workspace_id, entered=0, at=now)
                .on_conflict_do_nothing()
            )
            return bool(done.rowcount)
        self.conn.execute(
            insert(r).values(journey_id=journey_id, occurrence=key, workspace_id=workspace_id, entered=0, at=now)
        )
        return True

    def finish_run(self, journey_id: int, occurrence: date, entered: int) -> None:
        r = journey_runs
        self.conn.execute(
            update(r)
            .where(r.c.journey_id == journey_id, r.c.occurrence == occurrence.isoformat())
            .values(entered=entered)
        )

    def date_matches(
        self, workspace_id: int, trait: str, target: date, timezone: str, audience: Node | None, now: datetime
    ) -> list[int]:
        """Live customers whose date trait falls on ``target`` (birthday: month and day)."""
        c, tr = t.customers, t.customer_traits
        live = and_(c.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None))
        if trait == "birthday":
            day = func.substr(c.c.birthday, 6, 5)
            query = select(c.c.id).where(live, c.c.birthday.is_not(None), day.in_(birthday_keys(target)))
        else:
            column = tr.c.first_order_at if trait == "first_order" else tr.c.last_order_at
            zone = ZoneInfo(timezone)
            start = datetime.combine(target, datetime.min.time(), tzinfo=zone).astimezone(UTC)
            query = (
                select(c.c.id)
                .select_from(c.join(tr, tr.c.customer_id == c.c.id))
                .where(live, column >= start, column < start + timedelta(days=1))
            )
        if audience is not None:
            query = query.where(c.c.id.in_(compile_segment(audience, workspace_id, now)))
        return sorted(int(cid) for cid in self.conn.execute(query).scalars())

    def audience_members(self, workspace_id: int, audience: Node | None, now: datetime) -> list[int]:
        c = t.customers
        if audience is None:
            query = select(c.c.id).where(
                c.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None)
            )
        else:
            query = compile_segment(audience, workspace_id, now)
        return sorted(int(cid) for cid in self.conn.execute(query).scalars())


class JourneyReads:
    conn: Connection

    def step_counts(self, workspace_id: int, journey_id: int) -> dict[str, dict[str, int]]:
        """Per step: how many are there now (``now``) and how many times each outcome was logged."""
        counts: dict[str, dict[str, int]] = {}
        here = (
            select(en.c.step_key, func.count())
            .where(en.c.workspace_id == workspace_id, en.c.journey_id == journey_id, en.c.state == "active")
            .group_by(en.c.step_key)
        )
        for key, n in self.conn.execute(here):
            counts.setdefault(str(key), {})["now"] = int(n)
        logged = (
            select(js.c.step_key, js.c.outcome, func.count())
            .where(js.c.workspace_id == workspace_id, js.c.journey_id == journey_id)
            .group_by(js.c.step_key, js.c.outcome)
        )
        for key, outcome, n in self.conn.execute(logged):
            counts.setdefault(str(key), {})[str(outcome)] = int(n)
        return counts

    def outcome_reasons(self, workspace_id: int, journey_id: int, limit: int = 20_000) -> dict[str, dict[str, int]]:
        """Per step: why sends were skipped and actions failed (the newest ``limit`` of those rows),
        e.g. ``{"nudge": {"quiet_hours": 3}}``; a failure counts under its error text."""
        query = (
            select(js.c.step_key, js.c.outcome, js.c.detail)
            .where(
                js.c.workspace_id == workspace_id,
                js.c.journey_id == journey_id,
                js.c.outcome.in_(("skipped", "failed")),
            )
            .order_by(js.c.id.desc())
            .limit(limit)
        )
        reasons: dict[str, dict[str, int]] = {}
        for key, outcome, detail in self.conn.execute(query):
            field = "reason" if outcome == "skipped" else "error"
            why = str((detail or {}).get(field) or outcome)[:120]
            here = reasons.setdefault(str(key), {})
            here[why] = here.get(why, 0) + 1
        return reasons

    def group_counts(self, workspace_id: int, journey_id: int) -> dict[str, dict[str, Any]]:
        """Per group (treatment, control): entered and converted, and enrollments by state."""
        query = (
            select(en.c.grp, en.c.state, func.count(), func.count(en.c.converted_at))
            .where(en.c.workspace_id == workspace_id, en.c.journey_id == journey_id)
            .group_by(en.c.grp, en.c.state)
        )
        groups: dict[str, dict[str, int]] = {}
        for grp, state, n, converted in self.conn.execute(query):
            g = groups.setdefault(str(grp), {"entered": 0, "converted": 0, "states": {}})
            g["entered"] += int(n)
            g["converted"] += int(converted)
            g["states"][str(state)] = int(n)
        return groups

    def enrollments_of(self, workspace_id: int, customer_id: int) -> list[dict[str, Any]]:
        query = (
            select(en, journeys.c.name)
            .join(journeys, journeys.c.id == en.c.journey_id)
            .where(en.c.workspace_id == workspace_id, en.c.customer_id == customer_id)
            .order_by(en.c.id.desc())
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def history(self, workspace_id: int, enrollment_id: int) -> list[dict[str, Any]]:
        query = (
            select(js.c.step_key, js.c.outcome, js.c.detail, js.c.at)
            .where(js.c.workspace_id == workspace_id, js.c.enrollment_id == enrollment_id)
            .order_by(js.c.id)
        )
        return [dict(row) for row in self.conn.execute(query).mappings()]

    def due_count(self, now: datetime, workspace_id: int | None = None) -> tuple[int, datetime | None]:
        """Queue depth and the oldest due time: what the worker has yet to do (of one workspace, or all)."""
        query = select(func.count(), func.min(en.c.next_run_at)).where(en.c.state == "active", en.c.next_run_at <= now)
        if workspace_id is not None:
            query = query.where(en.c.workspace_id == workspace_id)
        n, oldest = self.conn.execute(query).one()
        return int(n), oldest
