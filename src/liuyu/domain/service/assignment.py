"""Who answers next: urgent customers first, then round robin with capacity limits and skills.

Waiting work is ordered by urgency (high member tiers, angry customers and at-risk orders add
points; the weights are a workspace setting) and then by how long the customer has waited. Each
item goes to the next agent in its queue's rotation who is online, below capacity and has the
skills the item needs. Every decision says why, including the agents that were passed over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AssignmentPolicy(BaseModel):
    """Urgency weights; sentiment is -1 (furious) .. 1 (delighted), from text understanding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier_weights: dict[str, int] = Field(default_factory=lambda: {"diamond": 3, "platinum": 3, "gold": 2, "silver": 1})
    angry_weight: int = 3
    angry_below: float = -0.5
    at_risk_weight: int = 2


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    capacity: int
    load: int = 0  # conversations and tickets the agent already holds
    skills: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()  # empty: works every queue
    online: bool = True

    def works(self, queue: str) -> bool:
        return not self.queues or queue in self.queues


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A conversation or ticket waiting for an agent."""

    id: str
    queue: str
    waiting_since: datetime
    member_tier: str | None = None
    sentiment: float | None = None
    order_at_risk: bool = False  # e.g. a delayed parcel or a refund about to be escalated to the platform
    skills: frozenset[str] = frozenset()  # e.g. {"english"} or {"大家电"}


@dataclass(frozen=True, slots=True)
class Urgency:
    score: int
    reasons: tuple[str, ...]

    def explain(self) -> str:
        return f"urgency {self.score}" + (f" ({', '.join(self.reasons)})" if self.reasons else "")


@dataclass(frozen=True, slots=True)
class Assignment:
    item_id: str
    agent_id: str
    urgency: Urgency
    explanation: str


@dataclass(frozen=True, slots=True)
class Unassigned:
    item_id: str
    urgency: Urgency
    reason: str


@dataclass(slots=True)
class AssignmentResult:
    assignments: list[Assignment] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)  # queue -> last agent served, for the next round
    loads: dict[str, int] = field(default_factory=dict)


def urgency(item: WorkItem, policy: AssignmentPolicy) -> Urgency:
    score, reasons = 0, []
    tier_points = policy.tier_weights.get(item.member_tier or "", 0)
    if tier_points:
        score += tier_points
        reasons.append(f"tier {item.member_tier} +{tier_points}")
    if item.sentiment is not None and item.sentiment < policy.angry_below:
        score += policy.angry_weight
        reasons.append(f"angry (sentiment {item.sentiment:.2f}) +{policy.angry_weight}")
    if item.order_at_risk:
        score += policy.at_risk_weight
        reasons.append(f"order at risk +{policy.at_risk_weight}")
    return Urgency(score, tuple(reasons))


def prioritize(items: Iterable[WorkItem], policy: AssignmentPolicy) -> list[tuple[WorkItem, Urgency]]:
    """Most urgent first; equal urgency: whoever has waited longest."""
    scored = [(item, urgency(item, policy)) for item in items]
    return sorted(scored, key=lambda pair: (-pair[1].score, pair[0].waiting_since, pair[0].id))


def _why_not(agent: Agent, load: int, item: WorkItem) -> str | None:
    if not agent.online:
        return "offline"
    if load >= agent.capacity:
        return f"at capacity {load}/{agent.capacity}"
    missing = item.skills - agent.skills
    if missing:
        return f"lacks {', '.join(sorted(missing))}"
    return None


def assign(
    items: Iterable[WorkItem],
    agents: Iterable[Agent],
    policy: AssignmentPolicy,
    cursors: Mapping[str, str] | None = None,
) -> AssignmentResult:
    """One round of assignment; pass the returned cursors back in so the rotation continues."""
    roster = sorted(agents, key=lambda agent: agent.id)
    result = AssignmentResult(cursors=dict(cursors or {}), loads={agent.id: agent.load for agent in roster})
    for item, score in prioritize(items, policy):
        team = [agent for agent in roster if agent.works(item.queue)]
        if not team:
            result.unassigned.append(Unassigned(item.id, score, f"no agent works queue {item.queue}"))
            continue
        last = result.cursors.get(item.queue)
        start = next((i + 1 for i, agent in enumerate(team) if agent.id == last), 0)
        rotation = team[start:] + team[:start]
        skipped: list[str] = []
        for agent in rotation:
            why_not = _why_not(agent, result.loads[agent.id], item)
            if why_not is not None:
                skipped.append(f"{agent.id} {why_not}")
                continue
            result.loads[agent.id] += 1
            result.cursors[item.queue] = agent.id
            text = (
                f"{item.id} -> {agent.id}: {score.explain()}; next in the {item.queue} rotation after "
                f"{last or 'the start'}; load now {result.loads[agent.id]}/{agent.capacity}"
            )
            if item.skills:
                text += f"; has {', '.join(sorted(item.skills))}"
            if skipped:
                text += "; passed over " + ", ".join(skipped)
            result.assignments.append(Assignment(item.id, agent.id, score, text))
            break
        else:
            result.unassigned.append(Unassigned(item.id, score, "nobody free: " + ", ".join(skipped)))
    return result
