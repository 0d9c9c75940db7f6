"""One member's points account: applies facts, posts ledger entries, keeps lots and tier in step.

The account is pure state over plain data: storage saves its entries, a rebuild replays the same
facts to the same entries. Rounding: earning rounds down per order line; a refund reverses
``floor(earned × refunded so far ÷ paid)`` minus what was already reversed, so partial refunds
never reverse more than was earned and a full refund reverses exactly everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.loyalty import tier as tiers
from liuyu.domain.loyalty.facts import Adjust, BonusEarned, OrderPaid, OrderRefunded, Redeem, ReturnWindowClosed
from liuyu.domain.loyalty.ledger import Entry, balances
from liuyu.domain.loyalty.lots import Lot, due, expires_at, spending_order
from liuyu.domain.loyalty.program import EarnRule, Program
from liuyu.domain.loyalty.rules import Applied, bonus, bonus_rule, earn_for_order


class InsufficientPoints(Conflict):
    """A redemption or deduction asked for more points than are available."""


@dataclass(slots=True)
class OrderRecord:
    """What the account remembers of an earned order, to reverse it in proportion later."""

    customer_id: int
    order_id: str
    channel: str
    paid_at: datetime
    paid: Decimal
    lot_id: str
    earned: int = 0
    refunded: Decimal = Decimal(0)
    reversed: int = 0


class MemberAccount:
    """The points, lots and tier of one member (one or several merged customers)."""

    def __init__(self, program: Program, customer_id: int, opened_at: datetime) -> None:
        self.program = program
        self.primary = customer_id
        self.customer_ids: set[int] = {customer_id}
        self.entries: list[Entry] = []
        self.seen: dict[str, int] = {}  # idempotency key -> the customer whose fact it was
        self.lots: dict[str, Lot] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.debts: dict[int, int] = {}  # points owed per customer, from refunds of spent points
        self.tier = tiers.start(program, opened_at)
        self.absorbed: dict[int, tuple[set[int], list[tiers.TierChange]]] = {}

    @classmethod
    def holding(cls, program: Program, customer_id: int, lots: list[Lot], at: datetime) -> MemberAccount:
        """An account that knows only its lots' balances (read from stored entries, not replayed).

        Spending looks at nothing but the lots, so a redemption decided on it posts the entries a
        replay of the whole history would post, at the cost of one read instead of a replay.
        """
        account = cls(program, customer_id, at)
        account.lots = {lot.lot_id: lot for lot in lots}
        return account

    # -- views -----------------------------------------------------------------------------

    @property
    def available(self) -> int:
        """Spendable points now; below zero only where the program allows negative balances."""
        return sum(lot.available for lot in self.lots.values())

    @property
    def pending(self) -> int:
        """Points waiting for their orders' return windows to close."""
        return sum(lot.pending for lot in self.lots.values())

    @property
    def debt(self) -> int:
        """Points owed from refunds of points already spent; paid by the next points first."""
        return sum(self.debts.values())

    def balances(self) -> dict[str, int]:
        """Bucket balances summed from the ledger itself (the truth the running totals must match)."""
        return balances(self.entries)

    def activities(self) -> list[tiers.Activity]:
        """What counts towards the tier: net points of orders and bonuses, net spend, orders not fully refunded."""
        out = [
            tiers.Activity(r.paid_at, r.earned - r.reversed, r.paid - r.refunded, 1 if r.refunded < r.paid else 0)
            for r in self.orders.values()
        ]
        out += [
            tiers.Activity(lot.earned_at, lot.earned) for lot in self.lots.values() if lot.lot_id.startswith("bonus:")
        ]
        return out

    # -- facts -----------------------------------------------------------------------------

    def earn_order(self, fact: OrderPaid) -> list[Entry]:
        """Points for a paid order: pending until its return window closes (at once if the window is 0 days)."""
        if fact.key in self.seen or fact.order_id in self.orders:
            return []
        self.seen[fact.key] = fact.customer_id
        earning = earn_for_order(
            self.program,
            channel=fact.channel,
            paid_at=fact.at,
            lines=fact.lines,
            tier_code=self.tier.code,
            first_order=not self.orders,
        )
        lot = self._open_lot(f"order:{fact.order_id}", fact.customer_id, fact.at, fact.order_id)
        self.orders[fact.order_id] = OrderRecord(
            fact.customer_id, fact.order_id, fact.channel, fact.at, fact.total, lot.lot_id, earning.points
        )
        posted: list[Entry] = []
        if earning.points:
            immediate = self.program.return_window_days == 0
            target = "available" if immediate else "pending"
            posted.append(
                self._post(
                    fact.key, "earn", earning.points, "issued", target, fact.at, lot, explanation=earning.applied
                )
            )
            lot.earned += earning.points
            if immediate:
                lot.available += earning.points
                posted += self._settle(lot, fact.key, fact.at)
            else:
                lot.pending += earning.points
        self.upgrade_tier(fact.at)
        return posted

    def release(self, fact: ReturnWindowClosed) -> list[Entry]:
        """The return window closed: the order's pending points become available, paying any debt first."""
        record = self.orders.get(fact.order_id)
        if fact.key in self.seen or record is None:
            return []
        self.seen[fact.key] = fact.customer_id
        lot = self.lots[record.lot_id]
        if not lot.pending:
            return []
        points = lot.pending
        posted = [self._post(fact.key, "release", points, "pending", "available", fact.at, lot)]
        lot.pending, lot.available = 0, lot.available + points
        return posted + self._settle(lot, fact.key, fact.at)

    def refund(self, fact: OrderRefunded) -> list[Entry]:
        """Reverse the order's points in proportion to what has been refunded so far."""
        record = self.orders.get(fact.order_id)
        if fact.key in self.seen or record is None:
            return []
        if fact.amount < 0:
            raise InvalidInput("a refund amount cannot be negative", where=fact.key, field="amount", value=fact.amount)
        self.seen[fact.key] = fact.customer_id
        record.refunded = min(record.paid, record.refunded + fact.amount)
        target = record.earned if record.paid <= 0 else math.floor(record.earned * record.refunded / record.paid)
        wanted = target - record.reversed
        if wanted <= 0:
            return []
        record.reversed = target
        lot = self.lots[record.lot_id]
        posted: list[Entry] = []
        take = min(wanted, lot.pending)
        if take:
            posted.append(
                self._post(fact.key, "reverse", take, "pending", "reversed", fact.at, lot, order=fact.order_id)
            )
            lot.pending -= take
            lot.reversed += take
            wanted -= take
        own = [lot] + [
            x for x in spending_order(list(self.lots.values())) if x.customer_id == lot.customer_id and x is not lot
        ]
        for source in own:
            take = min(wanted, source.spendable)
            if take:
                posted.append(
                    self._post(fact.key, "reverse", take, "available", "reversed", fact.at, source, order=fact.order_id)
                )
                source.available -= take
                source.reversed += take
                wanted -= take
        if wanted and self.program.allow_negative_balance:
            posted.append(
                self._post(fact.key, "reverse", wanted, "available", "reversed", fact.at, lot, order=fact.order_id)
            )
            lot.available -= wanted
            lot.reversed += wanted
        elif wanted:
            posted.append(
                self._post(fact.key, "reverse", wanted, "debt", "reversed", fact.at, lot, order=fact.order_id)
            )
            lot.reversed += wanted
            lot.owed += wanted
            self.debts[lot.customer_id] = self.debts.get(lot.customer_id, 0) + wanted
        return posted

    def redeem(self, fact: Redeem) -> list[Entry]:
        """Spend available points, soonest-expiring lots first; never overdraws, even where refunds may."""
        if fact.key in self.seen:
            return []
        if fact.points <= 0:
            raise InvalidInput("redeem a positive number of points", where=fact.key, field="points", value=fact.points)
        if fact.points > self.available:
            raise InsufficientPoints(f"{fact.points} points asked, {max(0, self.available)} available")
        self.seen[fact.key] = fact.customer_id
        return self._take(fact.key, "redeem", "redeemed", fact.points, fact.at, str(fact.customer_id), fact.reason)

    def apply_spending(self, fact: Redeem | Adjust) -> list[Entry]:
        """A redemption or a deduction (a negative adjustment)."""
        return self.redeem(fact) if isinstance(fact, Redeem) else self.adjust(fact)

    def adjust(self, fact: Adjust) -> list[Entry]:
        """An operator grants or takes points; the operator and the reason stay on the entry."""
        if fact.key in self.seen:
            return []
        if not fact.operator or not fact.reason.strip() or fact.points == 0:
            raise InvalidInput("an adjustment needs an operator, a reason and a non-zero amount", where=fact.key)
        if fact.points > 0:
            self.seen[fact.key] = fact.customer_id
            lot = self._open_lot(f"adjust:{fact.adjustment_id}", fact.customer_id, fact.at, None)
            entry = self._post(
                fact.key,
                "adjust",
                fact.points,
                "issued",
                "available",
                fact.at,
                lot,
                actor=fact.operator,
                reason=fact.reason,
            )
            lot.earned += fact.points
            lot.available += fact.points
            return [entry, *self._settle(lot, fact.key, fact.at)]
        points = -fact.points
        shortfall = points - max(0, self.available)
        if shortfall > 0 and not self.program.allow_negative_balance:
            raise InsufficientPoints(f"{points} points to deduct, {max(0, self.available)} available")
        self.seen[fact.key] = fact.customer_id
        posted = self._take(
            fact.key, "adjust", "issued", points - max(0, shortfall), fact.at, fact.operator, fact.reason
        )
        if shortfall > 0:
            lot = self._open_lot(f"adjust:{fact.adjustment_id}", fact.customer_id, fact.at, None)
            posted.append(
                self._post(
                    fact.key,
                    "adjust",
                    shortfall,
                    "available",
                    "issued",
                    fact.at,
                    lot,
                    actor=fact.operator,
                    reason=fact.reason,
                )
            )
            lot.available -= shortfall
            lot.withdrawn += shortfall
        return posted

    def earn_bonus(self, fact: BonusEarned) -> list[Entry]:
        """Birthday and review bonuses: available at once, in a lot of their own, within the rule's limits.

        A member earns one birthday bonus per local year, whichever of their merged customers it
        names; review bonuses stop at the rule's ``max_per_day`` and ``max_per_month``.
        """
        if fact.key in self.seen:
            return []
        self.seen[fact.key] = fact.customer_id
        rule = bonus_rule(self.program, fact.kind, fact.at, channel=fact.channel)
        if rule is None or self._bonus_limit_reached(fact, rule):
            return []
        earning = bonus(self.program, fact.kind, fact.at, channel=fact.channel, detail=dict(fact.detail))
        lot = self._open_lot(fact.key, fact.customer_id, fact.at, None)
        entry = self._post(
            fact.key, "earn", earning.points, "issued", "available", fact.at, lot, explanation=earning.applied
        )
        lot.earned += earning.points
        lot.available += earning.points
        posted = [entry, *self._settle(lot, fact.key, fact.at)]
        self.upgrade_tier(fact.at)
        return posted

    def _bonus_limit_reached(self, fact: BonusEarned, rule: EarnRule) -> bool:
        zone = self.program.zone
        local = fact.at.astimezone(zone)
        earned = [
            lot.earned_at.astimezone(zone)
            for lot in self.lots.values()
            if lot.lot_id.startswith(f"bonus:{fact.kind}:") and lot.earned
        ]
        if fact.kind == "birthday":
            return any(when.year == local.year for when in earned)
        same_month = [when for when in earned if (when.year, when.month) == (local.year, local.month)]
        same_day = [when for when in same_month if when.day == local.day]
        return (rule.max_per_month is not None and len(same_month) >= rule.max_per_month) or (
            rule.max_per_day is not None and len(same_day) >= rule.max_per_day
        )

    def expire_due(self, at: datetime) -> list[Entry]:
        """Expire every lot whose time has come; running it again at the same time posts nothing."""
        posted = []
        for lot in due(list(self.lots.values()), at):
            key = f"expire:{lot.lot_id}@{at.astimezone(UTC).isoformat()}"
            posted.append(self._post(key, "expire", lot.spendable, "available", "expired", at, lot))
            self.seen[key] = lot.customer_id
            lot.expired += lot.spendable
            lot.available -= lot.spendable
        return posted

    def review_tier(self, at: datetime) -> tiers.TierChange | None:
        """The periodic review: the only moment a tier may go down."""
        value = tiers.qualifying_value(self.activities(), self.program, at)
        return tiers.evaluate(self.tier, self.program, value, at, review=True)

    # -- helpers ---------------------------------------------------------------------------

    def upgrade_tier(self, at: datetime) -> None:
        """Upgrades apply at once, after any fact that adds qualifying activity."""
        if self.tier.code == self.program.tiers[-1].code:
            return  # nothing to upgrade to; spares the window sum in bulk posting
        value = tiers.qualifying_value(self.activities(), self.program, at)
        tiers.evaluate(self.tier, self.program, value, at, review=False)

    def _open_lot(self, lot_id: str, customer_id: int, at: datetime, order_id: str | None) -> Lot:
        lot = Lot(lot_id, customer_id, at, expires_at(self.program.expiry, at, self.program), order_id)
        self.lots[lot_id] = lot
        return lot

    def _take(
        self, key: str, kind: str, target: str, points: int, at: datetime, actor: str, reason: str
    ) -> list[Entry]:
        posted = []
        for lot in spending_order(list(self.lots.values())):
            take = min(points, lot.spendable)
            if not take:
                continue
            posted.append(self._post(key, kind, take, "available", target, at, lot, actor=actor, reason=reason))
            lot.available -= take
            if target == "redeemed":
                lot.redeemed += take
            else:
                lot.withdrawn += take
            points -= take
            if not points:
                break
        return posted

    def _settle(self, lot: Lot, key: str, at: datetime) -> list[Entry]:
        owed = self.debts.get(lot.customer_id, 0)
        take = min(owed, lot.spendable)
        if not take:
            return []
        entry = self._post(key, "settle", take, "available", "debt", at, lot)
        lot.available -= take
        lot.settled += take
        self.debts[lot.customer_id] = owed - take
        return [entry]

    def _post(
        self,
        key: str,
        kind: str,
        points: int,
        source: str,
        target: str,
        at: datetime,
        lot: Lot,
        *,
        order: str | None = None,
        actor: str | None = None,
        reason: str = "",
        explanation: tuple[Applied, ...] = (),
    ) -> Entry:
        part = 0  # the entries of one fact are posted together, numbered in order
        while part < len(self.entries) and self.entries[-1 - part].key == key:
            part += 1
        entry = Entry(
            key=key,
            part=part,
            kind=kind,
            points=points,
            source=source,
            target=target,
            at=at,
            customer_id=lot.customer_id,
            lot_id=lot.lot_id,
            order_id=order or lot.order_id,
            actor=actor,
            reason=reason,
            explanation=explanation,
        )
        self.entries.append(entry)
        return entry
