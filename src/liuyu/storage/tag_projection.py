"""Keeps event and text tags current as events arrive (a Projection, see services.ports).

Tags set by hand or by a segment rule are never touched here: a rule never replaces a tag the
customer already has, and a rebuild clears and replays only the ``event`` and ``text`` tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, select, update

from liuyu.domain.engagement.tag_rules import TagRule
from liuyu.domain.eventlog import Event
from liuyu.services.text_tags import rules_of, tags_for_events
from liuyu.storage import tables as t
from liuyu.storage.accounts import SqlAccounts
from liuyu.storage.codec import event_from_row

SOURCES = ("event", "text")
ID_CHUNK = 5_000


class EventTags:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._rules: dict[int, list[TagRule]] = {}

    def _rules_of(self, workspace_id: int) -> list[TagRule]:
        if workspace_id not in self._rules:
            workspace = SqlAccounts(self.conn).workspace(workspace_id) or {}
            self._rules[workspace_id] = rules_of(workspace.get("settings"))
        return self._rules[workspace_id]

    def _add_missing(self, workspace_id: int, rows: list[dict[str, Any]]) -> None:
        ct = t.customer_tags
        have: set[tuple[int, str]] = set()
        ids = sorted({row["customer_id"] for row in rows})
        for start in range(0, len(ids), ID_CHUNK):
            query = select(ct.c.customer_id, ct.c.tag).where(
                ct.c.workspace_id == workspace_id, ct.c.customer_id.in_(ids[start : start + ID_CHUNK])
            )
            have.update((int(cid), str(tag)) for cid, tag in self.conn.execute(query))
        new = [{"workspace_id": workspace_id, **row} for row in rows if (row["customer_id"], row["tag"]) not in have]
        if new:
            self.conn.execute(insert(ct), new)

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Event, int | None]]) -> None:
        rules = self._rules_of(workspace_id)
        if rules:
            self._add_missing(workspace_id, tags_for_events(rules, rows))

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        """The winner takes the loser's event and text tags it does not have yet."""
        ct = t.customer_tags
        for winner, loser in merges:
            mine = ct.alias("mine")
            taken = exists().where(
                mine.c.workspace_id == workspace_id, mine.c.customer_id == winner, mine.c.tag == ct.c.tag
            )
            theirs = and_(ct.c.workspace_id == workspace_id, ct.c.customer_id == loser, ct.c.source.in_(SOURCES))
            self.conn.execute(update(ct).where(theirs, ~taken).values(customer_id=winner))
            self.conn.execute(delete(ct).where(theirs))

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        """An unmerge moved events: these customers' event and text tags are derived again from their events."""
        rules = self._rules_of(workspace_id)
        ct, ev = t.customer_tags, t.events
        ids = sorted(customer_ids)
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            self.conn.execute(
                delete(ct).where(
                    ct.c.workspace_id == workspace_id, ct.c.customer_id.in_(chunk), ct.c.source.in_(SOURCES)
                )
            )
            if not rules:
                continue
            types = sorted({e for rule in rules for e in rule.events})
            query = (
                select(ev)
                .where(ev.c.workspace_id == workspace_id, ev.c.customer_id.in_(chunk), ev.c.type.in_(types))
                .order_by(ev.c.seq)
            )
            rows = [(row.seq, event_from_row(row), row.customer_id) for row in self.conn.execute(query)]
            self._add_missing(workspace_id, tags_for_events(rules, rows))

    def clear(self, workspace_id: int) -> None:
        ct = t.customer_tags
        self.conn.execute(delete(ct).where(ct.c.workspace_id == workspace_id, ct.c.source.in_(SOURCES)))
