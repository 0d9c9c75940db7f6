"""Undoing a merge and rebuilding from the log: both replay events through the same resolver.

Customers keep their ids across replays because each is known by its anchor (the event that
first created it): a replayed customer whose anchor is known gets its old id back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from liuyu.domain.customers.identity import IdentityGraph, IdentityPolicy
from liuyu.domain.customers.profile import profile_updates
from liuyu.domain.errors import Conflict, NotFound
from liuyu.domain.eventlog import Event
from liuyu.services.ingest import IngestReport, project, resolve_identities


def _id_for(anchors: dict[int, int], allocate: Callable[[], int]) -> Callable[[int], int]:
    return lambda seq: anchors[seq] if seq in anchors else allocate()


def unmerge(
    uow: Any,
    workspace_id: int,
    merge_id: int,
    *,
    actor: str,
    policy: IdentityPolicy | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Undo a merge: keep the two sides apart from now on and replay their shared history."""
    now = now or datetime.now(UTC)
    replay = uow.replay
    merge = replay.merge(workspace_id, merge_id)
    if merge is None:
        raise NotFound(f"no merge {merge_id}")
    if merge["undone_at"] is not None:
        raise Conflict(f"merge {merge_id} was undone already at {merge['undone_at']:%Y-%m-%d %H:%M}")
    uow.ingest.lock_workspace(workspace_id)
    winner = replay.customer(workspace_id, merge["winner_id"])
    loser = replay.customer(workspace_id, merge["loser_id"])
    assert winner is not None and loser is not None
    root = winner["merged_into"] or winner["id"]
    replay.mark_undone(merge_id, actor, now)
    replay.add_separation(workspace_id, winner["anchor_seq"], loser["anchor_seq"], merge_id, actor, now)
    anchors = replay.anchors(workspace_id, root)
    members = sorted(anchors.values())
    replay.clear_component(workspace_id, members)
    events = [item for batch in replay.events(workspace_id, customer_id=root) for item in batch]
    touched = _replay(uow, workspace_id, events, anchors, policy or IdentityPolicy(), now, graph=None)
    for projection in uow.projections():
        projection.reassigned(workspace_id, touched | set(members))
    uow.accounts.audit(
        workspace_id,
        actor,
        "customer.unmerge",
        f"merge:{merge_id}",
        {"winner": merge["winner_id"], "loser": merge["loser_id"], "rule": merge["rule"]},
        now,
    )
    return {"merge_id": merge_id, "customers": sorted(touched | set(members))}


def rebuild(
    uow_factory: Callable[[], Any],
    workspace_id: int,
    *,
    policy: IdentityPolicy | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute every derived table of a workspace from its event log; returns events replayed."""
    now = now or datetime.now(UTC)
    policy = policy or IdentityPolicy()
    with uow_factory() as uow:
        uow.ingest.lock_workspace(workspace_id)
        anchors = uow.replay.anchors(workspace_id)
        uow.replay.clear_workspace(workspace_id)
        for projection in uow.projections():
            projection.clear(workspace_id)
        events = [item for batch in uow.replay.events(workspace_id) for item in batch]
        graph: IdentityGraph | None = None
        done = 0
        for start in range(0, len(events), 5000):
            part = events[start : start + 5000]
            graph = _replay_batch(uow, workspace_id, part, anchors, policy, now, graph)
            done += len(part)
            if progress:
                progress(len(part))
        uow.commit()
    return done


def _replay(
    uow: Any,
    workspace_id: int,
    events: list[tuple[int, Event]],
    anchors: dict[int, int],
    policy: IdentityPolicy,
    now: datetime,
    graph: IdentityGraph | None,
) -> set[int]:
    touched: set[int] = set()
    for start in range(0, len(events), 5000):
        part = events[start : start + 5000]
        graph = _replay_batch(uow, workspace_id, part, anchors, policy, now, graph, touched, orders_kept=True)
    return touched


def _replay_batch(
    uow: Any,
    workspace_id: int,
    items: list[tuple[int, Event]],
    anchors: dict[int, int],
    policy: IdentityPolicy,
    now: datetime,
    graph: IdentityGraph | None,
    touched: set[int] | None = None,
    *,
    orders_kept: bool = False,
) -> IdentityGraph:
    """Resolve one batch of the log again; ``orders_kept`` when only their owners may change."""
    if graph is None:
        allocate = uow.ingest.customer_id_allocator()
        graph = uow.ingest.load_graph(workspace_id, set(), policy, _id_for(anchors, allocate))
    known = uow.replay.existing_customers(list(anchors.values()))
    rows, merges = resolve_identities(uow.ingest, workspace_id, graph, items, now, IngestReport(), existing=known)
    winners = {winner for winner, _ in merges}
    uow.replay.assign_events({seq: cid for seq, _, cid in rows})
    owners = {(e.order.platform, e.order.order_id): cid for _, e, cid in rows if e.order is not None}
    if orders_kept:
        uow.replay.reassign_orders(workspace_id, owners)
        uow.ingest.update_profiles(profile_updates((cid, e) for _, e, cid in rows))
        uow.ingest.refresh_traits(workspace_id, {cid for _, _, cid in rows if cid is not None} | winners)
        if merges:  # merges the replay made again (not the undone one) reach the projections too
            for projection in uow.projections():
                projection.merged(workspace_id, merges)
    else:
        project(uow.ingest, workspace_id, rows, winners, uow.projections(), merges)
    if touched is not None:
        touched.update(cid for _, _, cid in rows if cid is not None)
    return graph
