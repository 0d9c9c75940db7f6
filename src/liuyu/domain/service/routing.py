"""Ticket routing (流转) as data: which department queue gets a ticket, and why.

Rules are checked from the highest ``priority`` down (ties keep the order they were written in);
the first rule whose every condition holds wins. A condition left empty matches anything. The
decision keeps the explanation (the rule, each condition with the value it matched, and for
every rule checked before it the first condition that failed), and the ticket stores it, so an
agent can see why a ticket landed in 物流 rather than 售后.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from liuyu.domain.service.rules import parse_rules

#: The facts a rule may look at, in the order conditions are checked and explained.
CONDITION_FIELDS = ("channel", "intent", "category", "member_tier", "product")


class RoutingCondition(BaseModel):
    """Each listed field must match one of its values; ``product`` matches any product of the ticket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: tuple[str, ...] = ()
    intent: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    member_tier: tuple[str, ...] = ()
    product: tuple[str, ...] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _one_value_is_a_list_of_one(cls, value: object) -> object:
        """YAML writers put ``intent: refund`` as often as ``intent: [refund]``; both mean the same."""
        return (value,) if isinstance(value, str) else value


class RoutingRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    priority: int = 0
    when: RoutingCondition = RoutingCondition()
    queue: str
    set_priority: str | None = None  # e.g. quality complaints start as "high"


class RoutingTable(BaseModel):
    """A workspace's rules plus the queue that takes whatever no rule claims."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[RoutingRule, ...] = Field(default_factory=tuple)
    default_queue: str = "售后"

    def ordered(self) -> list[RoutingRule]:
        return sorted(self.rules, key=lambda rule: -rule.priority)  # sorted() is stable: ties keep file order


@dataclass(frozen=True, slots=True)
class RoutingFacts:
    """What is known about the ticket when it is routed (intent comes from text understanding)."""

    channel: str | None = None
    intent: str | None = None
    category: str | None = None
    member_tier: str | None = None
    products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule's verdict: matched, or the first condition that did not hold."""

    rule: str
    priority: int
    matched: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    queue: str
    rule: str | None  # None: no rule matched, the default queue took it
    set_priority: str | None
    reasons: tuple[str, ...]  # the conditions of the winning rule, with the values that met them
    checked: tuple[RuleCheck, ...]

    def explain(self) -> str:
        """The sentence shown on the ticket."""
        if self.rule is None:
            return f"no rule matched ({len(self.checked)} checked); default queue {self.queue}"
        why = "; ".join(self.reasons) or "the rule has no conditions"
        skipped = [check for check in self.checked if not check.matched]
        text = f"rule {self.rule!r} sent it to {self.queue}: {why}"
        if skipped:
            text += " (checked first: " + "; ".join(f"{c.rule!r} {c.detail}" for c in skipped) + ")"
        return text


def _check(rule: RoutingRule, facts: RoutingFacts) -> tuple[bool, list[str]]:
    """(matched, reasons): the reasons of a match, or the single reason it failed."""
    reasons: list[str] = []
    for name in CONDITION_FIELDS:
        wanted: tuple[str, ...] = getattr(rule.when, name)
        if not wanted:
            continue
        if name == "product":
            hits = [p for p in facts.products if p in wanted]
            if not hits:
                return False, [f"needs product in {list(wanted)}, ticket has {list(facts.products)}"]
            reasons.append(f"product {hits[0]} in {list(wanted)}")
            continue
        value = getattr(facts, name)
        if value not in wanted:
            return False, [f"needs {name} in {list(wanted)}, ticket has {value!r}"]
        reasons.append(f"{name}={value} in {list(wanted)}")
    return True, reasons


def route(table: RoutingTable, facts: RoutingFacts) -> RoutingDecision:
    """First match wins, highest priority first; the default queue takes the rest."""
    checked: list[RuleCheck] = []
    for rule in table.ordered():
        matched, reasons = _check(rule, facts)
        checked.append(RuleCheck(rule.name, rule.priority, matched, "; ".join(reasons)))
        if matched:
            return RoutingDecision(rule.queue, rule.name, rule.set_priority, tuple(reasons), tuple(checked))
    return RoutingDecision(table.default_queue, None, None, (), tuple(checked))


def load_table(data: dict[str, object] | Sequence[dict[str, object]]) -> RoutingTable:
    """From parsed YAML: either ``{rules: [...], default_queue: ...}`` or a bare list of rules."""
    if isinstance(data, dict):
        return parse_rules(RoutingTable, data, "routing")
    return parse_rules(RoutingTable, {"rules": list(data)}, "routing")
