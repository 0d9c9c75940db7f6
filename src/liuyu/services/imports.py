"""Running a file import: batches into the event log, rejected rows kept aside, a summary at the end.

Each batch commits on its own, so a crash loses at most one batch; running the same import again
finds the stored rows already in the log (counted as duplicates) and stores the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import Event
from liuyu.services.ingest import ingest_events, refresh_deferred_traits


class ImportRow(Protocol):
    line: int
    events: tuple[Event, ...]
    error: InvalidInput | None
    raw: str


class ImportSource(Protocol):
    """A parsed file (see liuyu.channels.importers)."""

    kind: str
    fmt: str
    path: Path
    source: str

    def total(self) -> int | None: ...
    def rows(self) -> Iterator[ImportRow]: ...


@dataclass
class ImportSummary:
    import_id: int = 0
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    customers_created: int = 0
    merges: int = 0
    error_file: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "stored": self.stored, "duplicate": self.duplicate, "rejected": self.rejected}


def run_import(
    uow_factory: Callable[[], Any],
    workspace_id: int,
    reader: ImportSource,
    *,
    digest: str,
    error_dir: Path,
    batch_size: int = 5000,
    policy: IdentityPolicy | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> ImportSummary:
    summary = ImportSummary()
    with uow_factory() as uow:
        summary.import_id = uow.imports.start(
            workspace_id, reader.kind, reader.fmt, reader.path.name, digest, datetime.now(UTC)
        )
        uow.commit()
    refresh_deferred_traits(uow_factory, workspace_id)  # what a crashed earlier import left waiting
    pending_events: list[Event] = []
    pending_rejects: list[dict[str, Any]] = []
    rows_in_batch = 0

    def flush() -> None:
        nonlocal pending_events, pending_rejects, rows_in_batch
        with uow_factory() as uow:
            report = ingest_events(
                uow.ingest,
                workspace_id,
                pending_events,
                policy=policy,
                import_id=summary.import_id,
                projections=uow.projections(),
                defer_traits=True,
            )
            uow.imports.reject(workspace_id, pending_rejects, datetime.now(UTC))
            uow.commit()
        summary.stored += report.stored
        summary.duplicate += report.duplicate
        summary.customers_created += report.customers_created
        summary.merges += report.merges
        if on_rows:
            on_rows(rows_in_batch)
        pending_events, pending_rejects, rows_in_batch = [], [], 0

    for row in reader.rows():
        summary.read += 1
        rows_in_batch += 1
        if row.error is not None:
            summary.rejected += 1
            error = row.error.as_dict()
            summary.errors.append({"line": row.line, **error, "raw": row.raw})
            pending_rejects.append(
                {
                    "origin": f"{digest[:16]}:{row.line}",
                    "location": error["where"] or f"{reader.path.name}:{row.line}",
                    "field": error["field"] or "",
                    "value": error["value"],
                    "reason": error["reason"],
                }
            )
        else:
            pending_events.extend(row.events)
        if len(pending_events) >= batch_size or rows_in_batch >= batch_size:
            flush()
    if rows_in_batch or pending_events:
        flush()
    refresh_deferred_traits(uow_factory, workspace_id)
    if summary.errors:
        error_dir.mkdir(parents=True, exist_ok=True)
        path = error_dir / f"{reader.path.stem}.import-{summary.import_id}.errors.csv"
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "field", "value", "reason", "row"])
            for err in summary.errors:
                writer.writerow([err["line"], err["field"], err["value"], err["reason"], err["raw"]])
        summary.error_file = str(path)
    with uow_factory() as uow:
        status = "done" if not summary.rejected else "done_with_errors"
        uow.imports.finish(summary.import_id, status, summary.counts(), summary.error_file, datetime.now(UTC))
        uow.commit()
    return summary
