"""Identity resolution: which customer does each event belong to, and which customers are one.

The rules, in order of trust:

1. Strong identifiers (E.164 phone, email, WeChat union id, member number) merge the customers
   that hold them (rule ``shared_<kind>``).
2. Platform identifiers (buyer open uid, JD pin, Douyin open id, WeCom external user id, openid,
   app user id, device id) attach to the customer they arrive with. A customer that holds only
   platform identifiers is merged into a customer with strong ones when they meet in one event
   (rule ``attached_<kind>``); two platform-only customers meet the same way (rule
   ``cooccurred_<kind>``), except through device-level ids, which are too coarse.
3. Never: masked values and ciphertext; two customers that each hold a different verified phone
   (when protection is on); two customers an operator separated by undoing a merge.

The resolver is deterministic over events taken in log order (``seq``), so replaying the log
gives the same customers: that is what ``rebuild`` and ``unmerge`` rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from liuyu.domain.customers.identifiers import DEVICE_KINDS, STRONG_KINDS, Identifier

IdKey = tuple[str, str]


@dataclass(slots=True)
class CustomerNode:
    """What the resolver needs to know about one customer."""

    id: int
    anchor_seq: int
    anchors: set[int] = field(default_factory=set)
    strong_count: int = 0
    account_count: int = 0  # platform ids other than device-level ones
    verified_phones: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.anchors.add(self.anchor_seq)


@dataclass(slots=True)  # not frozen: a bulk import builds one per event, and frozen init costs twice as much
class ResolvedEvent:
    seq: int
    identifiers: tuple[Identifier, ...]
    occurred_at: datetime
    source: str = ""
    external_id: str = ""


@dataclass(frozen=True, slots=True)
class Merge:
    winner: int
    loser: int
    rule: str
    evidence: dict[str, object]


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two customers met in an event but were kept apart; the reason says which rule held."""

    kept: int
    other: int
    reason: str
    seq: int


@dataclass(slots=True)
class Resolution:
    """What a batch of events changed in the identity graph."""

    assignments: dict[int, int] = field(default_factory=dict)  # event seq -> customer id
    new_customers: dict[int, int] = field(default_factory=dict)  # customer id -> anchor seq
    new_identifiers: dict[IdKey, tuple[int, bool, int]] = field(default_factory=dict)  # -> (cid, verified, seq)
    masked: set[tuple[int, str, str]] = field(default_factory=set)  # (customer, kind, value)
    merges: list[Merge] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    verified: set[IdKey] = field(default_factory=set)  # known identifiers newly seen verified


@dataclass(slots=True)
class IdentityPolicy:
    protect_verified_phones: bool = True


class IdentityGraph:
    """The part of the identity graph a batch touches, loaded by storage, changed in memory."""

    def __init__(
        self,
        *,
        owners: dict[IdKey, int] | None = None,
        verified: set[IdKey] | None = None,
        customers: Iterable[CustomerNode] = (),
        separations: Iterable[tuple[int, int]] = (),
        links: Iterable[tuple[int, int]] = (),
        new_customer_id: Callable[[int], int],
        policy: IdentityPolicy | None = None,
    ) -> None:
        self.owners: dict[IdKey, int] = dict(owners or {})
        self.verified: set[IdKey] = set(verified or ())
        self.customers: dict[int, CustomerNode] = {c.id: c for c in customers}
        self.parent: dict[int, int] = {}
        self.separated: set[frozenset[int]] = {frozenset(pair) for pair in separations}
        # Operator links (accepted suggestions) between anchors, applied when a replay re-creates them.
        self.linked: dict[int, set[int]] = {}
        for a, b in links:
            self.linked.setdefault(a, set()).add(b)
            self.linked.setdefault(b, set()).add(a)
        self.by_anchor: dict[int, int] = {anchor: c.id for c in self.customers.values() for anchor in c.anchors}
        self.new_customer_id = new_customer_id
        self.policy = policy or IdentityPolicy()

    def root(self, cid: int) -> int:
        while cid in self.parent:
            cid = self.parent[cid]
        return cid

    def owner(self, key: IdKey) -> int | None:
        cid = self.owners.get(key)
        return None if cid is None else self.root(cid)

    def resolve(self, events: Iterable[ResolvedEvent]) -> Resolution:
        out = Resolution()
        for event in sorted(events, key=lambda e: e.seq):
            cid = self._resolve_one(event, out)
            if cid is not None:
                out.assignments[event.seq] = cid
        # Assignments made before a later merge in the same batch point at the winner.
        out.assignments = {seq: self.root(cid) for seq, cid in out.assignments.items()}
        out.new_identifiers = {k: (self.root(c), v, s) for k, (c, v, s) in out.new_identifiers.items()}
        out.masked = {(self.root(c), k, v) for c, k, v in out.masked}
        return out

    # -- one event -------------------------------------------------------------------------

    def _resolve_one(self, event: ResolvedEvent, out: Resolution) -> int | None:
        usable = [i for i in event.identifiers if not i.masked]
        if not usable:
            return None
        masked = [i for i in event.identifiers if i.masked]
        # Account-level platform ids first, device-level ones last: a device never picks the customer
        # when an account id is there to do it.
        strong: list[Identifier] = []
        accounts: list[Identifier] = []
        devices: list[Identifier] = []
        for i in usable:
            (strong if i.kind in STRONG_KINDS else devices if i.kind in DEVICE_KINDS else accounts).append(i)
        weak = accounts + devices
        strong_owners = self._owners_of(strong)
        weak_owners = self._owners_of(weak)
        has_account = bool(accounts)

        target: int | None = None
        if strong_owners:
            target = self._oldest(strong_owners)
            for other in strong_owners:
                if other != self.root(target):
                    target = self._try_merge(target, other, "shared_", strong_owners[other], event, out)
        for other, ident in weak_owners.items():
            other = self.root(other)
            if target is None:
                if ident.kind in DEVICE_KINDS and has_account and self.customers[other].account_count:
                    continue  # a new account on a known device is someone else until proven
                target = other
                continue
            if other == self.root(target):
                continue
            node = self.customers[other]
            by_device = ident.kind in DEVICE_KINDS
            if node.strong_count == 0 and (not by_device or node.account_count == 0):
                rule = "attached_" if strong or self.customers[target].strong_count else "cooccurred_"
                target = self._try_merge(target, other, rule, ident, event, out)
            else:
                out.conflicts.append(
                    Conflict(self.root(target), other, "platform id held by another customer", event.seq)
                )

        if target is not None:
            target = self.root(target)
            new_verified = {i.value for i in strong if i.kind == "phone" and i.verified}
            held = self.customers[target].verified_phones
            different = held and new_verified and not (new_verified & held)
            if self.policy.protect_verified_phones and different and not strong_owners:
                # A different verified phone arriving with platform ids only: that is another person.
                out.conflicts.append(Conflict(target, -1, "different verified phone", event.seq))
                target = None
        if target is None:
            target = self._follow_links(self._create(event, out), event, out)

        node = self.customers[target]
        for ident in usable:
            key = (ident.kind, ident.value)
            if key in self.owners:
                if ident.verified and key not in self.verified:
                    self.verified.add(key)
                    out.verified.add(key)
                    if ident.kind == "phone" and self.owner(key) == target:
                        node.verified_phones.add(ident.value)
                continue
            self.owners[key] = target
            out.new_identifiers[key] = (target, ident.verified, event.seq)
            if ident.verified:
                self.verified.add(key)
            if ident.kind in STRONG_KINDS:
                node.strong_count += 1
            elif ident.kind not in DEVICE_KINDS:
                node.account_count += 1
            if ident.kind == "phone" and ident.verified:
                node.verified_phones.add(ident.value)
        for ident in masked:
            out.masked.add((target, ident.kind, ident.value))
        return target

    def _owners_of(self, identifiers: list[Identifier]) -> dict[int, Identifier]:
        """Current owner -> the last of ``identifiers`` it holds, in order of first appearance."""
        found: dict[int, Identifier] = {}
        for ident in identifiers:
            cid = self.owners.get((ident.kind, ident.value))
            if cid is not None:
                found[self.root(cid)] = ident
        return found

    def _create(self, event: ResolvedEvent, out: Resolution) -> int:
        cid = self.new_customer_id(event.seq)
        self.customers[cid] = CustomerNode(id=cid, anchor_seq=event.seq)
        self.by_anchor[event.seq] = cid
        out.new_customers[cid] = event.seq
        return cid

    def _follow_links(self, cid: int, event: ResolvedEvent, out: Resolution) -> int:
        """A customer re-created by a replay joins those an operator linked it to."""
        for other_anchor in sorted(self.linked.get(event.seq, ())):
            other = self.by_anchor.get(other_anchor)
            if other is not None and self.root(other) != self.root(cid):
                cid = self._try_merge(cid, other, "operator_", None, event, out, link=(other_anchor, event.seq))
        return self.root(cid)

    def _oldest(self, cids: Iterable[int]) -> int:
        return min((self.root(c) for c in cids), key=lambda c: self.customers[c].anchor_seq)

    def _blocked(self, a: CustomerNode, b: CustomerNode) -> str | None:
        if any(frozenset((x, y)) in self.separated for x in a.anchors for y in b.anchors):
            return "separated by an operator"
        both = self.policy.protect_verified_phones and a.verified_phones and b.verified_phones
        if both and not (a.verified_phones & b.verified_phones):
            return "different verified phones"
        return None

    def _try_merge(
        self,
        target: int,
        other: int,
        rule_prefix: str,
        via: Identifier | None,
        event: ResolvedEvent,
        out: Resolution,
        link: tuple[int, int] | None = None,
    ) -> int:
        a, b = self.customers[self.root(target)], self.customers[self.root(other)]
        reason = self._blocked(a, b)
        if reason and not (link and reason == "different verified phones"):  # an operator's link overrides that rule
            out.conflicts.append(Conflict(a.id, b.id, reason, event.seq))
            return a.id
        winner, loser = (a, b) if a.anchor_seq <= b.anchor_seq else (b, a)
        self.parent[loser.id] = winner.id
        winner.anchors |= loser.anchors
        winner.strong_count += loser.strong_count
        winner.account_count += loser.account_count
        winner.verified_phones |= loser.verified_phones
        evidence: dict[str, object] = {
            "event": {"seq": event.seq, "source": event.source, "external_id": event.external_id}
        }
        if via is not None:
            evidence["identifier"] = {"kind": via.kind, "value": via.value}
        if link is not None:
            evidence["link"] = {"anchors": list(link)}
        rule = rule_prefix + (via.kind if via is not None else "link")
        out.merges.append(Merge(winner=winner.id, loser=loser.id, rule=rule, evidence=evidence))
        return winner.id
