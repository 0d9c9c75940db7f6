"""Playbooks: ready-made journeys (or guardrail settings) with a few parameters an operator may change.

A playbook document names itself, says in Chinese what it does, declares its parameters with their
defaults, and holds a journey definition (or a guardrail block) in which ``${name}`` stands for a
parameter. A value that is only a placeholder takes the parameter's type (``days: ${wait_days}``
stays a number, ``-${days}`` its negative); inside longer text it is replaced as text. Pure: the caller loads the YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liuyu.domain.errors import InvalidInput

KINDS = ("int", "text", "choice", "list")
_PLACEHOLDER = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")
_WHOLE = re.compile(r"(-?)\$\{([a-z_][a-z0-9_]*)\}")  # "-${days}": the negated number


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    kind: str  # int | text | choice | list (comma-separated text on the command line)
    default: Any
    label: str = ""
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()

    def read(self, raw: Any) -> Any:
        """A value given by an operator (text from a form or ``--set``, or JSON), checked."""
        where = f"parameters.{self.name}"
        if self.kind == "int":
            try:
                value = int(str(raw).strip()) if not isinstance(raw, bool) else None
            except ValueError:
                value = None
            if (
                value is None
                or (self.low is not None and value < self.low)
                or (self.high is not None and value > self.high)
            ):
                raise InvalidInput(f"expected a whole number from {self.low} to {self.high}", field=where, value=raw)
            return value
        if self.kind == "list":
            items = raw if isinstance(raw, list) else str(raw).replace("，", ",").split(",")
            values = [str(item).strip() for item in items if str(item).strip()]
            if any(len(v) > 100 for v in values):
                raise InvalidInput("each item is at most 100 characters", field=where, value=raw)
            return values
        text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        if not text or len(text) > 100:
            raise InvalidInput("expected text of 1 to 100 characters", field=where, value=raw)
        if self.kind == "choice" and text not in self.choices:
            raise InvalidInput(f"use one of {', '.join(self.choices)}", field=where, value=raw)
        return text


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str  # ascii key: second_touch
    title: str  # 首购后十天二次触达
    description: str
    parameters: tuple[Parameter, ...]
    journey: Mapping[str, Any] | None  # a journey document with placeholders
    guardrail: Mapping[str, Any] | None  # or guardrail settings with placeholders

    def values(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value: the defaults, overridden by ``given`` (unknown names refused)."""
        known = {p.name: p for p in self.parameters}
        values = {p.name: p.default for p in self.parameters}
        for name, raw in (given or {}).items():
            if name not in known:
                raise InvalidInput(f"unknown parameter; this playbook has {', '.join(known)}", field=name)
            values[name] = known[name].read(raw)
        return values

    def render(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The journey document (or guardrail block) with the parameters filled in."""
        values = self.values(given)
        body = self.journey if self.journey is not None else self.guardrail
        return _fill(body, values)


def _fill(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, Mapping):
        return {str(_fill(k, values)): _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        whole = _WHOLE.fullmatch(node)
        if whole:
            value = values[whole.group(2)]
            return -value if whole.group(1) else value
        return _PLACEHOLDER.sub(lambda m: _text(values[m.group(1)]), node)
    return node


def _text(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def read_playbook(doc: Any, where: str = "playbook") -> Playbook:
    """A playbook from its loaded YAML; a bad document (a shipping error) names the field."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("a playbook is a mapping", where=where)
    for key in ("name", "title", "description", "parameters"):
        if key not in doc:
            raise InvalidInput("missing", where=f"{where}.{key}")
    if ("journey" in doc) == ("guardrail" in doc):
        raise InvalidInput("a playbook has exactly one of journey, guardrail", where=where)
    params = []
    for name, spec in dict(doc["parameters"]).items():
        kind = spec.get("type", "text")
        if kind not in KINDS:
            raise InvalidInput(f"a parameter type is one of {', '.join(KINDS)}", where=f"{where}.parameters.{name}")
        params.append(
            Parameter(
                name=str(name),
                kind=kind,
                default=spec.get("default"),
                label=str(spec.get("label", name)),
                low=spec.get("min"),
                high=spec.get("max"),
                choices=tuple(spec.get("choices", ())),
            )
        )
    book = Playbook(
        name=str(doc["name"]),
        title=str(doc["title"]),
        description=str(doc["description"]),
        parameters=tuple(params),
        journey=doc.get("journey"),
        guardrail=doc.get("guardrail"),
    )
    used = set(_PLACEHOLDER.findall(repr(book.journey if book.journey is not None else book.guardrail)))
    missing = used - {p.name for p in params}
    if missing:
        raise InvalidInput(f"placeholders without a parameter: {', '.join(sorted(missing))}", where=where)
    return book
