"""Profile traits a customer's events carry (name, gender, city, ...), folded latest-first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from liuyu.domain.customers.identifiers import looks_masked
from liuyu.domain.eventlog import Event

PROFILE_FIELDS = ("name", "gender", "province", "city", "address", "birthday")
_GENDERS = {
    "m": "male",
    "male": "male",
    "男": "male",
    "1": "male",
    "f": "female",
    "female": "female",
    "女": "female",
    "2": "female",
}


def profile_updates(items: Iterable[tuple[int | None, Event]]) -> dict[int, dict[str, Any]]:
    """What each customer's profile becomes after these events, taken in log order (later events win).

    Log order, not event time, so that folding batch by batch gives the same result as folding the
    whole log at once (rebuilds compare equal). A masked value (``张**``) is offered as
    ``masked_name`` (the first one seen) and is only used while no real name is known.
    """
    out: dict[int, dict[str, Any]] = {}
    for cid, event in items:
        if cid is None:
            continue
        traits = event.traits
        if not traits:
            continue
        row = out.setdefault(cid, {})  # type: ignore[arg-type]
        for name in PROFILE_FIELDS:
            value = traits.get(name)
            if value in (None, ""):
                continue
            value = str(value).strip()[:200]
            if name == "gender":
                value = _GENDERS.get(value.lower())
                if value is None:
                    continue
            if looks_masked(value):
                if name == "name":
                    row.setdefault("masked_name", value)
                continue
            row[name] = value
    return out
