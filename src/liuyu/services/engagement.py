"""Use cases for saved segments and tags: save, change, refresh memberships, tag customers.

Every function takes a unit of work whose ``engagement`` is a
:class:`liuyu.storage.engagement_store.SqlEngagement` (or a fake with the same methods); the
caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from liuyu.domain.engagement.segment import Node, from_json, parse, to_json, to_text
from liuyu.domain.errors import InvalidInput, NotFound

MAX_NAME = 200
MAX_TAG = 100
MAX_REASON = 500
TAG_SOURCES = ("manual", "rule", "event", "text")


def read_expression(text: str | None = None, json: Mapping[str, Any] | None = None) -> Node:
    """The segment tree from the operator's text or the builder's JSON (exactly one of them)."""
    if (text is None) == (json is None):
        raise InvalidInput("give the expression as text or as JSON, not both and not neither", field="expression")
    return parse(text) if text is not None else from_json(json)  # type: ignore[arg-type]


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a segment needs a name of 1 to {MAX_NAME} characters", field="name", value=name)
    return name


def _check_tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    tag = tag.strip()
    if not tag or len(tag) > MAX_TAG:
        raise InvalidInput(f"a tag is 1 to {MAX_TAG} characters", field="tag", value=tag)
    return tag


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"say why in 1 to {MAX_REASON} characters", field="reason", value=reason)
    return reason


def save_segment(
    uow: Any,
    workspace_id: int,
    *,
    name: str,
    tree: Node,
    actor: str,
    tag: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a segment and compute its members at once, so its detail page is never empty by accident."""
    now = now or datetime.now(UTC)
    segment_id = uow.engagement.add_segment(
        workspace_id,
        {
            "name": _check_name(name),
            "expression": to_text(tree),
            "expression_json": to_json(tree),
            "tag": _check_tag(tag),
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        },
    )
    return refresh_segment(uow, workspace_id, segment_id, now=now, tree=tree)


def change_segment(
    uow: Any,
    workspace_id: int,
    segment_id: int,
    *,
    name: str | None = None,
    tree: Node | None = None,
    tag: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Rename, re-define or re-tag a segment; its members are recomputed (entries and exits recorded)."""
    now = now or datetime.now(UTC)
    changes: dict[str, Any] = {"updated_at": now}
    if name is not None:
        changes["name"] = _check_name(name)
    if tree is not None:
        changes["expression"] = to_text(tree)
        changes["expression_json"] = to_json(tree)
    if tag is not None:
        changes["tag"] = _check_tag(tag) if tag.strip() else None  # an empty tag stops tagging
    uow.engagement.update_segment(workspace_id, segment_id, changes)
    return refresh_segment(uow, workspace_id, segment_id, now=now, tree=tree)


def delete_segment(uow: Any, workspace_id: int, segment_id: int) -> None:
    uow.engagement.delete_segment(workspace_id, segment_id)


def refresh_segment(
    uow: Any, workspace_id: int, segment_id: int, *, now: datetime | None = None, tree: Node | None = None
) -> dict[str, Any]:
    """Recompute one segment's members; returns the segment with the entered and exited counts.

    ``tree`` is the one just typed, when there is one: it keeps the positions errors point at.
    """
    now = now or datetime.now(UTC)
    segment = uow.engagement.segment(workspace_id, segment_id)
    tree = tree or from_json(segment["expression_json"])
    entered, exited = uow.engagement.refresh_members(workspace_id, segment_id, tree, now)
    tagged, untagged = uow.engagement.sync_rule_tags(workspace_id, segment_id, segment["tag"], now)
    return {
        **uow.engagement.segment(workspace_id, segment_id),
        "entered": entered,
        "exited": exited,
        "tagged": tagged,
        "untagged": untagged,
    }


def refresh_segments(uow: Any, workspace_id: int, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Recompute every saved segment of the workspace (the scheduled full reconcile)."""
    now = now or datetime.now(UTC)
    return [refresh_segment(uow, workspace_id, s["id"], now=now) for s in uow.engagement.segments(workspace_id)]


# -- tags -----------------------------------------------------------------------------------


def tag_customer(
    uow: Any, workspace_id: int, customer_id: int, tag: str, *, reason: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """An operator tags a customer by hand; the tag, the reason and who did it are kept."""
    now = now or datetime.now(UTC)
    if not uow.engagement.customer_exists(workspace_id, customer_id):
        raise NotFound(f"no customer {customer_id} in this workspace")
    row = {"customer_id": customer_id, "tag": _check_tag(tag), "source": "manual", "reason": _check_reason(reason)}
    uow.engagement.put_tags(workspace_id, [{**row, "at": now}])
    uow.accounts.audit(workspace_id, actor, "tag.add", f"customer:{customer_id}", row, now)
    return {**row, "at": now}


def untag_customer(
    uow: Any, workspace_id: int, customer_id: int, tag: str, *, reason: str, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """Take a tag away (whatever its source); the audit log keeps what was removed and why."""
    now = now or datetime.now(UTC)
    why = _check_reason(reason)
    removed = uow.engagement.remove_tag(workspace_id, customer_id, tag)
    if removed is None:
        raise NotFound(f"customer {customer_id} has no tag {tag!r}")
    detail = {"tag": tag, "reason": why, "had": {**removed, "at": removed["at"].isoformat()}}
    uow.accounts.audit(workspace_id, actor, "tag.remove", f"customer:{customer_id}", detail, now)
    return {"customer_id": customer_id, "tag": tag, "removed": True}


def apply_tags(
    uow: Any,
    workspace_id: int,
    tags: Iterable[tuple[int, str, str]],
    *,
    source: str,
    now: datetime | None = None,
) -> int:
    """Tag many customers at once from ``(customer_id, tag, reason)``: the hook for event and text tags.

    Ids that are not customers of the workspace are skipped; returns how many tags were set.

    Text understanding (``liuyu.nlp.analyze``) is expected to call this with ``source="text"`` and
    a reason that quotes the evidence, e.g. ``(42, "王者荣耀玩家", "post 981: 今晚上王者")``.
    """
    if source not in TAG_SOURCES:
        raise InvalidInput(f"a tag source is one of {', '.join(TAG_SOURCES)}", field="source", value=source)
    now = now or datetime.now(UTC)
    unique: dict[tuple[int, str], dict[str, Any]] = {}
    for customer_id, tag, reason in tags:
        checked = _check_tag(tag) or ""
        unique[(customer_id, checked)] = {
            "customer_id": customer_id,
            "tag": checked,
            "source": source,
            "reason": reason[:MAX_REASON],
            "at": now,
        }
    known = uow.engagement.customers_of(workspace_id, sorted({cid for cid, _ in unique}))
    rows = [row for (cid, _), row in unique.items() if cid in known]  # never tag another workspace's customer
    uow.engagement.put_tags(workspace_id, rows)
    return len(rows)
