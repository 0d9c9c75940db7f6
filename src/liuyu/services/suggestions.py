"""Reviewing merge suggestions: accepting one merges the two customers and links them for good.

The link (between the customers' anchors) is kept like a separation, so rebuilds and unmerges
replay the operator's decision; undoing the merge later records a separation as for any merge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from liuyu.domain.errors import Conflict, NotFound


def accept_suggestion(
    uow: Any, workspace_id: int, suggestion_id: int, *, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    suggestion = _pending(uow, workspace_id, suggestion_id)
    uow.ingest.lock_workspace(workspace_id)
    a = uow.replay.customer(workspace_id, suggestion["customer_a"])
    b = uow.replay.customer(workspace_id, suggestion["customer_b"])
    if a is None or b is None:
        raise NotFound(f"a customer of suggestion {suggestion_id} is gone")
    roots = [uow.replay.customer(workspace_id, c["merged_into"]) if c["merged_into"] else c for c in (a, b)]
    merge_id = None
    if roots[0]["id"] != roots[1]["id"]:
        sides = [set(uow.replay.anchors(workspace_id, r["id"])) for r in roots]
        if uow.suggestions.separated(workspace_id, sides[0], sides[1]):
            raise Conflict("an operator separated these customers before; undo that first")
        winner, loser = sorted(roots, key=lambda r: r["anchor_seq"])
        uow.suggestions.add_link(workspace_id, a["anchor_seq"], b["anchor_seq"], suggestion_id, actor, now)
        uow.ingest.apply_merge(workspace_id, winner["id"], loser["id"])
        later = max(a["anchor_seq"], b["anchor_seq"])
        evidence = {
            "event": {"seq": later, "source": "liuyu", "external_id": f"suggestion:{suggestion_id}"},
            "link": {"anchors": [a["anchor_seq"], b["anchor_seq"]]},
            "suggestion": {"id": suggestion_id, "probability": suggestion["probability"], "by": actor},
        }
        merge_id = uow.ingest.record_merge(workspace_id, winner["id"], loser["id"], "operator_link", evidence, now)
        uow.ingest.refresh_traits(workspace_id, {winner["id"]})
    uow.suggestions.decide(suggestion_id, "accepted", actor, now)
    uow.accounts.audit(
        workspace_id, actor, "suggestion.accept", f"suggestion:{suggestion_id}", {"merge_id": merge_id}, now
    )
    return {"suggestion_id": suggestion_id, "merge_id": merge_id}


def reject_suggestion(
    uow: Any, workspace_id: int, suggestion_id: int, *, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    _pending(uow, workspace_id, suggestion_id)
    uow.suggestions.decide(suggestion_id, "rejected", actor, now)
    uow.accounts.audit(workspace_id, actor, "suggestion.reject", f"suggestion:{suggestion_id}", {}, now)
    return {"suggestion_id": suggestion_id}


def _pending(uow: Any, workspace_id: int, suggestion_id: int) -> dict[str, Any]:
    suggestion = uow.suggestions.get(workspace_id, suggestion_id)
    if suggestion is None:
        raise NotFound(f"no suggestion {suggestion_id}")
    if suggestion["status"] != "pending":
        raise Conflict(f"suggestion {suggestion_id} was {suggestion['status']} already")
    return dict(suggestion)
