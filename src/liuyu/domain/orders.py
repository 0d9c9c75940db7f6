"""Orders from every channel, normalized: one status vocabulary, Decimal money, UTC times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

#: The order lifecycle, in the order a normal order moves through it.
ORDER_STATUSES = (
    "pending_payment",
    "paid",
    "shipped",
    "completed",
    "cancelled",
    "refunded",
)

#: Which event type reports which status.
STATUS_OF_EVENT = {
    "order_placed": "pending_payment",
    "order_paid": "paid",
    "order_shipped": "shipped",
    "order_completed": "completed",
    "order_cancelled": "cancelled",
    "order_refunded": "refunded",
}

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class OrderLine:
    title: str
    quantity: int = 1
    sku: str | None = None
    product_id: str | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A snapshot of one order as the channel reported it at one moment."""

    platform: str
    order_id: str
    status: str
    total: Decimal = ZERO
    paid: Decimal | None = None
    refunded: Decimal = ZERO
    currency: str = "CNY"
    placed_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    completed_at: datetime | None = None
    refunded_at: datetime | None = None
    store_id: str | None = None
    raw_status: str | None = None
    lines: tuple[OrderLine, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {self.status!r}")

    @property
    def net(self) -> Decimal:
        """What the customer finally spent: paid minus refunded, never below zero."""
        if self.paid is None:
            return ZERO
        return max(ZERO, self.paid - self.refunded)


def to_fen(amount: Decimal | None) -> int | None:
    """Money is stored as integer fen so that sums are exact on every database."""
    if amount is None:
        return None
    return int((amount * 100).quantize(Decimal("1")))


def from_fen(fen: int | None) -> Decimal | None:
    if fen is None:
        return None
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def parse_money(raw: object, *, unit: str = "yuan") -> Decimal | None:
    """Parse '¥1,299.00', '1299', 129900 (fen). Raises ValueError for text that is not money."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = Decimal(str(raw))
    else:
        text = str(raw).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
        text = text.replace("元", "").strip()
        if not text or text in {"-", "null", "None"}:
            return None
        try:
            value = Decimal(text)
        except ArithmeticError as exc:
            raise ValueError(f"not an amount of money: {raw!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount of money: {raw!r}")
    if abs(value) >= Decimal(10) ** 15:
        raise ValueError(f"amount of money out of range: {raw!r}")
    if unit == "fen":
        value = value / 100
    if value < 0:
        raise ValueError(f"negative amount: {raw!r}")
    return value.quantize(Decimal("0.01"))
