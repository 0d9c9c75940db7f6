"""Message templates: ``{{ name }}`` placeholders filled from a send's variables.

Deliberately tiny (no loops, no expressions): templates are written by operators and filled with
customer data, so a missing variable is an error that names it, never an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from liuyu.domain.errors import InvalidInput

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def placeholders(text: str) -> list[str]:
    """The variable names a template uses, in order of first use."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def _lookup(context: Mapping[str, Any], name: str, where: str) -> Any:
    value: Any = context
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise InvalidInput(f"the variable {name!r} is not given", where=where, field=name)
        value = value[part]
    return value


def render(text: str, context: Mapping[str, Any], where: str = "template") -> str:
    """The text with each placeholder replaced; ``a.b`` reads nested mappings."""
    return _PLACEHOLDER.sub(lambda m: str(_lookup(context, m.group(1), where)), text)


def fill(structure: Any, context: Mapping[str, Any], where: str = "body") -> Any:
    """A provider's body mapping filled in: strings are rendered, and a string that is exactly one
    placeholder keeps the value's own type (a number stays a number, a mapping a mapping)."""
    if isinstance(structure, str):
        whole = _PLACEHOLDER.fullmatch(structure.strip())
        if whole:
            return _lookup(context, whole.group(1), where)
        return render(structure, context, where)
    if isinstance(structure, Mapping):
        return {str(k): fill(v, context, f"{where}.{k}") for k, v in structure.items()}
    if isinstance(structure, list):
        return [fill(v, context, f"{where}[{i}]") for i, v in enumerate(structure)]
    return structure
