"""The facts and commands a member account applies, each with the idempotency key it posts under.

Keys are workspace-wide and derived from what happened (the order, the refund, the request), so
replaying the same fact twice, or the whole log, never posts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from liuyu.domain.loyalty.rules import PaidLine


@dataclass(frozen=True, slots=True)
class Enroll:
    customer_id: int
    at: datetime
    channel: str = "other"

    @property
    def key(self) -> str:
        return f"enroll:{self.customer_id}"


@dataclass(frozen=True, slots=True)
class OrderPaid:
    customer_id: int
    order_id: str
    channel: str
    at: datetime  # when it was paid: the rules in force then apply
    lines: tuple[PaidLine, ...]

    @property
    def key(self) -> str:
        return f"order:{self.order_id}:earn"

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    customer_id: int
    order_id: str
    refund_id: str
    amount: Decimal  # this refund alone; several partial refunds add up
    at: datetime

    @property
    def key(self) -> str:
        return f"order:{self.order_id}:refund:{self.refund_id}"


@dataclass(frozen=True, slots=True)
class ReturnWindowClosed:
    customer_id: int
    order_id: str
    at: datetime

    @property
    def key(self) -> str:
        return f"order:{self.order_id}:release"


@dataclass(frozen=True, slots=True)
class Redeem:
    customer_id: int
    request_id: str
    points: int
    at: datetime
    reason: str = ""

    @property
    def key(self) -> str:
        return f"redeem:{self.request_id}"


@dataclass(frozen=True, slots=True)
class Adjust:
    customer_id: int
    adjustment_id: str
    points: int  # positive grants, negative takes away
    operator: str
    reason: str
    at: datetime

    @property
    def key(self) -> str:
        return f"adjust:{self.adjustment_id}"


@dataclass(frozen=True, slots=True)
class BonusEarned:
    """A birthday (ref: customer and year) or a review (ref: the review id) bonus."""

    customer_id: int
    kind: str
    ref: str
    at: datetime
    channel: str = "other"

    @property
    def key(self) -> str:
        return f"bonus:{self.kind}:{self.ref}"


@dataclass(frozen=True, slots=True)
class ExpireDue:
    at: datetime


@dataclass(frozen=True, slots=True)
class ReviewTiers:
    at: datetime


@dataclass(frozen=True, slots=True)
class AccountsMerged:
    winner: int
    loser: int
    at: datetime


@dataclass(frozen=True, slots=True)
class AccountsUnmerged:
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
