"""SQL side of messaging: providers, templates, consent log, suppression list, send decisions, and
the facts the guardrails read from the customer core and the service hub."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, text, update

from liuyu.storage import tables as t
from liuyu.storage.messaging_tables import (
    messaging_consents,
    messaging_providers,
    messaging_sends,
    messaging_settings,
    messaging_suppressions,
    messaging_templates,
)
from liuyu.storage.service_tables import conversations, messages, outbox


def _dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _same_keys(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with one set of columns (missing ones None), as an executemany needs."""
    keys = {k for row in rows for k in row}
    return [{k: row.get(k) for k in keys} for row in rows]


# Statements built once: a decision runs a dozen small queries, and building them each time cost
# more than running them.
_WS, _ID, _IDS = bindparam("ws"), bindparam("id"), bindparam("ids", expanding=True)
_SENDS_BY_KEY = select(messaging_sends).where(
    messaging_sends.c.workspace_id == _WS, messaging_sends.c.idempotency_key.in_(bindparam("keys", expanding=True))
)
_CUSTOMER = select(t.customers.c.id, t.customers.c.merged_into).where(
    t.customers.c.workspace_id == _WS, t.customers.c.id == _ID
)
_CUSTOMERS = select(t.customers.c.id, t.customers.c.merged_into).where(
    t.customers.c.workspace_id == _WS, t.customers.c.id.in_(_IDS)
)
_LOSERS = select(t.customers.c.id).where(t.customers.c.workspace_id == _WS, t.customers.c.merged_into == _ID)
_LOSERS_OF = (
    select(t.customers.c.merged_into, t.customers.c.id)
    .where(t.customers.c.workspace_id == _WS, t.customers.c.merged_into.in_(_IDS))
    .order_by(t.customers.c.id)
)
_IDENTIFIERS = (
    select(t.identifiers.c.customer_id, t.identifiers.c.kind, t.identifiers.c.value)
    .where(
        t.identifiers.c.workspace_id == _WS,
        t.identifiers.c.customer_id.in_(_IDS),
        t.identifiers.c.kind.in_(bindparam("kinds", expanding=True)),
    )
    .order_by(t.identifiers.c.customer_id, t.identifiers.c.verified.desc(), t.identifiers.c.first_seq)
)
_RANKED_EVENTS = (
    select(
        t.events.c.customer_id,
        t.events.c.payload,
        func.row_number()
        .over(partition_by=t.events.c.customer_id, order_by=t.events.c.occurred_at.desc())
        .label("rank"),
    )
    .where(t.events.c.workspace_id == _WS, t.events.c.customer_id.in_(_IDS))
    .subquery()
)
_RECENT_PAYLOADS = (
    select(_RANKED_EVENTS.c.customer_id, _RANKED_EVENTS.c.payload)
    .where(_RANKED_EVENTS.c.rank <= 50)
    .order_by(_RANKED_EVENTS.c.customer_id, _RANKED_EVENTS.c.rank)
)
_CONSENTS = (
    select(messaging_consents)
    .where(messaging_consents.c.workspace_id == _WS, messaging_consents.c.customer_id.in_(_IDS))
    .order_by(messaging_consents.c.at, messaging_consents.c.id)
)
_TAGGED = (
    select(t.customer_tags.c.customer_id, t.customer_tags.c.tag)
    .where(
        t.customer_tags.c.workspace_id == _WS,
        t.customer_tags.c.customer_id.in_(_IDS),
        t.customer_tags.c.tag.in_(bindparam("tags", expanding=True)),
    )
    .order_by(t.customer_tags.c.customer_id, t.customer_tags.c.tag)
)
_OPEN_ANALYSES = (
    select(conversations.c.customer_id, conversations.c.id, messages.c.analysis)
    .join(messages, messages.c.conversation_id == conversations.c.id)
    .where(
        conversations.c.workspace_id == _WS,
        conversations.c.customer_id.in_(_IDS),
        conversations.c.status != "resolved",
        messages.c.direction == "in",
        messages.c.analysis.is_not(None),
    )
    .order_by(conversations.c.id, messages.c.id)
)
_RECENT_ANALYSES = (
    select(conversations.c.customer_id, messages.c.sent_at, messages.c.analysis)
    .join(conversations, messages.c.conversation_id == conversations.c.id)
    .where(
        conversations.c.workspace_id == _WS,
        conversations.c.customer_id.in_(_IDS),
        messages.c.direction == "in",
        messages.c.sent_at > bindparam("since", type_=messages.c.sent_at.type),
        messages.c.analysis.is_not(None),
    )
    .order_by(messages.c.sent_at.desc())
)
_SUPPRESSED = select(messaging_suppressions.c.kind, messaging_suppressions.c.value).where(
    messaging_suppressions.c.workspace_id == _WS,
    messaging_suppressions.c.value.in_(bindparam("values", expanding=True)),
)
_MARKETING_TIMES = select(
    messaging_sends.c.customer_id, func.coalesce(messaging_sends.c.not_before, messaging_sends.c.decided_at)
).where(
    messaging_sends.c.workspace_id == _WS,
    messaging_sends.c.customer_id.in_(_IDS),
    messaging_sends.c.purpose == "marketing",
    messaging_sends.c.decision == "queued",
    or_(messaging_sends.c.delivery_status.is_(None), messaging_sends.c.delivery_status != "failed"),
    messaging_sends.c.decided_at > bindparam("since", type_=messaging_sends.c.decided_at.type),
)

# Inserted in one executemany each, then their ids read back by unique key: RETURNING in row order
# would make SQLAlchemy send one INSERT per row on SQLite.
_SEND_IDS = select(messaging_sends.c.idempotency_key, messaging_sends.c.id).where(
    messaging_sends.c.workspace_id == _WS, messaging_sends.c.idempotency_key.in_(bindparam("keys", expanding=True))
)
_OUTBOX_IDS = select(outbox.c.idempotency_key, outbox.c.id).where(
    outbox.c.idempotency_key.in_(bindparam("keys", expanding=True))
)
_LINK_OUTBOX = (
    update(messaging_sends)
    .where(messaging_sends.c.id == bindparam("send_id"))
    .values(outbox_id=bindparam("link_outbox_id"))
)


class SqlMessaging:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Setup rows read by every decision, kept for this unit of work (one transaction); writes
        # through this store drop them.
        self._setup: dict[tuple[Any, ...], Any] = {}

    def _cached(self, key: tuple[Any, ...], load: Any) -> Any:
        if key not in self._setup:
            self._setup[key] = load()
        return self._setup[key]

    @property
    def serialized(self) -> bool:
        """True where the database already serializes writers (SQLite's one write lock)."""
        return self.conn.dialect.name == "sqlite"

    # -- settings, providers, templates -----------------------------------------------------------

    def settings(self, workspace_id: int) -> dict[str, Any]:
        found = self._cached(
            ("settings", workspace_id),
            lambda: self.conn.execute(
                select(messaging_settings.c.settings).where(messaging_settings.c.workspace_id == workspace_id)
            ).scalar(),
        )
        return dict(found or {})

    def save_settings(self, workspace_id: int, settings: dict[str, Any], now: datetime) -> None:
        self._setup.clear()
        changed = self.conn.execute(
            update(messaging_settings)
            .where(messaging_settings.c.workspace_id == workspace_id)
            .values(settings=settings, updated_at=now)
        ).rowcount
        if not changed:
            self.conn.execute(
                insert(messaging_settings).values(workspace_id=workspace_id, settings=settings, updated_at=now)
            )

    def provider(self, workspace_id: int, channel: str) -> dict[str, Any] | None:
        row = self._cached(
            ("provider", workspace_id, channel),
            lambda: self.conn.execute(
                select(messaging_providers).where(
                    messaging_providers.c.workspace_id == workspace_id, messaging_providers.c.channel == channel
                )
            ).first(),
        )
        return _dict(row) if row else None

    def providers(self, workspace_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(messaging_providers)
            .where(messaging_providers.c.workspace_id == workspace_id)
            .order_by(messaging_providers.c.channel)
        )
        return [_dict(r) for r in rows]

    def save_provider(self, workspace_id: int, channel: str, values: dict[str, Any], now: datetime) -> None:
        self._setup.clear()
        where = (messaging_providers.c.workspace_id == workspace_id, messaging_providers.c.channel == channel)
        if self.conn.execute(update(messaging_providers).where(*where).values(**values, updated_at=now)).rowcount:
            return
        self.conn.execute(
            insert(messaging_providers).values(workspace_id=workspace_id, channel=channel, updated_at=now, **values)
        )

    def template(self, workspace_id: int, channel: str, name: str) -> dict[str, Any] | None:
        row = self._cached(
            ("template", workspace_id, channel, name),
            lambda: self.conn.execute(
                select(messaging_templates).where(
                    messaging_templates.c.workspace_id == workspace_id,
                    messaging_templates.c.channel == channel,
                    messaging_templates.c.name == name,
                )
            ).first(),
        )
        return _dict(row) if row else None

    def templates(self, workspace_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(messaging_templates)
            .where(messaging_templates.c.workspace_id == workspace_id)
            .order_by(messaging_templates.c.channel, messaging_templates.c.name)
        )
        return [_dict(r) for r in rows]

    def save_template(self, workspace_id: int, channel: str, name: str, values: dict[str, Any], now: datetime) -> None:
        self._setup.clear()
        where = (
            messaging_templates.c.workspace_id == workspace_id,
            messaging_templates.c.channel == channel,
            messaging_templates.c.name == name,
        )
        if self.conn.execute(update(messaging_templates).where(*where).values(**values, updated_at=now)).rowcount:
            return
        self.conn.execute(
            insert(messaging_templates).values(
                workspace_id=workspace_id, channel=channel, name=name, updated_at=now, **values
            )
        )

    def delete_template(self, workspace_id: int, channel: str, name: str) -> bool:
        self._setup.clear()
        return bool(
            self.conn.execute(
                delete(messaging_templates).where(
                    messaging_templates.c.workspace_id == workspace_id,
                    messaging_templates.c.channel == channel,
                    messaging_templates.c.name == name,
                )
            ).rowcount
        )

    # -- customers: who, where, and what the guardrails look at ---------------------------------

    def live_customer(self, workspace_id: int, customer_id: int) -> int | None:
        row = self.conn.execute(_CUSTOMER, {"ws": workspace_id, "id": customer_id}).first()
        return None if row is None else int(row.merged_into or row.id)

    def family(self, workspace_id: int, customer_id: int) -> list[int]:
        """The customer and every customer merged into it: consent and sends follow a merge."""
        losers = self.conn.execute(_LOSERS, {"ws": workspace_id, "id": customer_id}).scalars()
        return [customer_id, *losers]

    def live_customers(self, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, int]:
        """Each known customer id -> the customer that now stands for it (the merge winner)."""
        rows = self.conn.execute(_CUSTOMERS, {"ws": workspace_id, "ids": sorted(set(customer_ids))})
        return {int(r.id): int(r.merged_into or r.id) for r in rows}

    def families(self, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, list[int]]:
        """Each customer with every customer merged into it, in one query."""
        found: dict[int, list[int]] = {c: [c] for c in customer_ids}
        for winner, loser in self.conn.execute(_LOSERS_OF, {"ws": workspace_id, "ids": sorted(found)}):
            found[int(winner)].append(int(loser))
        return found

    def lock_customers(self, workspace_id: int, customer_ids: Sequence[int]) -> None:
        """Serialize send decisions per customer so two journeys cannot both take the last slot of a
        cap; one statement takes the locks in id order, so two batches never wait on each other in a
        cycle (SQLite already holds its one write lock)."""
        if self.conn.dialect.name == "postgresql" and customer_ids:
            self.conn.execute(
                text(
                    "SELECT count(pg_advisory_xact_lock(hashtext('liuyu:messaging:' || current_schema() || :ws),"
                    " CAST(c % 2147483647 AS integer)))"  # the two-key lock takes 32-bit keys
                    " FROM (SELECT c FROM unnest(CAST(:ids AS bigint[])) AS c ORDER BY c) AS ordered"
                ),
                {"ws": str(workspace_id), "ids": sorted(set(customer_ids))},
            )

    def identifiers_of(
        self, workspace_id: int, customer_ids: Sequence[int], kinds: Sequence[str]
    ) -> dict[int, dict[str, list[str]]]:
        """Identifier values per customer and kind, verified ones and the oldest first."""
        found: dict[int, dict[str, list[str]]] = {}
        if not customer_ids or not kinds:
            return found
        params = {"ws": workspace_id, "ids": sorted(set(customer_ids)), "kinds": list(kinds)}
        for customer, kind, value in self.conn.execute(_IDENTIFIERS, params):
            found.setdefault(int(customer), {}).setdefault(kind, []).append(value)
        return found

    def timezones(self, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, str]:
        """The time zone each customer's recent events name (``traits.timezone``), where one does."""
        found: dict[int, str] = {}
        if not customer_ids:
            return found
        for customer, payload in self.conn.execute(
            _RECENT_PAYLOADS, {"ws": workspace_id, "ids": sorted(set(customer_ids))}
        ):
            zone = ((payload or {}).get("traits") or {}).get("timezone")
            if isinstance(zone, str) and zone and int(customer) not in found:
                found[int(customer)] = zone
        return found

    def consents(self, workspace_id: int, customer_ids: Sequence[int]) -> list[dict[str, Any]]:
        rows = self.conn.execute(_CONSENTS, {"ws": workspace_id, "ids": list(customer_ids)})
        return [_dict(r) for r in rows]

    def add_consent(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(messaging_consents).values(**row)).inserted_primary_key[0])

    def complaints(self, workspace_id: int, customer_ids: Sequence[int], tags: Sequence[str]) -> dict[int, str]:
        """Why each customer counts as complaining: a complaint tag, or an unresolved conversation one
        of whose customer messages was read as a complaint. Customers without one are absent."""
        ids = sorted(set(customer_ids))
        tagged: dict[int, str] = {}
        opened: dict[int, str] = {}
        if not ids:
            return tagged
        if tags:
            for customer, tag in self.conn.execute(_TAGGED, {"ws": workspace_id, "ids": ids, "tags": list(tags)}):
                tagged.setdefault(int(customer), f"tagged {tag}")
        for customer, conversation_id, analysis in self.conn.execute(_OPEN_ANALYSES, {"ws": workspace_id, "ids": ids}):
            if ((analysis or {}).get("intent") or {}).get("label") == "complaint":
                opened.setdefault(int(customer), f"open complaint in conversation {conversation_id}")
        return {**opened, **tagged}

    def latest_negatives(
        self, workspace_id: int, customer_ids: Sequence[int], since: datetime, score: float
    ) -> dict[int, datetime]:
        """Per customer, the latest message since ``since`` whose positive probability is at most
        ``score`` or whose anger is high."""
        found: dict[int, datetime] = {}
        if not customer_ids:
            return found
        params = {"ws": workspace_id, "ids": sorted(set(customer_ids)), "since": since}
        for customer, sent_at, analysis in self.conn.execute(_RECENT_ANALYSES, params):
            sentiment = (analysis or {}).get("sentiment") or {}
            value = sentiment.get("score")
            if (isinstance(value, int | float) and value <= score) or (analysis or {}).get("anger") == "high":
                found.setdefault(int(customer), sent_at)
        return found

    # -- suppression list ------------------------------------------------------------------------

    def suppressions(self, workspace_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(messaging_suppressions)
            .where(messaging_suppressions.c.workspace_id == workspace_id)
            .order_by(messaging_suppressions.c.created_at.desc(), messaging_suppressions.c.id.desc())
            .limit(limit)
        )
        return [_dict(r) for r in rows]

    def suppression(self, workspace_id: int, kind: str, value: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(messaging_suppressions).where(
                messaging_suppressions.c.workspace_id == workspace_id,
                messaging_suppressions.c.kind == kind,
                messaging_suppressions.c.value == value,
            )
        ).first()
        return _dict(row) if row else None

    def add_suppression(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(messaging_suppressions).values(**row)).inserted_primary_key[0])

    def remove_suppression(self, workspace_id: int, kind: str, value: str) -> bool:
        return bool(
            self.conn.execute(
                delete(messaging_suppressions).where(
                    messaging_suppressions.c.workspace_id == workspace_id,
                    messaging_suppressions.c.kind == kind,
                    messaging_suppressions.c.value == value,
                )
            ).rowcount
        )

    def suppressed(self, workspace_id: int, values: Sequence[str]) -> set[tuple[str, str]]:
        """The (kind, value) entries of the suppression list among ``values``."""
        if not values:
            return set()
        rows = self.conn.execute(_SUPPRESSED, {"ws": workspace_id, "values": sorted(set(values))})
        return {(r.kind, r.value) for r in rows}

    # -- send decisions and the outbox ----------------------------------------------------------

    def sends_by_key(self, workspace_id: int, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The recorded decisions of these idempotency keys, by key."""
        if not keys:
            return {}
        rows = self.conn.execute(_SENDS_BY_KEY, {"ws": workspace_id, "keys": sorted(set(keys))})
        return {r.idempotency_key: _dict(r) for r in rows}

    def add_sends(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert decision rows (one workspace) in one executemany; their ids in the order given."""
        if not rows:
            return []
        self.conn.execute(insert(messaging_sends), _same_keys(rows))
        keys = [row["idempotency_key"] for row in rows]
        ids = dict(self.conn.execute(_SEND_IDS, {"ws": rows[0]["workspace_id"], "keys": keys}).all())
        return [int(ids[k]) for k in keys]

    def enqueue_many(self, links: Sequence[tuple[int, dict[str, Any]]]) -> list[int]:
        """Queue outbox rows for sends (send id, outbox row) and link each send to its row."""
        if not links:
            return []
        self.conn.execute(insert(outbox), [{"route": "messaging", **row} for _, row in links])
        keys = [row["idempotency_key"] for _, row in links]
        found = dict(self.conn.execute(_OUTBOX_IDS, {"keys": keys}).all())
        ids = [int(found[k]) for k in keys]
        self.conn.execute(
            _LINK_OUTBOX,
            [{"send_id": send_id, "link_outbox_id": o} for (send_id, _), o in zip(links, ids, strict=True)],
        )
        return ids

    def marketing_times(
        self, workspace_id: int, customer_ids: Sequence[int], since: datetime
    ) -> dict[int, list[datetime]]:
        """Per customer, when their queued marketing sends go (or went), from ``since`` on; failed
        deliveries do not count against a cap."""
        found: dict[int, list[datetime]] = {}
        if not customer_ids:
            return found
        params = {"ws": workspace_id, "ids": sorted(set(customer_ids)), "since": since}
        for customer, at in self.conn.execute(_MARKETING_TIMES, params):
            found.setdefault(int(customer), []).append(at)  # coalesce keeps the column type: aware UTC
        return found

    def bought_category_at(self, workspace_id: int, customer_ids: Sequence[int], category: str) -> dict[int, datetime]:
        """Per customer, when they last paid for an order with a line of ``category`` (durable-purchase
        guardrail)."""
        o, line = t.orders, t.order_lines
        if not customer_ids:
            return {}
        query = (
            select(o.c.customer_id, func.max(func.coalesce(o.c.paid_at, o.c.placed_at)))
            .select_from(o.join(line, line.c.order_pk == o.c.id))
            .where(
                o.c.workspace_id == workspace_id,
                o.c.customer_id.in_(sorted(set(customer_ids))),
                o.c.paid_fen.is_not(None),
                line.c.category == category,
            )
            .group_by(o.c.customer_id)
        )
        return {int(c): at for c, at in self.conn.execute(query) if at is not None}

    def sends(
        self,
        workspace_id: int,
        *,
        customer_ids: Sequence[int] | None = None,
        reason: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        query = select(messaging_sends).where(messaging_sends.c.workspace_id == workspace_id)
        if customer_ids is not None:
            query = query.where(messaging_sends.c.customer_id.in_(list(customer_ids)))
        order = [messaging_sends.c.id.desc()]
        if reason is not None:  # newest first along ix_messaging_sends_reason
            query = query.where(messaging_sends.c.reason == reason)
            order.insert(0, messaging_sends.c.decided_at.desc())
        rows = self.conn.execute(query.order_by(*order).limit(limit))
        return [_dict(r) for r in rows]

    def reason_counts(self, workspace_id: int, since: datetime) -> dict[str, int]:
        """Decisions per reason code since ``since`` (read from ix_messaging_sends_reason alone)."""
        s = messaging_sends.c
        rows = self.conn.execute(
            select(s.reason, func.count())
            .where(s.workspace_id == workspace_id, s.reason.is_not(None), s.decided_at >= since)
            .group_by(s.reason)
        )
        return {reason: int(n) for reason, n in rows}

    def finish(self, outbox_id: int, status: str, at: datetime, values: dict[str, Any]) -> None:
        """One delivery attempt's outcome, on the outbox row and on the send."""
        self.conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(status=status, **values))
        send: dict[str, Any] = {"delivery_status": {"pending": "retrying"}.get(status, status)}
        send["last_error"] = values.get("last_error")
        if status == "sent":
            send["sent_at"] = at
        self.conn.execute(update(messaging_sends).where(messaging_sends.c.outbox_id == outbox_id).values(**send))

    def scrub_customer(self, workspace_id: int, customer_ids: Sequence[int]) -> int:
        """Erasure: the customers' queued messages lose their address and text (and those not yet
        sent are cancelled), consent proofs and delivery errors are blanked. Returns the sends touched."""
        ids = list(customer_ids)
        outbox_ids = list(
            self.conn.execute(
                select(messaging_sends.c.outbox_id).where(
                    messaging_sends.c.workspace_id == workspace_id,
                    messaging_sends.c.customer_id.in_(ids),
                    messaging_sends.c.outbox_id.is_not(None),
                )
            ).scalars()
        )
        if outbox_ids:
            self.conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(outbox_ids), outbox.c.status.in_(("pending", "sending")))
                .values(status="failed", last_error="customer erased")
            )
            self.conn.execute(update(outbox).where(outbox.c.id.in_(outbox_ids)).values(payload={"erased": True}))
            self.conn.execute(
                update(messaging_sends)
                .where(messaging_sends.c.outbox_id.in_(outbox_ids), messaging_sends.c.delivery_status != "sent")
                .values(delivery_status="failed")
            )
        done = self.conn.execute(
            update(messaging_sends)
            .where(messaging_sends.c.workspace_id == workspace_id, messaging_sends.c.customer_id.in_(ids))
            .values(last_error=None, detail="")
        )
        self.conn.execute(
            update(messaging_consents)
            .where(messaging_consents.c.workspace_id == workspace_id, messaging_consents.c.customer_id.in_(ids))
            .values(evidence="[erased]")
        )
        return int(done.rowcount or 0)
