"""Ingestion: append a batch to the event log once, resolve identities, project orders and traits.

One batch is one transaction. Re-sending a batch finds every key already in the log and changes
nothing; a crash loses at most the batch in flight, and re-sending it completes the work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from liuyu.domain.customers.identity import IdentityGraph, IdentityPolicy, ResolvedEvent
from liuyu.domain.customers.profile import profile_updates
from liuyu.domain.eventlog import Event
from liuyu.services.ports import IngestStore, Projection


@dataclass
class IngestReport:
    received: int = 0
    stored: int = 0
    duplicate: int = 0
    customers_created: int = 0
    merges: int = 0
    conflicts: int = 0
    stored_keys: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        for name in ("received", "stored", "duplicate", "customers_created", "merges", "conflicts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def ingest_events(
    store: IngestStore,
    workspace_id: int,
    events: Sequence[Event],
    *,
    policy: IdentityPolicy | None = None,
    import_id: int | None = None,
    now: datetime | None = None,
    projections: Sequence[Projection] = (),
    defer_traits: bool = False,
) -> IngestReport:
    """Store the new events of a batch and bring every derived table up to date with them.

    ``defer_traits`` (bulk imports) only marks the touched customers; ``refresh_deferred_traits``
    brings them up to date in big set-wise passes at the end.
    """
    now = now or datetime.now(UTC)
    policy = policy or IdentityPolicy()
    report = IngestReport(received=len(events))
    store.lock_workspace(workspace_id)

    seen: set[tuple[str, str]] = set()
    fresh: list[Event] = []
    for event in events:
        if event.key in seen:
            continue
        seen.add(event.key)
        fresh.append(event)
    existing = store.existing_keys(workspace_id, [e.key for e in fresh])
    new = [e for e in fresh if e.key not in existing]
    report.duplicate = len(events) - len(new)
    report.stored = len(new)
    report.stored_keys = [e.key for e in new]
    if not new:
        return report

    seqs = store.next_seqs(len(new))
    allocate = store.customer_id_allocator()
    keys = {i.key for e in new for i in e.identifiers if not i.masked}
    graph = store.load_graph(workspace_id, keys, policy, lambda _seq: allocate())
    rows, merges = resolve_identities(store, workspace_id, graph, list(zip(seqs, new, strict=True)), now, report)
    store.append_events(workspace_id, rows, now, import_id)
    project(store, workspace_id, rows, {winner for winner, _ in merges}, projections, merges, defer_traits)
    return report


def resolve_identities(
    store: IngestStore,
    workspace_id: int,
    graph: IdentityGraph,
    items: list[tuple[int, Event]],
    now: datetime,
    report: IngestReport,
    existing: set[int] | None = None,
) -> tuple[list[tuple[int, Event, int | None]], set[int]]:
    """Resolve a batch against the graph and write the identity changes.

    Returns (seq, event, customer) rows and the (winner, loser) merges of this batch.
    ``existing`` names customers a replay re-creates by anchor: their rows are there already.
    """
    resolution = graph.resolve(
        ResolvedEvent(seq, e.identifiers, e.occurred_at, e.source, e.external_id) for seq, e in items
    )
    report.customers_created += len(resolution.new_customers)
    if existing:
        resolution.new_customers = {c: a for c, a in resolution.new_customers.items() if c not in existing}
    store.write_identity(workspace_id, resolution, {seq: e.occurred_at for seq, e in items}, now)
    report.merges += len(resolution.merges)
    report.conflicts += len(resolution.conflicts)
    rows = [(seq, e, resolution.assignments.get(seq)) for seq, e in items]
    return rows, [(m.winner, m.loser) for m in resolution.merges]


def project(
    store: IngestStore,
    workspace_id: int,
    rows: list[tuple[int, Event, int | None]],
    also: set[int],
    projections: Sequence[Projection] = (),
    merges: Sequence[tuple[int, int]] = (),
    defer_traits: bool = False,
) -> None:
    """Orders, profiles and traits for the customers a batch touched (and ``also`` these), then the
    registered projections."""
    moved = store.project_orders(workspace_id, rows)
    store.update_profiles(profile_updates((cid, e) for _, e, cid in rows))
    affected = {cid for _, _, cid in rows if cid is not None} | moved | also
    if defer_traits:
        store.mark_dirty(workspace_id, affected)
    else:
        store.refresh_traits(workspace_id, affected)
    for projection in projections:
        if merges:
            projection.merged(workspace_id, merges)
        projection.apply(workspace_id, rows)


def refresh_deferred_traits(uow_factory: Callable[[], Any], workspace_id: int, chunk: int = 20_000) -> int:
    """Refresh the traits of customers marked by deferred batches; one transaction per chunk."""
    done = 0
    while True:
        with uow_factory() as uow:
            ids = uow.ingest.take_dirty(workspace_id, chunk)
            if not ids:
                return done
            uow.ingest.refresh_traits(workspace_id, ids)
            uow.commit()
        done += len(ids)
