"""Set-wise SQL for the ingestion path: one statement per step per batch, never one per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Connection,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from liuyu.domain.customers.identifiers import DEVICE_KINDS, STRONG_KINDS
from liuyu.domain.customers.identity import CustomerNode, IdentityGraph, IdentityPolicy, IdKey, Resolution
from liuyu.domain.customers.profile import profile_updates
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import STATUS_OF_EVENT, Order, to_fen
from liuyu.storage import tables as t
from liuyu.storage.codec import event_to_payload

CHUNK = 2000  # bound on bound parameters per IN list (SQLite allows 32,766)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


UNION_CHUNK = 100  # lookups per UNION ALL statement (SQLite allows 500 compound terms)


def among(dialect: str, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the whole list in one bound parameter (a PostgreSQL array, a JSON
    array on SQLite): the statement text stays the same for any list, so it is compiled and parsed
    once, where a literal IN list of thousands of values cost more than the lookup itself."""
    items = list(values)
    if dialect == "postgresql":
        return column == any_(bindparam(None, items, type_=ARRAY(column.type)))
    rows = select(literal_column("value")).select_from(func.json_each(bindparam(None, orjson.dumps(items).decode())))
    return column.in_(rows)


class SqlIngestStore:
    """The storage side of ``services.ingest``, bound to one connection inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    # -- locking and sequence numbers -------------------------------------------------------

    def lock_workspace(self, workspace_id: int) -> None:
        """Serialize identity resolution per workspace (SQLite already holds its one write lock)."""
        if self.dialect == "postgresql":
            # Keyed by schema too: several liuyu schemas in one database (tests, benchmarks) never wait on each other.
            self.conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('liuyu:' || current_schema()), :ws)"), {"ws": workspace_id}
            )
            self._plan_each_lookup()

    def _plan_each_lookup(self) -> None:
        """Lookups bind whole key lists as one array; a cached generic plan cannot see how long the
        list is and falls back to scanning (0.5 s instead of 10 ms at 30,000 events)."""
        if self.dialect == "postgresql":
            self.conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    def _next_ids(self, table: t.Table, column: str, count: int) -> list[int]:
        if count == 0:
            return []
        if self.dialect == "postgresql":
            rows = self.conn.execute(
                text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', '{column}')) FROM generate_series(1, :n)"),
                {"n": count},
            )
            return sorted(r[0] for r in rows)
        start = self.conn.execute(select(func.coalesce(func.max(table.c[column]), 0))).scalar_one() + 1
        return list(range(start, start + count))

    def next_seqs(self, count: int) -> list[int]:
        return self._next_ids(t.events, "seq", count)

    def customer_id_allocator(self) -> Callable[[], int]:
        """Hands out customer ids inside this transaction (PostgreSQL: from the sequence, in blocks)."""
        pool: list[int] = []

        def allocate() -> int:
            if not pool:
                if self.dialect == "postgresql":
                    pool.extend(reversed(self._next_ids(t.customers, "id", 256)))
                else:
                    last = allocate.last  # type: ignore[attr-defined]
                    if last is None:
                        last = self._next_ids(t.customers, "id", 1)[0] - 1
                    pool.append(last + 1)
            value = pool.pop()
            allocate.last = value  # type: ignore[attr-defined]
            return value

        allocate.last = None  # type: ignore[attr-defined]
        return allocate

    # -- the event log ----------------------------------------------------------------------

    def existing_keys(self, workspace_id: int, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, external_id in keys:
            by_source[source].append(external_id)
        e = t.events.c
        queries = [
            select(e.source, e.external_id).where(
                e.workspace_id == workspace_id, e.source == source, among(self.dialect, e.external_id, ids)
            )
            for source, ids in by_source.items()
        ]
        return {(str(r[0]), str(r[1])) for r in self._union_all(queries)}

    def _union_all(self, queries: Sequence[Any]) -> Iterable[Any]:
        """Run several index lookups as one statement (UNION ALL), so a batch pays the fixed
        per-statement cost once rather than once per source, kind or platform."""
        for start in range(0, len(queries), UNION_CHUNK):
            part = queries[start : start + UNION_CHUNK]
            yield from self.conn.execute(part[0] if len(part) == 1 else union_all(*part))

    def append_events(
        self,
        workspace_id: int,
        rows: Sequence[tuple[int, Event, int | None]],
        received_at: datetime,
        import_id: int | None,
    ) -> None:
        """The hot path: plain executemany on SQLite, COPY on PostgreSQL, payloads encoded by orjson."""
        if not rows:
            return
        columns = (
            "seq",
            "workspace_id",
            "source",
            "external_id",
            "type",
            "name",
            "channel",
            "occurred_at",
            "received_at",
            "payload",
            "import_id",
            "customer_id",
        )
        when = _sqlite_time if self.dialect == "sqlite" else _utc
        received = when(received_at)
        values = [
            (
                seq,
                workspace_id,
                e.source,
                e.external_id,
                e.type,
                e.name,
                e.channel,
                when(e.occurred_at),
                received,
                orjson.dumps(event_to_payload(e)).decode(),
                import_id,
                customer_id,
            )
            for seq, e, customer_id in rows
        ]
        raw = self.conn.connection.driver_connection
        if self.dialect == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY events ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO events ({', '.join(columns)}) VALUES ({marks})", values)

    def _by_pairs(
        self,
        table: t.Table,
        first: Any,
        second: Any,
        pairs: set[tuple[str, str]],
        workspace_id: int,
        columns: tuple[Any, ...],
    ) -> Iterable[Any]:
        """Rows whose (first, second) is among ``pairs``: one IN list per first value, so both
        databases use the (workspace, first, second) index, all in one UNION ALL statement."""
        grouped: dict[str, list[str]] = defaultdict(list)
        for a, b in pairs:
            grouped[a].append(b)
        yield from self._union_all(
            [
                select(*columns).where(
                    table.c.workspace_id == workspace_id, first == a, among(self.dialect, second, sorted(values))
                )
                for a, values in grouped.items()
            ]
        )

    # -- identity ---------------------------------------------------------------------------

    def load_graph(
        self,
        workspace_id: int,
        keys: set[IdKey],
        policy: IdentityPolicy,
        new_customer_id: Callable[[int], int],
    ) -> IdentityGraph:
        """Load the identifiers a batch mentions, and the customers that own them."""
        owners: dict[IdKey, int] = {}
        verified: set[IdKey] = set()
        for kind, value, cid, is_verified in self._by_pairs(
            t.identifiers,
            t.identifiers.c.kind,
            t.identifiers.c.value,
            keys,
            workspace_id,
            (t.identifiers.c.kind, t.identifiers.c.value, t.identifiers.c.customer_id, t.identifiers.c.verified),
        ):
            owners[(kind, value)] = cid
            if is_verified:
                verified.add((kind, value))
        nodes = self.load_nodes(workspace_id, set(owners.values()))
        separations: list[tuple[int, int]] = []
        links: list[tuple[int, int]] = []
        pairs = [
            select(literal(kind).label("kind"), table.c.anchor_a, table.c.anchor_b).where(
                table.c.workspace_id == workspace_id
            )
            for kind, table in (("separation", t.separations), ("link", t.links))
        ]
        for kind, a, b in self.conn.execute(union_all(*pairs)):
            (separations if kind == "separation" else links).append((a, b))
        return IdentityGraph(
            owners=owners,
            verified=verified,
            customers=nodes,
            separations=[(a, b) for a, b in separations],
            links=[(a, b) for a, b in links],
            new_customer_id=new_customer_id,
            policy=policy,
        )

    def load_nodes(self, workspace_id: int, customer_ids: set[int]) -> list[CustomerNode]:
        if not customer_ids:
            return []
        nodes: dict[int, CustomerNode] = {}
        ids = sorted(customer_ids)
        for part in chunks(ids, 20_000):
            for cid, anchor in self.conn.execute(
                select(t.customers.c.id, t.customers.c.anchor_seq).where(among(self.dialect, t.customers.c.id, part))
            ):
                nodes[cid] = CustomerNode(id=cid, anchor_seq=anchor)
            for root, anchor in self.conn.execute(
                select(t.customers.c.merged_into, t.customers.c.anchor_seq).where(
                    t.customers.c.workspace_id == workspace_id, among(self.dialect, t.customers.c.merged_into, part)
                )
            ):
                nodes[root].anchors.add(anchor)
            for cid, kind, value, is_verified in self.conn.execute(
                select(
                    t.identifiers.c.customer_id, t.identifiers.c.kind, t.identifiers.c.value, t.identifiers.c.verified
                ).where(
                    t.identifiers.c.workspace_id == workspace_id, among(self.dialect, t.identifiers.c.customer_id, part)
                )
            ):
                node = nodes[cid]
                if kind in STRONG_KINDS:
                    node.strong_count += 1
                    if kind == "phone" and is_verified:
                        node.verified_phones.add(value)
                elif kind not in DEVICE_KINDS:
                    node.account_count += 1
        return list(nodes.values())

    def write_identity(self, workspace_id: int, res: Resolution, seq_times: dict[int, datetime], now: datetime) -> None:
        if res.new_customers:
            self.bulk_insert(
                t.customers,
                [
                    {"id": cid, "workspace_id": workspace_id, "anchor_seq": anchor, "first_seen": seq_times[anchor]}
                    for cid, anchor in res.new_customers.items()
                ],
            )
        if res.new_identifiers:
            self.bulk_insert(
                t.identifiers,
                [
                    {
                        "workspace_id": workspace_id,
                        "kind": kind,
                        "value": value,
                        "customer_id": cid,
                        "verified": is_verified,
                        "first_seq": seq,
                    }
                    for (kind, value), (cid, is_verified, seq) in res.new_identifiers.items()
                ],
            )
        if res.verified:
            self.conn.execute(
                update(t.identifiers)
                .where(t.identifiers.c.workspace_id == workspace_id)
                .where(t.identifiers.c.kind == _bind("k"), t.identifiers.c.value == _bind("v"))
                .values(verified=True),
                [{"k": k, "v": v} for k, v in res.verified],
            )
        for merge in res.merges:
            self.apply_merge(workspace_id, merge.winner, merge.loser)
            self.record_merge(workspace_id, merge.winner, merge.loser, merge.rule, merge.evidence, now)
        if res.masked:
            self.insert_masked(workspace_id, res.masked)

    def record_merge(
        self, workspace_id: int, winner: int, loser: int, rule: str, evidence: dict[str, Any], now: datetime
    ) -> int:
        return int(
            self.conn.execute(
                insert(t.merges)
                .values(
                    workspace_id=workspace_id,
                    winner_id=winner,
                    loser_id=loser,
                    rule=rule,
                    evidence=evidence,
                    event_seq=evidence["event"]["seq"],
                    created_at=now,
                )
                .returning(t.merges.c.id)
            ).scalar_one()
        )

    def insert_masked(self, workspace_id: int, masked: Iterable[tuple[int, str, str]]) -> None:
        rows = [{"workspace_id": workspace_id, "customer_id": c, "kind": k, "value": v} for c, k, v in masked]
        if rows:
            self.conn.execute(self._insert_ignore(t.masked_identifiers), rows)

    def bulk_insert(self, table: t.Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many complete rows straight through the driver: COPY on PostgreSQL, executemany on
        SQLite, with values converted here as the column types would (SQLAlchemy's per-row parameter
        handling cost more than the inserts themselves)."""
        if not rows:
            return
        names = list(rows[0])
        convert = [_converter(table.c[name].type, self.dialect) for name in names]
        values = [tuple(f(row[n]) if f else row[n] for n, f in zip(names, convert, strict=True)) for row in rows]
        raw = self.conn.connection.driver_connection
        columns = ", ".join(names)
        if self.dialect == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in names)
        raw.executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", values)

    def bulk_update(self, table: t.Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
        """Set the other columns of ``rows`` on the rows whose ``key`` matches, in one statement on
        PostgreSQL (``UPDATE … FROM unnest(arrays)``) and one executemany on SQLite."""
        if not rows:
            return
        names = [key, *(name for name in rows[0] if name != key)]
        convert = [_converter(table.c[name].type, self.dialect) for name in names]
        raw = self.conn.connection.driver_connection
        if self.dialect == "postgresql":
            columns = [[f(row[n]) if f else row[n] for row in rows] for n, f in zip(names, convert, strict=True)]
            arrays = ", ".join(f"%s::{table.c[n].type.compile(dialect=self.conn.dialect)}[]" for n in names)
            sets = ", ".join(f'"{n}" = v."{n}"' for n in names[1:])
            aliases = ", ".join(f'"{n}"' for n in names)
            sql = (
                f'UPDATE {table.name} AS u SET {sets} FROM unnest({arrays}) AS v({aliases}) WHERE u."{key}" = v."{key}"'
            )
            with raw.cursor() as cursor:
                cursor.execute(sql, columns)
            return
        values = [
            tuple(
                f(row[n]) if f else row[n] for n, f in zip([*names[1:], key], [*convert[1:], convert[0]], strict=True)
            )
            for row in rows
        ]
        sets = ", ".join(f'"{n}" = ?' for n in names[1:])
        raw.executemany(f'UPDATE {table.name} SET {sets} WHERE "{key}" = ?', values)

    def _insert_ignore(self, table: t.Table) -> Any:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table).on_conflict_do_nothing()

    def apply_merge(self, workspace_id: int, winner: int, loser: int) -> None:
        """Point everything the loser owned at the winner."""
        c = self.conn
        c.execute(
            update(t.customers)
            .where(t.customers.c.workspace_id == workspace_id, t.customers.c.merged_into == loser)
            .values(merged_into=winner)
        )
        c.execute(update(t.customers).where(t.customers.c.id == loser).values(merged_into=winner))
        c.execute(
            update(t.identifiers)
            .where(t.identifiers.c.workspace_id == workspace_id, t.identifiers.c.customer_id == loser)
            .values(customer_id=winner)
        )
        for table in (t.masked_identifiers, t.customer_tags):
            moved = c.execute(
                select(table).where(table.c.workspace_id == workspace_id, table.c.customer_id == loser)
            ).mappings()
            rows = [{**row, "customer_id": winner} for row in moved]
            c.execute(delete(table).where(table.c.workspace_id == workspace_id, table.c.customer_id == loser))
            if rows:
                c.execute(self._insert_ignore(table), rows)
        for table in (t.events, t.orders):
            c.execute(
                update(table)
                .where(table.c.workspace_id == workspace_id, table.c.customer_id == loser)
                .values(customer_id=winner)
            )
        c.execute(delete(t.customer_traits).where(t.customer_traits.c.customer_id == loser))
        # The loser keeps only its identity; the winner's profile is folded again over both histories.
        c.execute(update(t.customers).where(t.customers.c.id == loser).values(last_seen=None, **_NO_PROFILE))
        history = c.execute(
            select(
                t.events.c.source, t.events.c.external_id, t.events.c.type, t.events.c.occurred_at, t.events.c.payload
            )
            .where(t.events.c.workspace_id == workspace_id, t.events.c.customer_id == winner)
            .order_by(t.events.c.seq)
        )
        items = [(winner, _TraitsOnly(row.payload.get("traits") or {})) for row in history]
        folded = profile_updates(items).get(winner, {})
        masked = folded.pop("masked_name", None)
        values = {field: folded.get(field) for field in _NO_PROFILE}
        values["name"] = values["name"] or masked
        c.execute(update(t.customers).where(t.customers.c.id == winner).values(**values))

    # -- orders -----------------------------------------------------------------------------

    def project_orders(self, workspace_id: int, items: Sequence[tuple[int, Event, int | None]]) -> set[int]:
        """Fold order snapshots into ``orders``: the latest lifecycle fact wins, times accumulate.

        Returns the customers an order moved away from, whose traits need a refresh too.
        """
        snapshots = [(seq, e, cid) for seq, e, cid in items if e.order is not None]
        if not snapshots:
            return set()
        keys = sorted({(e.order.platform, e.order.order_id) for _, e, _ in snapshots})  # type: ignore[union-attr]
        existing: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self._by_pairs(
            t.orders, t.orders.c.platform, t.orders.c.order_id, set(keys), workspace_id, tuple(t.orders.columns)
        ):
            existing[(row.platform, row.order_id)] = dict(row._mapping)
        state: dict[tuple[str, str], dict[str, Any]] = {}
        lines: dict[tuple[str, str], Order] = {}
        history: list[dict[str, Any]] = []
        for seq, event, cid in sorted(snapshots, key=lambda item: item[0]):
            order = event.order
            assert order is not None
            key = (order.platform, order.order_id)
            row = state.get(key) or existing.get(key)
            merged = _fold_order(row, order, event, seq, cid, workspace_id)
            state[key] = merged
            if order.lines and (row is None or key not in lines or seq >= merged["last_seq"]):
                lines[key] = order
            history.append(
                {
                    "key": key,
                    "event_seq": seq,
                    "status": STATUS_OF_EVENT.get(event.type, order.status),
                    "at": event.occurred_at,
                }
            )
        moved = {
            existing[key]["customer_id"]
            for key, row in state.items()
            if key in existing and existing[key]["customer_id"] not in (None, row["customer_id"])
        }
        new_rows = [row for key, row in state.items() if "id" not in row]
        old_rows = [row for key, row in state.items() if "id" in row]
        if new_rows:
            ids = self._next_ids(t.orders, "id", len(new_rows))
            for row, pk in zip(new_rows, ids, strict=True):
                row["id"] = pk
            self.bulk_insert(t.orders, new_rows)
        self.bulk_update(t.orders, "id", old_rows)
        if lines:
            pks = [state[key]["id"] for key in lines]
            self.conn.execute(delete(t.order_lines).where(among(self.dialect, t.order_lines.c.order_pk, pks)))
            self.bulk_insert(
                t.order_lines,
                [
                    {
                        "order_pk": state[key]["id"],
                        "line_no": n,
                        "workspace_id": workspace_id,
                        "sku": line.sku,
                        "product_id": line.product_id,
                        "title": line.title,
                        "quantity": line.quantity,
                        "unit_price_fen": to_fen(line.unit_price),
                        "amount_fen": to_fen(line.amount),
                        "category": line.category,
                    }
                    for key, order in lines.items()
                    for n, line in enumerate(order.lines, start=1)
                ],
            )
        self.bulk_insert(
            t.order_status_history,
            [
                {
                    "order_pk": state[h["key"]]["id"],
                    "event_seq": h["event_seq"],
                    "workspace_id": workspace_id,
                    "status": h["status"],
                    "at": h["at"],
                }
                for h in history
            ],
        )
        return moved

    # -- traits -----------------------------------------------------------------------------

    def refresh_traits(self, workspace_id: int, customer_ids: set[int]) -> None:
        """Recompute the basic computed traits of the given (live) customers from orders and events."""
        ids = sorted(i for i in customer_ids if i is not None)
        for part in chunks(ids, 20_000):
            live = list(
                self.conn.execute(
                    select(t.customers.c.id).where(
                        among(self.dialect, t.customers.c.id, part), t.customers.c.merged_into.is_(None)
                    )
                ).scalars()
            )
            if live:
                self._refresh_traits_part(workspace_id, live)

    def mark_dirty(self, workspace_id: int, customer_ids: set[int]) -> None:
        """Defer a traits refresh (bulk imports): the rows wait in ``dirty_customers``."""
        ids = sorted(c for c in customer_ids if c is not None)
        if not ids:
            return
        if self.dialect == "postgresql":
            sql = (
                "INSERT INTO dirty_customers (workspace_id, customer_id) "
                "SELECT :ws, unnest(CAST(:ids AS BIGINT[])) ON CONFLICT DO NOTHING"
            )
            self.conn.execute(text(sql), {"ws": workspace_id, "ids": ids})
        else:
            sql = (
                "INSERT OR IGNORE INTO dirty_customers (workspace_id, customer_id) "
                "SELECT :ws, value FROM json_each(:ids)"
            )
            self.conn.execute(text(sql), {"ws": workspace_id, "ids": orjson.dumps(ids).decode()})

    def take_dirty(self, workspace_id: int, limit: int) -> set[int]:
        """Up to ``limit`` customers waiting for a traits refresh, removed from the waiting list."""
        self._plan_each_lookup()
        ids = set(
            self.conn.execute(
                select(t.dirty_customers.c.customer_id)
                .where(t.dirty_customers.c.workspace_id == workspace_id)
                .order_by(t.dirty_customers.c.customer_id)
                .limit(limit)
            ).scalars()
        )
        if ids:
            self.conn.execute(
                delete(t.dirty_customers).where(
                    t.dirty_customers.c.workspace_id == workspace_id,
                    among(self.dialect, t.dirty_customers.c.customer_id, sorted(ids)),
                )
            )
        return ids

    def _refresh_traits_part(self, workspace_id: int, ids: list[int]) -> None:
        o, e, ol = t.orders, t.events, t.order_lines
        traits: dict[int, dict[str, Any]] = {
            cid: {
                "customer_id": cid,
                "workspace_id": workspace_id,
                "event_count": 0,
                "order_count": 0,
                "total_spent_fen": 0,
                "aov_fen": 0,
                "first_order_at": None,
                "last_order_at": None,
                "preferred_channel": None,
                "channels": [],
                "categories": [],
            }
            for cid in ids
        }
        spent = func.coalesce(o.c.paid_fen, 0) - o.c.refunded_fen
        for cid, count, total, first, last in self.conn.execute(
            select(o.c.customer_id, func.count(), func.sum(spent), func.min(o.c.placed_at), func.max(o.c.placed_at))
            .where(
                o.c.workspace_id == workspace_id, among(self.dialect, o.c.customer_id, ids), o.c.paid_fen.is_not(None)
            )
            .group_by(o.c.customer_id)
        ):
            row = traits[cid]
            row.update(order_count=count, total_spent_fen=int(total or 0), first_order_at=first, last_order_at=last)
            row["aov_fen"] = int(total or 0) // count if count else 0
        seen: dict[int, tuple[datetime, datetime]] = {}
        channel_counts: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for cid, channel, count, first, last in self.conn.execute(
            select(e.c.customer_id, e.c.channel, func.count(), func.min(e.c.occurred_at), func.max(e.c.occurred_at))
            .where(e.c.workspace_id == workspace_id, among(self.dialect, e.c.customer_id, ids))
            .group_by(e.c.customer_id, e.c.channel)
        ):
            first, last = _aware(first), _aware(last)
            traits[cid]["event_count"] += count
            channel_counts[cid].append((count, channel))
            lo, hi = seen.get(cid, (first, last))
            seen[cid] = (min(lo, first), max(hi, last))
        for cid, counts in channel_counts.items():
            counts.sort(key=lambda item: (-item[0], item[1]))
            traits[cid]["channels"] = sorted(ch for _, ch in counts)
            traits[cid]["preferred_channel"] = counts[0][1]
        categories: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for cid, category, qty in self.conn.execute(
            select(o.c.customer_id, ol.c.category, func.sum(ol.c.quantity))
            .join(ol, ol.c.order_pk == o.c.id)
            .where(
                o.c.workspace_id == workspace_id, among(self.dialect, o.c.customer_id, ids), ol.c.category.is_not(None)
            )
            .group_by(o.c.customer_id, ol.c.category)
        ):
            categories[cid].append((int(qty or 0), category))
        for cid, cats in categories.items():
            traits[cid]["categories"] = [c for _, c in sorted(cats, key=lambda item: (-item[0], item[1]))]
        self.conn.execute(delete(t.customer_traits).where(among(self.dialect, t.customer_traits.c.customer_id, ids)))
        self.bulk_insert(t.customer_traits, list(traits.values()))
        self.bulk_update(
            t.customers, "id", [{"id": cid, "first_seen": lo, "last_seen": hi} for cid, (lo, hi) in seen.items()]
        )

    def update_profiles(self, profiles: dict[int, dict[str, Any]]) -> None:
        """Write profile traits (name, city, ...) learned from this batch in one statement.

        A missing value never erases a known one; a masked name only fills an empty name.
        """
        if not profiles:
            return
        c = t.customers.c
        fields = ("gender", "province", "city", "address", "birthday")
        values: dict[str, Any] = {f: func.coalesce(_bind(f"new_{f}"), c[f]) for f in fields}
        values["name"] = func.coalesce(_bind("new_name"), c.name, _bind("new_masked_name"))
        self.conn.execute(
            update(t.customers).where(c.id == _bind("cid")).values(values),
            [
                {"cid": cid, **{f"new_{f}": row.get(f) for f in (*fields, "name", "masked_name")}}
                for cid, row in profiles.items()
            ],
        )


_NO_PROFILE = {"name": None, "gender": None, "province": None, "city": None, "address": None, "birthday": None}


class _TraitsOnly:
    """Just enough of an Event for the profile fold."""

    def __init__(self, traits: dict[str, Any]) -> None:
        self.traits = traits


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _sqlite_time(moment: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime type stores and parses back (naive UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _converter(kind: Any, dialect: str) -> Callable[[Any], Any] | None:
    """How ``bulk_insert`` hands one column's values to the driver, or None to pass them as they are."""
    if isinstance(kind, t.UTCDateTime):
        return _sqlite_column_time if dialect == "sqlite" else _pg_column_time
    if dialect == "postgresql":
        return Jsonb if isinstance(kind, JSON) else None
    if isinstance(kind, JSON):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if isinstance(kind, Boolean):
        return lambda value: None if value is None else int(value)
    return None


def _sqlite_column_time(moment: datetime | None) -> str | None:
    """What UTCDateTime stores on SQLite, for ``bulk_insert``: naive UTC text; naive input is an error."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_column_time(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return moment


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite aggregates come back as text
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


_RANK = {"pending_payment": 0, "paid": 1, "shipped": 2, "completed": 3, "cancelled": 4, "refunded": 5}


def _fold_order(
    row: dict[str, Any] | None, order: Order, event: Event, seq: int, cid: int | None, workspace_id: int
) -> dict[str, Any]:
    snapshot = {
        "workspace_id": workspace_id,
        "platform": order.platform,
        "order_id": order.order_id,
        "customer_id": cid,
        "status": order.status,
        "raw_status": order.raw_status,
        "total_fen": to_fen(order.total),
        "paid_fen": to_fen(order.paid),
        "refunded_fen": to_fen(order.refunded) or 0,
        "currency": order.currency,
        "placed_at": order.placed_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "completed_at": order.completed_at,
        "refunded_at": order.refunded_at,
        "store_id": order.store_id,
        "channel": event.channel,
        "last_seq": seq,
    }
    if row is None:
        return snapshot
    merged = dict(row)
    newer = (_RANK[order.status], seq) >= (_RANK[row["status"]], row["last_seq"])
    for name in ("placed_at", "paid_at", "shipped_at", "completed_at", "refunded_at", "store_id", "raw_status"):
        if snapshot[name] is not None and (merged.get(name) is None or newer):
            merged[name] = snapshot[name]
    if newer:
        for name in ("status", "total_fen", "paid_fen", "currency", "channel"):
            if snapshot[name] is not None:
                merged[name] = snapshot[name]
    merged["refunded_fen"] = max(merged.get("refunded_fen") or 0, snapshot["refunded_fen"])
    if cid is not None and seq >= row["last_seq"]:
        merged["customer_id"] = cid
    merged["last_seq"] = max(seq, row["last_seq"])
    return merged
