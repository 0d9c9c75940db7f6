"""Ports: what the use cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from liuyu.domain.customers.identity import IdentityGraph, IdentityPolicy, IdKey, Resolution
from liuyu.domain.eventlog import Event


class IngestStore(Protocol):
    """The event log and the identity/order/trait projections, inside one transaction."""

    def lock_workspace(self, workspace_id: int) -> None: ...
    def next_seqs(self, count: int) -> list[int]: ...
    def customer_id_allocator(self) -> Callable[[], int]: ...
    def existing_keys(self, workspace_id: int, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...
    def load_graph(
        self, workspace_id: int, keys: set[IdKey], policy: IdentityPolicy, new_customer_id: Callable[[int], int]
    ) -> IdentityGraph: ...
    def write_identity(
        self, workspace_id: int, res: Resolution, seq_times: dict[int, datetime], now: datetime
    ) -> None: ...
    def append_events(
        self,
        workspace_id: int,
        rows: Sequence[tuple[int, Event, int | None]],
        received_at: datetime,
        import_id: int | None,
    ) -> None: ...
    def project_orders(self, workspace_id: int, items: Sequence[tuple[int, Event, int | None]]) -> set[int]: ...
    def refresh_traits(self, workspace_id: int, customer_ids: set[int]) -> None: ...
    def mark_dirty(self, workspace_id: int, customer_ids: set[int]) -> None: ...
    def take_dirty(self, workspace_id: int, limit: int) -> set[int]: ...
    def update_profiles(self, profiles: dict[int, dict[str, Any]]) -> None: ...


class Projection(Protocol):
    """A derived view kept current from the event log beside the customer tables (e.g. the points
    ledger). Registered in ``liuyu.storage.projections``; it runs inside the ingest transaction,
    and ``liuyu rebuild`` clears it and replays the whole log through it."""

    def apply(self, workspace_id: int, rows: Sequence[tuple[int, Event, int | None]]) -> None:
        """New events of a batch, with the customer each now belongs to."""

    def merged(self, workspace_id: int, merges: Sequence[tuple[int, int]]) -> None:
        """(winner, loser) pairs merged in this batch: move what the loser had to the winner."""

    def reassigned(self, workspace_id: int, customer_ids: set[int]) -> None:
        """An unmerge moved events between these customers: recompute them from their events."""

    def clear(self, workspace_id: int) -> None:
        """Forget everything of the workspace before a rebuild."""
