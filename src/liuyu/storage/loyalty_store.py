"""The member center's storage: its facts, the tables derived from them, and the projection from the event log.

An account's state is what ``LoyaltyBook`` makes of the facts of every customer it ever merged
with (a *component*), replayed in log order. Writing that state (entries, members, tier history)
after each batch or action keeps the tables current; reads that need lots and progress replay the
component again, which is cheap because a component holds one member's history. A redemption
needs no replay: it spends from the member row's balance and the lots summed from the entries.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select, text, update

from liuyu.domain.engagement.segment import Node
from liuyu.domain.eventlog import Event
from liuyu.domain.loyalty import LoyaltyBook, Program, load_program
from liuyu.domain.loyalty.account import MemberAccount
from liuyu.domain.loyalty.benefit import BenefitConsumed
from liuyu.domain.loyalty.coupon import Coupon
from liuyu.domain.loyalty.lots import Lot, expires_at
from liuyu.domain.loyalty.member import member_number, parse_birthday
from liuyu.services.loyalty import (
    DEFAULT_PROGRAM,
    DERIVED_KINDS,
    EVENT_KINDS,
    FactRecord,
    build_book,
    components,
    facts_from_event,
    return_refunded_coupons,
)
from liuyu.storage import loyalty_tables as lt
from liuyu.storage import tables as t
from liuyu.storage.codec import event_from_row
from liuyu.storage.ingest_store import chunks
from liuyu.storage.segments import compile_segment

MEMBER_PREFIX = "8"
REBUILD_MARKER = "rebuild:pending"
_PROGRAMS: dict[str, Program] = {}  # parsed programs by their JSON document


class SqlLoyalty:
    """Loyalty facts and their derived tables for one unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- the program ------------------------------------------------------------------------

    def program(self, workspace_id: int) -> Program:
        """The workspace's program, or the default one until an admin sets theirs.

        Parsed programs are kept by their document (they are frozen), since checking one costs
        more than the rest of a redemption's work in Python.
        """
        row = self.conn.execute(
            select(lt.loyalty_programs.c.document).where(lt.loyalty_programs.c.workspace_id == workspace_id)
        ).first()
        return self._parsed(row.document if row else None)

    @staticmethod
    def _parsed(document: dict[str, Any] | None) -> Program:
        document = DEFAULT_PROGRAM if document is None else document
        key = json.dumps(document, sort_keys=True, default=str)
        program = _PROGRAMS.get(key)
        if program is None:
            if len(_PROGRAMS) >= 64:
                _PROGRAMS.clear()
            program = _PROGRAMS[key] = load_program(document)
        return program

    def program_source(self, workspace_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(lt.loyalty_programs).where(lt.loyalty_programs.c.workspace_id == workspace_id)
        ).first()
        return None if row is None else dict(row._mapping)

    def set_program(self, workspace_id: int, document: dict[str, Any], source: str, actor: str, at: datetime) -> None:
        values = {"document": document, "source": source, "updated_at": at, "updated_by": actor}
        done = self.conn.execute(
            update(lt.loyalty_programs).where(lt.loyalty_programs.c.workspace_id == workspace_id).values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(
                insert(lt.loyalty_programs).values(
                    workspace_id=workspace_id, coupon_secret=secrets.token_hex(32), **values
                )
            )

    def secret(self, workspace_id: int) -> bytes:
        """The workspace's coupon secret, made with the default program the first time it is needed."""
        query = select(lt.loyalty_programs.c.coupon_secret).where(lt.loyalty_programs.c.workspace_id == workspace_id)
        found = self.conn.execute(query).scalar_one_or_none()
        if found is None:
            self.set_program(workspace_id, DEFAULT_PROGRAM, "", "liuyu", datetime.now(UTC))
            found = self.conn.execute(query).scalar_one()
        return bytes.fromhex(found)

    # -- coupons and benefits (operator data, kept across rebuilds) -------------------------

    def add_coupons(self, workspace_id: int, coupons: Sequence[Coupon]) -> None:
        if coupons:
            self.conn.execute(
                insert(lt.loyalty_coupons),
                [
                    {
                        "workspace_id": workspace_id,
                        "code": c.code,
                        "template": c.template,
                        "customer_id": c.customer_id,
                        "batch": c.batch,
                        "status": c.status,
                        "issued_at": c.issued_at,
                        "expires_at": c.expires_at,
                    }
                    for c in coupons
                ],
            )

    def coupons_in_batch(self, workspace_id: int, batch: str) -> int:
        c = lt.loyalty_coupons.c
        return self.conn.execute(
            select(func.count()).where(c.workspace_id == workspace_id, c.batch == batch)
        ).scalar_one()

    def customers_in_batch(self, workspace_id: int, batch: str) -> set[int]:
        """Who holds a coupon of this batch already (so issuing to a segment again skips them)."""
        c = lt.loyalty_coupons.c
        rows = self.conn.execute(select(c.customer_id).where(c.workspace_id == workspace_id, c.batch == batch))
        return set(rows.scalars())

    def segment_ids(self, workspace_id: int, tree: Node, now: datetime) -> list[int]:
        """The live customers a segment expression matches now, in id order."""
        return list(self.conn.execute(compile_segment(tree, workspace_id, now).order_by(t.customers.c.id)).scalars())

    def coupon(self, workspace_id: int, code: str) -> Coupon | None:
        c = lt.loyalty_coupons.c
        row = self.conn.execute(
            select(lt.loyalty_coupons).where(c.workspace_id == workspace_id, c.code == code)
        ).first()
        return None if row is None else _coupon(row)

    def coupon_to_redeem(self, workspace_id: int, code: str) -> tuple[Coupon, Program] | None:
        """A coupon and the workspace's program, read by one statement (a redemption needs both)."""
        c, p = lt.loyalty_coupons.c, lt.loyalty_programs.c
        document = select(p.document).where(p.workspace_id == workspace_id).scalar_subquery()
        row = self.conn.execute(
            select(lt.loyalty_coupons, document.label("document")).where(c.workspace_id == workspace_id, c.code == code)
        ).first()
        return None if row is None else (_coupon(row), self._parsed(row.document))

    def coupons(self, workspace_id: int, customers: Sequence[int]) -> list[dict[str, Any]]:
        c = lt.loyalty_coupons.c
        rows = self.conn.execute(
            select(lt.loyalty_coupons)
            .where(c.workspace_id == workspace_id, c.customer_id.in_(list(customers)))
            .order_by(c.issued_at.desc(), c.code)
        )
        return [{k: v for k, v in r._mapping.items() if k not in ("id", "workspace_id", "discount_fen")} for r in rows]

    def mark_redeemed(self, workspace_id: int, coupon: Coupon, amount: Decimal) -> bool:
        """The one conditional update that makes a redemption exactly-once: it changes an issued coupon only."""
        c = lt.loyalty_coupons.c
        done = self.conn.execute(
            update(lt.loyalty_coupons)
            .where(c.workspace_id == workspace_id, c.code == coupon.code, c.status == "issued")
            .values(
                status="redeemed",
                order_id=coupon.order_id,
                redeemed_at=coupon.redeemed_at,
                channel=coupon.channel,
                discount_fen=int(amount * 100),
            )
        )
        return done.rowcount == 1

    def coupons_on_orders(self, workspace_id: int, order_ids: Sequence[str]) -> list[Coupon]:
        """Coupons used on these orders (to give them back when an order is refunded)."""
        c = lt.loyalty_coupons.c
        codes: list[str] = []
        for part in chunks(list(order_ids)):
            codes += self.conn.execute(
                select(c.code).where(c.workspace_id == workspace_id, c.order_id.in_(part)).order_by(c.code)
            ).scalars()
        return [coupon for code in codes if (coupon := self.coupon(workspace_id, code)) is not None]

    def put_back(self, workspace_id: int, coupon: Coupon, order_id: str) -> bool:
        """A refunded order's coupon becomes usable again (or expired); only if it is still used on that order."""
        c = lt.loyalty_coupons.c
        done = self.conn.execute(
            update(lt.loyalty_coupons)
            .where(
                c.workspace_id == workspace_id, c.code == coupon.code, c.status == "redeemed", c.order_id == order_id
            )
            .values(status=coupon.status, order_id=None, redeemed_at=None, channel=None, discount_fen=None)
        )
        return done.rowcount == 1

    def expire_coupons(self, workspace_id: int, at: datetime) -> int:
        """Unused coupons past their time become expired; returns how many."""
        c = lt.loyalty_coupons.c
        done = self.conn.execute(
            update(lt.loyalty_coupons)
            .where(c.workspace_id == workspace_id, c.status == "issued", c.expires_at <= at)
            .values(status="expired")
        )
        return int(done.rowcount)

    def benefit_keys(self, workspace_id: int, customer_id: int) -> set[str]:
        b = lt.loyalty_benefit_uses.c
        rows = self.conn.execute(select(b.key).where(b.workspace_id == workspace_id, b.customer_id == customer_id))
        return set(rows.scalars())

    def add_benefit_use(self, workspace_id: int, taken: BenefitConsumed) -> None:
        self.conn.execute(
            insert(lt.loyalty_benefit_uses).values(
                workspace_id=workspace_id,
                key=taken.key,
                customer_id=taken.customer_id,
                kind=taken.kind,
                value=taken.value,
                channel=taken.channel,
                at=taken.at,
            )
        )

    # -- facts ------------------------------------------------------------------------------

    def log_end(self, workspace_id: int) -> int:
        """The seq of the newest event: operator actions sit right after it."""
        return self.conn.execute(
            select(func.coalesce(func.max(t.events.c.seq), 0)).where(t.events.c.workspace_id == workspace_id)
        ).scalar_one()

    def known_keys(self, workspace_id: int, keys: Iterable[str]) -> set[str]:
        """Which of these fact keys are stored already."""
        f = lt.loyalty_facts.c
        known: set[str] = set()
        for part in chunks(sorted(set(keys))):
            known.update(
                self.conn.execute(select(f.key).where(f.workspace_id == workspace_id, f.key.in_(part))).scalars()
            )
        return known

    def birthdays(self, workspace_id: int, customers: Iterable[int]) -> dict[int, date]:
        """The readable birthdays of these customers' profiles."""
        c = t.customers.c
        out: dict[int, date] = {}
        for part in chunks(sorted(set(customers))):
            rows = self.conn.execute(
                select(c.id, c.birthday).where(c.workspace_id == workspace_id, c.id.in_(part), c.birthday.is_not(None))
            )
            out.update((row.id, born) for row in rows if (born := parse_birthday(row.birthday)) is not None)
        return out

    def member_birthdays(self, workspace_id: int) -> list[tuple[int, date]]:
        """(account's primary customer, birthday) of every member with a known birthday.

        The primary's own birthday wins; otherwise that of the first customer merged into the account.
        """
        m = lt.loyalty_members.c
        accounts = [
            (row.customer_id, [row.customer_id, *sorted(row.customers)])
            for row in self.conn.execute(select(m.customer_id, m.customers).where(m.workspace_id == workspace_id))
        ]
        c = t.customers.c
        known: dict[int, date] = {}
        rows = self.conn.execute(
            select(c.id, c.birthday).where(c.workspace_id == workspace_id, c.birthday.is_not(None))
        )
        known.update((row.id, born) for row in rows if (born := parse_birthday(row.birthday)) is not None)
        out = []
        for primary, customers in sorted(accounts):
            born = next((known[x] for x in customers if x in known), None)
            if born is not None:
                out.append((primary, born))
        return out

    def add_facts(self, workspace_id: int, records: Sequence[FactRecord], *, checked: bool = False) -> list[FactRecord]:
        """Store facts whose key is new; returns those stored (a repeated key is a replay, not an error).

        ``checked``: the caller looked the keys up under the member's lock (the unique key still guards).
        """
        if not records:
            return []
        known = set() if checked else self.known_keys(workspace_id, [r.key for r in records])
        fresh: list[FactRecord] = []
        for record in records:
            if record.key not in known:
                known.add(record.key)
                fresh.append(record)
        if fresh:
            self.conn.execute(
                insert(lt.loyalty_facts),
                [
                    {
                        "workspace_id": workspace_id,
                        "key": r.key,
                        "kind": r.kind,
                        "position": r.position,
                        "customer_id": r.customer_id,
                        "payload": dict(r.payload),
                        "actor": r.actor,
                        "at": r.at,
                    }
                    for r in fresh
                ],
            )
        return fresh

    def fact(self, workspace_id: int, key: str) -> FactRecord | None:
        row = self.conn.execute(
            select(lt.loyalty_facts).where(
                lt.loyalty_facts.c.workspace_id == workspace_id, lt.loyalty_facts.c.key == key
            )
        ).first()
        return None if row is None else _record(row)

    def fact_and_rebuild(self, workspace_id: int, key: str) -> tuple[FactRecord | None, bool]:
        """The fact stored under ``key``, and whether a rebuild is under way (the derived tables are partial then)."""
        f = lt.loyalty_facts.c
        rows = self.conn.execute(
            select(lt.loyalty_facts).where(f.workspace_id == workspace_id, f.key.in_([key, REBUILD_MARKER]))
        )
        found = {row.key: row for row in rows}
        return (_record(found[key]) if key in found else None), REBUILD_MARKER in found

    def spend(self, workspace_id: int, primary: int, points: int) -> tuple[list[int], Program, int] | None:
        """Take points off a member's stored available balance if it holds them: one conditional update
        (the row stays locked on PostgreSQL until commit).

        Returns the account's customers, the program and the log's end (read by the same statement,
        to spare round trips), or None when the balance is short or there is no such member row.
        """
        m, p = lt.loyalty_members.c, lt.loyalty_programs.c
        document = select(p.document).where(p.workspace_id == workspace_id).scalar_subquery()
        end = (
            select(func.coalesce(func.max(t.events.c.seq), 0))
            .where(t.events.c.workspace_id == workspace_id)
            .scalar_subquery()
        )
        row = self.conn.execute(
            update(lt.loyalty_members)
            .where(m.workspace_id == workspace_id, m.customer_id == primary, m.available >= points)
            .values(available=m.available - points)
            .returning(m.customers, document.label("document"), end.label("log_end"))
        ).first()
        if row is None:
            return None
        return [int(c) for c in row.customers], self._parsed(row.document), int(row.log_end)

    def lots(self, workspace_id: int, customers: Sequence[int], program: Program) -> list[Lot]:
        """These customers' lots with their available points, summed from the stored entries.

        A lot's earn date is that of the entry that granted it (or, for a lot opened by a deduction
        beyond the balance, its first entry); its expiry follows from the program, as in a replay.
        """
        e = lt.loyalty_entries.c
        granted = e.source == "issued"
        query = (
            select(
                e.lot_id,
                e.customer_id,
                func.sum(case((e.target == "available", e.points), else_=0))
                - func.sum(case((e.source == "available", e.points), else_=0)),
                func.coalesce(func.min(case((granted, e.at))), func.min(e.at)),
                func.max(case((granted, e.order_id))),
            )
            .where(e.workspace_id == workspace_id, e.customer_id.in_(sorted(customers)))
            .group_by(e.lot_id, e.customer_id)
        )
        return [
            Lot(lot_id, customer, earned, expires_at(program.expiry, earned, program), order, available=int(available))
            for lot_id, customer, available, earned, order in self.conn.execute(query)
        ]

    def add_entries(self, workspace_id: int, entries: Sequence[Any]) -> None:
        """Store entries an action posted on an account decided from stored balances (no replay to write)."""
        if entries:
            self.conn.execute(insert(lt.loyalty_entries), [_entry_row(workspace_id, x) for x in entries])

    def lock_member(self, workspace_id: int, customer_id: int) -> set[int] | None:
        """Queue actions on one member (and on everyone merged with them) while other members' run side by side.

        PostgreSQL: the workspace's lock in shared mode (imports, merges and the daily job hold it
        exclusively, so a member's component cannot change meanwhile), then the member's own lock,
        keyed by the smallest customer of the component, which is returned (it holds until the
        transaction ends). SQLite has one writer: nothing to add, and None is returned.
        """
        if self.conn.dialect.name != "postgresql":
            return None
        self.conn.execute(
            text("SELECT pg_advisory_xact_lock_shared(hashtext('liuyu:' || current_schema()), :ws)"),
            {"ws": workspace_id},
        )
        component = self.component_of(workspace_id, [customer_id])
        self.conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('liuyu:member:' || current_schema() || :key, 0))"),
            {"key": f":{workspace_id}:{min(component)}"},
        )
        return component

    def _merged_pairs(self, workspace_id: int) -> list[tuple[int, int]]:
        rows = self.conn.execute(
            select(lt.loyalty_facts.c.customer_id, lt.loyalty_facts.c.payload).where(
                lt.loyalty_facts.c.workspace_id == workspace_id, lt.loyalty_facts.c.kind == "merged"
            )
        )
        return [(int(r.payload["winner"]), int(r.customer_id)) for r in rows]

    def component_of(self, workspace_id: int, customers: Iterable[int]) -> set[int]:
        """The given customers and every customer whose account ever merged with theirs."""
        groups = components(self._merged_pairs(workspace_id), customers)
        return set().union(*groups.values()) if groups else set()

    def facts_of(self, workspace_id: int, customers: set[int], limit: int | None = None) -> list[FactRecord]:
        """The facts of these customers and every job run, up to log position ``limit``."""
        f = lt.loyalty_facts.c
        records: list[FactRecord] = []
        ids = sorted(customers)
        for i, part in enumerate(chunks(ids) if ids else [[]]):
            who = f.customer_id.in_(part)
            where = or_(who, f.customer_id.is_(None)) if i == 0 else who
            query = select(lt.loyalty_facts).where(f.workspace_id == workspace_id, where, f.kind != "marker")
            if limit is not None:
                query = query.where(f.position <= limit)
            records += [_record(row) for row in self.conn.execute(query)]
        return records

    def book(self, workspace_id: int, customers: Iterable[int], limit: int | None = None) -> LoyaltyBook:
        """The accounts of these customers' components, replayed from their facts."""
        component = self.component_of(workspace_id, customers)
        return build_book(self.program(workspace_id), self.facts_of(workspace_id, component, limit))

    # -- the derived tables -----------------------------------------------------------------

    def materialize(
        self, workspace_id: int, customers: Iterable[int], limit: int | None = None, *, rewrite: bool = False
    ) -> LoyaltyBook:
        """Replay these customers' components and write entries, members and tier history."""
        component = self.component_of(workspace_id, customers)
        records = self.facts_of(workspace_id, component, limit)
        book = build_book(self.program(workspace_id), records)
        self.write(workspace_id, book, component, records, rewrite=rewrite)
        return book

    def write(
        self,
        workspace_id: int,
        book: LoyaltyBook,
        component: set[int],
        records: Sequence[FactRecord],
        *,
        rewrite: bool = False,
    ) -> None:
        """Store what the book holds for these customers: new entries, and members and tier history afresh."""
        ids = sorted(component)
        e = lt.loyalty_entries.c
        if rewrite:
            for part in chunks(ids):
                self.conn.execute(
                    delete(lt.loyalty_entries).where(e.workspace_id == workspace_id, e.customer_id.in_(part))
                )
        known: set[tuple[str, int]] = set()
        for part in chunks(ids):
            known.update(
                (r.key, r.part)
                for r in self.conn.execute(
                    select(e.key, e.part).where(e.workspace_id == workspace_id, e.customer_id.in_(part))
                )
            )
        accounts = [a for a in book.accounts.values() if a.customer_ids & component]
        new_entries = [
            _entry_row(workspace_id, entry)
            for account in accounts
            for entry in account.entries
            if (entry.key, entry.part) not in known
        ]
        if new_entries:
            self.conn.execute(insert(lt.loyalty_entries), new_entries)
        enrollments = {r.customer_id: r for r in sorted(records, key=FactRecord.sort_key) if r.kind == "enroll"}
        wanted: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for account in accounts:
            history = [
                {
                    "workspace_id": workspace_id,
                    "customer_id": account.primary,
                    "at": change.at,
                    "from_tier": change.from_tier,
                    "to_tier": change.to_tier,
                    "reason": change.reason,
                }
                for change in account.tier.history
            ]
            wanted[account.primary] = (_member_row(workspace_id, account, enrollments), history)
        stored, stale, stale_history = self._changed_members(workspace_id, ids, wanted)
        for table, gone in ((lt.loyalty_members, stale), (lt.loyalty_tier_changes, stale_history)):
            for part in chunks(sorted(gone)):
                self.conn.execute(
                    delete(table).where(table.c.workspace_id == workspace_id, table.c.customer_id.in_(part))
                )
        fresh = [c for c in wanted if c in stale or c not in stored]
        if fresh:
            self.conn.execute(insert(lt.loyalty_members), [wanted[c][0] for c in fresh])
        changes = [change for c in wanted if c in stale_history or c not in stored for change in wanted[c][1]]
        if changes:
            self.conn.execute(insert(lt.loyalty_tier_changes), changes)

    def _changed_members(
        self, workspace_id: int, ids: list[int], wanted: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]
    ) -> tuple[set[int], set[int], set[int]]:
        """Customers with a member row; those whose row differs from the replay; those whose tier history does.

        Members no longer in the replay (merged away) are in both. Only what differs is rewritten, so a
        batch that touches a member without changing them writes nothing, and a redemption rewrites
        the member row but not the tier history.
        """
        m, h = lt.loyalty_members.c, lt.loyalty_tier_changes.c
        stored: dict[int, dict[str, Any]] = {}
        histories: dict[int, list[tuple[Any, ...]]] = {}
        for part in chunks(ids):
            for row in self.conn.execute(
                select(lt.loyalty_members).where(m.workspace_id == workspace_id, m.customer_id.in_(part))
            ):
                stored[row.customer_id] = {k: v for k, v in row._mapping.items() if k != "id"}
            for row in self.conn.execute(
                select(h.customer_id, h.at, h.from_tier, h.to_tier, h.reason)
                .where(h.workspace_id == workspace_id, h.customer_id.in_(part))
                .order_by(h.id)
            ):
                histories.setdefault(row.customer_id, []).append(tuple(row[1:]))
        stale = set(stored) - set(wanted)
        stale_history = set(stale)
        for customer in set(stored) & set(wanted):
            row, history = wanted[customer]
            kept = [(c["at"], c["from_tier"], c["to_tier"], c["reason"]) for c in history]
            if stored[customer] != row:
                stale.add(customer)
            if histories.get(customer, []) != kept:
                stale_history.add(customer)
        return set(stored), stale, stale_history

    def member(self, workspace_id: int, customer_id: int) -> dict[str, Any] | None:
        """The member row of the account that holds this customer now."""
        m = lt.loyalty_members.c
        component = sorted(self.component_of(workspace_id, [customer_id]))
        rows = self.conn.execute(
            select(lt.loyalty_members).where(m.workspace_id == workspace_id, m.customer_id.in_(component))
        )
        for row in rows:
            if customer_id in row.customers:
                return _member(row)
        return None

    def members(self, workspace_id: int) -> list[dict[str, Any]]:
        m = lt.loyalty_members.c
        rows = self.conn.execute(
            select(lt.loyalty_members).where(m.workspace_id == workspace_id).order_by(m.customer_id)
        )
        return [_member(r) for r in rows]

    def entries(
        self,
        workspace_id: int,
        customers: Iterable[int],
        *,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Ledger entries of these customers' lots, newest first."""
        e = lt.loyalty_entries.c
        query = select(lt.loyalty_entries).where(e.workspace_id == workspace_id, e.customer_id.in_(sorted(customers)))
        if kind:
            query = query.where(e.kind == kind)
        if since:
            query = query.where(e.at >= since)
        if until:
            query = query.where(e.at < until)
        query = query.order_by(e.at.desc(), e.key.desc(), e.part.desc()).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def monthly_points(self, workspace_id: int) -> list[tuple[str, str, int]]:
        """(month, entry kind, points) for the program overview."""
        e = lt.loyalty_entries.c
        totals: dict[tuple[str, str], int] = {}
        for row in self.conn.execute(select(e.at, e.kind, e.points).where(e.workspace_id == workspace_id)):
            month = row.at.strftime("%Y-%m")
            totals[(month, row.kind)] = totals.get((month, row.kind), 0) + row.points
        return sorted((month, kind, points) for (month, kind), points in totals.items())

    def points_by_kind(self, workspace_id: int) -> dict[str, int]:
        """Points released and expired so far (what a job run changed is the difference)."""
        e = lt.loyalty_entries.c
        rows = self.conn.execute(
            select(e.kind, func.sum(e.points)).where(e.workspace_id == workspace_id).group_by(e.kind)
        )
        names = {"release": "released", "expire": "expired", "earn": "earned", "redeem": "redeemed"}
        return {names.get(kind, kind): int(total or 0) for kind, total in rows}

    def clear(self, workspace_id: int) -> None:
        """Forget every derived fact and table; operator and job actions stay to be replayed."""
        f = lt.loyalty_facts.c
        self.conn.execute(
            delete(lt.loyalty_facts).where(f.workspace_id == workspace_id, f.kind.in_(sorted(DERIVED_KINDS)))
        )
        for table in (lt.loyalty_entries, lt.loyalty_members, lt.loyalty_tier_changes):
            self.conn.execute(delete(table).where(table.c.workspace_id == workspace_id))

    def kept_customers(self, workspace_id: int) -> set[int]:
        f = lt.loyalty_facts.c
        rows = self.conn.execute(
            select(f.customer_id)
            .where(f.workspace_id == workspace_id, f.customer_id.is_not(None), f.kind.not_in(sorted(DERIVED_KINDS)))
            .distinct()
        )
        return {r.customer_id for r in rows}

    def all_customers(self, workspace_id: int) -> set[int]:
        f = lt.loyalty_facts.c
        rows = self.conn.execute(
            select(f.customer_id).where(f.workspace_id == workspace_id, f.customer_id.is_not(None)).distinct()
        )
        return {r.customer_id for r in rows}

    def digest(self, workspace_id: int) -> str:
        """A fingerprint of the derived loyalty rows (not their surrogate ids), to compare across a rebuild."""
        state: dict[str, list[str]] = {}
        for table in (lt.loyalty_entries, lt.loyalty_members, lt.loyalty_tier_changes, lt.loyalty_coupons):
            rows = self.conn.execute(select(table).where(table.c.workspace_id == workspace_id))
            state[table.name] = sorted(
                json.dumps({k: v for k, v in r._mapping.items() if k != "id"}, sort_keys=True, default=str)
                for r in rows
            )
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


class LoyaltyProjection:
    """Keeps the member center current from the event log (the ``Projection`` port)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.store = SqlLoyalty(conn)
        self._merged: set[int] = set()

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        m = t.merges.c
        records = []
        for winner, loser in merges:
            row = self.conn.execute(
                select(m.id, m.event_seq, t.events.c.occurred_at)
                .join(t.events, t.events.c.seq == m.event_seq)
                .where(
                    m.workspace_id == workspace_id, m.winner_id == winner, m.loser_id == loser, m.undone_at.is_(None)
                )
                .order_by(m.id.desc())
                .limit(1)
            ).first()
            if row is None:
                continue
            at = row.occurred_at
            key = f"merge:{winner}:{loser}:{row.event_seq}"
            records.append(FactRecord(key, "merged", row.event_seq, at, loser, {"winner": winner}))
            self._merged |= {winner, loser}
        self.store.add_facts(workspace_id, records)

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Event, int | None]]) -> None:
        records = [record for seq, event, customer in rows for record in facts_from_event(seq, event, customer)]
        # One lookup finds the batch's stored keys and a rebuild's marker (ingestion holds the workspace lock).
        known = self.store.known_keys(workspace_id, [*(r.key for r in records), REBUILD_MARKER])
        new: dict[str, FactRecord] = {}
        for record in records:
            if record.key not in known:
                new.setdefault(record.key, record)
        fresh = self.store.add_facts(workspace_id, list(new.values()), checked=True)
        return_refunded_coupons(self.store, workspace_id, fresh)
        touched = {r.customer_id for r in fresh if r.customer_id is not None} | self._merged
        self._merged = set()
        limit = max((seq for seq, _, _ in rows), default=0)
        if REBUILD_MARKER in known and self._rebuild_ends(workspace_id, limit):
            touched |= self.store.kept_customers(workspace_id)
            limit = self.store.log_end(workspace_id)
        if touched:
            self.store.materialize(workspace_id, touched, limit)

    def _rebuild_ends(self, workspace_id: int, limit: int) -> bool:
        """At the end of a rebuild, actions on members no event touched are replayed too."""
        if self.store.fact(workspace_id, REBUILD_MARKER) is None or limit < self.store.log_end(workspace_id):
            return False
        f = lt.loyalty_facts.c
        self.conn.execute(delete(lt.loyalty_facts).where(f.workspace_id == workspace_id, f.key == REBUILD_MARKER))
        return True

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        m = t.merges.c
        ids = sorted(customer_ids)
        undone = self.conn.execute(
            select(m.id, m.winner_id, m.loser_id, m.undone_at).where(
                m.workspace_id == workspace_id,
                m.undone_at.is_not(None),
                or_(m.loser_id.in_(ids), m.winner_id.in_(ids)),
            )
        ).all()
        end = self.store.log_end(workspace_id)
        self.store.add_facts(
            workspace_id,
            [FactRecord(f"unmerge:{u.id}", "unmerged", end, u.undone_at, u.loser_id, {"merge": u.id}) for u in undone],
        )
        f = lt.loyalty_facts.c
        order_kinds = list(EVENT_KINDS)
        for part in chunks(ids):
            self.conn.execute(
                delete(lt.loyalty_facts).where(
                    f.workspace_id == workspace_id, f.customer_id.in_(part), f.kind.in_(order_kinds)
                )
            )
        records: list[FactRecord] = []
        for part in chunks(ids):
            query = (
                select(t.events)
                .where(t.events.c.workspace_id == workspace_id, t.events.c.customer_id.in_(part))
                .order_by(t.events.c.seq)
            )
            for row in self.conn.execute(query):
                records += facts_from_event(row.seq, event_from_row(row), row.customer_id)
        records.sort(key=FactRecord.sort_key)
        return_refunded_coupons(self.store, workspace_id, self.store.add_facts(workspace_id, records))
        self.store.materialize(workspace_id, customer_ids, rewrite=True)

    def clear(self, workspace_id: int) -> None:
        self.store.clear(workspace_id)
        marker = FactRecord(REBUILD_MARKER, "marker", 0, datetime.now(UTC))
        self.store.add_facts(workspace_id, [marker])


def _coupon(row: Any) -> Coupon:
    return Coupon(
        row.code,
        row.template,
        row.customer_id,
        row.issued_at,
        row.expires_at,
        row.status,
        row.order_id,
        row.redeemed_at,
        row.channel,
        row.batch,
    )


def _member(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k not in ("id", "workspace_id")}


def _record(row: Any) -> FactRecord:
    return FactRecord(row.key, row.kind, row.position, row.at, row.customer_id, row.payload, row.actor, row.id)


def _entry_row(workspace_id: int, entry: Any) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "key": entry.key,
        "part": entry.part,
        "kind": entry.kind,
        "points": entry.points,
        "source": entry.source,
        "target": entry.target,
        "at": entry.at,
        "customer_id": entry.customer_id,
        "lot_id": entry.lot_id,
        "order_id": entry.order_id,
        "actor": entry.actor,
        "reason": entry.reason,
        "explanation": [a.as_dict() for a in entry.explanation],
    }


def _member_row(workspace_id: int, account: MemberAccount, enrollments: dict[int | None, FactRecord]) -> dict[str, Any]:
    enrolled = next((enrollments[c] for c in sorted(account.customer_ids) if c in enrollments), None)
    payload = enrolled.payload if enrolled else {}
    first_order = min((o.paid_at, o.channel) for o in account.orders.values()) if account.orders else None
    joined_at = enrolled.at if enrolled else (first_order[0] if first_order else account.tier.history[0].at)
    channel = str(payload.get("channel") or (first_order[1] if first_order else "other"))
    return {
        "workspace_id": workspace_id,
        "customer_id": account.primary,
        "member_no": str(payload.get("member_no") or member_number(MEMBER_PREFIX, account.primary)),
        "join_channel": channel,
        "joined_at": joined_at,
        "enrolled_by": "explicit" if enrolled else "first_order",
        "consents": dict(payload.get("consents") or {}),
        "customers": sorted(account.customer_ids),
        "tier": account.tier.code,
        "available": account.available,
        "pending": account.pending,
        "debt": account.debt,
    }
