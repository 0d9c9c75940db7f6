"""Built-in playbooks: ready-made journeys an operator switches on, with a few parameters to change.

Enabling a playbook renders its journey with the parameters and applies it (a new version when they
changed), then makes sure it runs; disabling pauses it. The durable-purchase playbook is a
guardrail, not a journey: enabling it marks its categories durable in the messaging guardrails,
disabling takes them out. What is on, with which values, is kept in the workspace's settings
(``playbooks``). The documents are ``domain/engagement/playbooks/*.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from liuyu.analytics.copurchase import adjacent_categories
from liuyu.domain.engagement.playbook import Playbook, read_playbook
from liuyu.domain.errors import NotFound
from liuyu.services import journeys, messaging_setup

SETTING = "playbooks"
#: The order operators see them in: the customer's life from first order on.
ORDER = (
    "second_touch",
    "dormant_reactivation",
    "cross_category",
    "durable_suppression",
    "birthday",
    "points_expiring",
    "tier_upgrade",
)


@cache
def catalog() -> tuple[Playbook, ...]:
    """Every playbook shipped with liuyu, in :data:`ORDER` (any other after them, by name)."""
    folder = resources.files("liuyu.domain.engagement") / "playbooks"
    found = [f for f in folder.iterdir() if f.name.endswith(".yaml")]
    books = [read_playbook(yaml.safe_load(f.read_text(encoding="utf-8")), f.name) for f in found]
    return tuple(sorted(books, key=lambda b: (ORDER.index(b.name) if b.name in ORDER else len(ORDER), b.name)))


def playbook(name: str) -> Playbook:
    for book in catalog():
        if book.name == name:
            return book
    raise NotFound(f"no playbook named {name!r}; there are {', '.join(b.name for b in catalog())}")


def _state(uow: Any, workspace_id: int) -> dict[str, Any]:
    workspace = uow.accounts.workspace(workspace_id) or {}
    return dict((workspace.get("settings") or {}).get(SETTING) or {})


def _describe(uow: Any, workspace_id: int, book: Playbook, state: Mapping[str, Any]) -> dict[str, Any]:
    mine = state.get(book.name) or {}
    values = book.values(mine.get("params") or {})
    row: dict[str, Any] = {
        "name": book.name,
        "title": book.title,
        "description": book.description,
        "kind": "journey" if book.journey is not None else "guardrail",
        "enabled": bool(mine.get("enabled")),
        "params": values,
        "parameters": [
            {"name": p.name, "type": p.kind, "label": p.label, "default": p.default, "choices": list(p.choices)}
            | ({"min": p.low, "max": p.high} if p.kind == "int" else {})
            for p in book.parameters
        ],
        "journey": None,
    }
    if book.journey is not None:
        found = uow.journeys.journey_named(workspace_id, str(book.journey["name"]))
        if found is not None:
            row["journey"] = {"id": found["id"], "status": found["status"], "version": found["version"]}
    return row


def list_playbooks(uow: Any, workspace_id: int) -> list[dict[str, Any]]:
    """Every playbook with whether it is on here, its current values and its journey."""
    state = _state(uow, workspace_id)
    return [_describe(uow, workspace_id, book, state) for book in catalog()]


def show(uow: Any, workspace_id: int, name: str) -> dict[str, Any]:
    """One playbook, with the journey (or guardrail block) its current values give."""
    book = playbook(name)
    row = _describe(uow, workspace_id, book, _state(uow, workspace_id))
    rendered = book.render(row["params"])
    return {**row, "document": rendered, "source": yaml.safe_dump(rendered, allow_unicode=True, sort_keys=False)}


def enable(
    uow: Any, workspace_id: int, name: str, given: Mapping[str, Any] | None = None, *, actor: str, now: datetime
) -> dict[str, Any]:
    """Switch a playbook on (or change its values): earlier values are kept, ``given`` overrides them."""
    book = playbook(name)
    state = _state(uow, workspace_id)
    previous = dict((state.get(name) or {}).get("params") or {})
    values = book.values({**previous, **dict(given or {})})
    rendered = book.render(values)
    if book.journey is not None:
        text = yaml.safe_dump(rendered, allow_unicode=True, sort_keys=False)
        row = journeys.apply_journey(uow, workspace_id, text, actor=f"playbook:{name}:{actor}", now=now)
        if row["status"] != "active":
            journeys.set_status(uow, workspace_id, row["id"], "active", now=now)
    else:
        old = book.render(previous) if previous else {"categories": []}
        _durable(uow, workspace_id, drop=old["categories"], add=rendered["categories"], days=rendered["days"], now=now)
    state[name] = {"enabled": True, "params": values, "by": actor, "at": now.isoformat()}
    uow.accounts.set_setting(workspace_id, SETTING, state)
    return show(uow, workspace_id, name)


def disable(uow: Any, workspace_id: int, name: str, *, actor: str, now: datetime) -> dict[str, Any]:
    """Switch a playbook off: its journey is paused (customers on the way wait), or its categories
    stop being durable. Its values are kept for the next time."""
    book = playbook(name)
    state = _state(uow, workspace_id)
    mine = dict(state.get(name) or {})
    if book.journey is not None:
        found = uow.journeys.journey_named(workspace_id, str(book.journey["name"]))
        if found is not None and found["status"] != "paused":
            journeys.set_status(uow, workspace_id, found["id"], "paused", now=now)
    elif mine.get("enabled"):
        rendered = book.render(mine.get("params") or {})
        _durable(uow, workspace_id, drop=rendered["categories"], add=[], days=0, now=now)
    state[name] = {**mine, "enabled": False, "by": actor, "at": now.isoformat()}
    uow.accounts.set_setting(workspace_id, SETTING, state)
    return show(uow, workspace_id, name)


def _durable(uow: Any, workspace_id: int, *, drop: list[str], add: list[str], days: int, now: datetime) -> None:
    current = dict(messaging_setup.guardrail_settings(uow, workspace_id)["durable_categories"])
    for category in drop:
        current.pop(category, None)
    current.update({category: days for category in add})
    messaging_setup.change_guardrails(uow, workspace_id, {"durable_categories": current}, now)


def adjacent(uow: Any, workspace_id: int, *, min_together: int = 2, top: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Per category, the categories bought with it more often than chance (by lift), from paid orders."""
    found = adjacent_categories(uow.journeys.category_baskets(workspace_id), min_together=min_together, top=top)
    return {
        category: [
            {"category": a.category, "together": a.together, "confidence": a.confidence, "lift": a.lift} for a in items
        ]
        for category, items in found.items()
    }
