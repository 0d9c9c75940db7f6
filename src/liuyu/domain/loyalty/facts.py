"""The facts and commands a member account applies, each with the idempotency key it posts under.

Keys are workspace-wide and derived from what happened (the order, the refund, the request), so
replaying the same fact twice, or the whole log, never posts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from liuyu.domain.loyalty.rules import PaidLine
from liuyu.domain.orders import Order


@dataclass(frozen=True, slots=True)
class Enroll:
    """A customer joins the program (explicitly, from any channel)."""

    customer_id: int
    at: datetime
    channel: str = "other"

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"enroll:{self.customer_id}"


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """An order was paid: it earns points, pending until its return window closes."""

    customer_id: int
    order_id: str
    channel: str
    at: datetime  # when it was paid: the rules in force then apply
    lines: tuple[PaidLine, ...]

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"order:{self.order_id}:earn"

    @property
    def total(self) -> Decimal:
        """What the customer paid for the order, the base of proportional reversals."""
        return sum((line.amount for line in self.lines), Decimal(0))


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    """Money went back to the customer: points are reversed in proportion."""

    customer_id: int
    order_id: str
    refund_id: str
    amount: Decimal  # this refund alone; several partial refunds add up
    at: datetime

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"order:{self.order_id}:refund:{self.refund_id}"


@dataclass(frozen=True, slots=True)
class ReturnWindowClosed:
    """The order can no longer be returned: its pending points become available."""

    customer_id: int
    order_id: str
    at: datetime

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"order:{self.order_id}:release"


@dataclass(frozen=True, slots=True)
class Redeem:
    """The member spends points (a command; refused when they do not have enough)."""

    customer_id: int
    request_id: str
    points: int
    at: datetime
    reason: str = ""

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"redeem:{self.request_id}"


@dataclass(frozen=True, slots=True)
class Adjust:
    """An operator grants or takes points, always with a reason."""

    customer_id: int
    adjustment_id: str
    points: int  # positive grants, negative takes away
    operator: str
    reason: str
    at: datetime

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"adjust:{self.adjustment_id}"


@dataclass(frozen=True, slots=True)
class BonusEarned:
    """A birthday (ref: customer and year) or a review (ref: the order reviewed, else the review) bonus.

    ``detail`` is what the ledger entry's explanation says about it (the review, the birthday).
    """

    customer_id: int
    kind: str
    ref: str
    at: datetime
    channel: str = "other"
    detail: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The idempotency key this fact posts under."""
        return f"bonus:{self.kind}:{self.ref}"


@dataclass(frozen=True, slots=True)
class ExpireDue:
    """The expiry job: expire every lot due by ``at``."""

    at: datetime


@dataclass(frozen=True, slots=True)
class ReviewTiers:
    """The periodic tier review: the only moment tiers go down."""

    at: datetime


@dataclass(frozen=True, slots=True)
class AccountsMerged:
    """The data core merged two customers: their accounts merge."""

    winner: int
    loser: int
    at: datetime


@dataclass(frozen=True, slots=True)
class AccountsUnmerged:
    """The data core undid a merge: the account splits back."""

    customer_id: int  # the customer split back out, with everyone merged into it before
    at: datetime


Fact = (
    Enroll
    | OrderPaid
    | OrderRefunded
    | ReturnWindowClosed
    | Redeem
    | Adjust
    | BonusEarned
    | ExpireDue
    | ReviewTiers
    | AccountsMerged
    | AccountsUnmerged
)


def order_paid_from(order: Order, customer_id: int, channel: str) -> OrderPaid | None:
    """The earning fact for a channel order snapshot; None when it has not been paid.

    Order-level discounts are spread over the lines in proportion to their amounts (to the cent,
    remainder on the last line), so per-category rates see what the customer actually paid.
    """
    if order.paid is None or order.paid_at is None or order.paid <= 0:
        return None
    amounts = [line.amount for line in order.lines]
    listed = sum((a for a in amounts if a is not None), Decimal(0))
    if not order.lines or any(a is None for a in amounts) or listed <= 0:
        return OrderPaid(
            customer_id, order.order_id, channel, order.paid_at, (PaidLine(f"{order.order_id}-1", order.paid),)
        )
    lines: list[PaidLine] = []
    left = order.paid
    for i, line in enumerate(order.lines):
        last = i == len(order.lines) - 1
        share = left if last else (order.paid * (line.amount or Decimal(0)) / listed).quantize(Decimal("0.01"))
        left -= share
        lines.append(PaidLine(f"{order.order_id}-{i + 1}", share, line.category))
    return OrderPaid(customer_id, order.order_id, channel, order.paid_at, tuple(lines))
