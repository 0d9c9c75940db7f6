"""Coupons: issued from templates, redeemed exactly once, expired, returned on refund if allowed.

Unique codes are an HMAC of the batch and a counter under the workspace's secret: unguessable
without the secret, yet the same on every rebuild. A batch code (``DOUBLE11``) is one code many
members claim; each claim is a coupon of its own, whose code is made from the shared code and the
customer. "Exactly once under concurrency" is storage's job (a conditional update); the rules of
what may be redeemed are here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.loyalty.program import CouponTemplate, Program

CENT = Decimal("0.01")


class CouponNotApplicable(Conflict):
    """The coupon exists but cannot be used on this cart, channel, customer or time; says why."""


@dataclass(frozen=True, slots=True)
class Coupon:
    """One coupon in one member's hands; its status moves issued → redeemed or expired."""

    code: str
    template: str
    customer_id: int
    issued_at: datetime
    expires_at: datetime
    status: str = "issued"  # issued, redeemed, expired
    order_id: str | None = None
    redeemed_at: datetime | None = None
    channel: str | None = None
    batch: str = ""


@dataclass(frozen=True, slots=True)
class CartLine:
    """A line as the coupon sees it: the amount to pay and the category."""

    amount: Decimal
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Cart:
    """The order being checked out, on one channel."""

    channel: str
    lines: tuple[CartLine, ...]
    shipping: Decimal = Decimal(0)


def make_code(secret: bytes, batch: str, n: int) -> str:
    """A 12-character code like ``K7QD-2MXA-9PLF``; unique per (batch, n) and unguessable without ``secret``."""
    if not secret:
        raise InvalidInput("coupon codes need a workspace secret")
    mac = hmac.new(secret, f"{batch}:{n}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(mac).decode()[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def issue(
    template: CouponTemplate,
    customer_ids: Iterable[int],
    at: datetime,
    *,
    batch: str,
    secret: bytes,
    start: int = 0,
) -> list[Coupon]:
    """One unique coupon per customer (one member, a list, or a segment's result), numbered from ``start``."""
    expires = at + timedelta(days=template.valid_days)
    return [
        Coupon(make_code(secret, batch, start + i), template.code, customer, at, expires, batch=batch)
        for i, customer in enumerate(customer_ids)
    ]


def batch_code(text: str) -> str:
    """A shared code as members type it (``double11 ``) in the form it is stored (``DOUBLE11``)."""
    return text.strip().upper()


def claim_batch_code(template: CouponTemplate, code: str, customer_id: int, at: datetime, *, secret: bytes) -> Coupon:
    """A member claims a shared code and gets a coupon of their own, with a code only they hold.

    The coupon's code is made from the shared code and the customer, so a second claim by the same
    member makes the same code: storage's unique code is what limits a batch to once per customer,
    even when two claims race.
    """
    shared = batch_code(code)
    if not shared:
        raise InvalidInput("a batch code cannot be empty", field="code")
    if shared not in template.batch_codes:
        raise InvalidInput(f"{shared} is not a batch code of {template.code}", field="code", value=code)
    return Coupon(
        make_code(secret, f"claim:{shared}", customer_id),
        template.code,
        customer_id,
        at,
        at + timedelta(days=template.valid_days),
        batch=shared,
    )


def discount(template: CouponTemplate, program: Program, cart: Cart) -> Decimal:
    """How much the coupon takes off this cart; raises CouponNotApplicable with the reason when it does not apply."""
    if template.channels and cart.channel not in template.channels:
        raise CouponNotApplicable(f"{template.code} is for {', '.join(sorted(template.channels))} only")
    if template.owned_channel_only and cart.channel not in program.owned_channels:
        raise CouponNotApplicable(f"{template.code} is redeemed in our own app, mini-program or stores only")
    eligible = sum(
        (line.amount for line in cart.lines if not template.categories or line.category in template.categories),
        Decimal(0),
    )
    if template.kind == "free_shipping":
        if cart.shipping <= 0:
            raise CouponNotApplicable(f"{template.code}: this order has no shipping fee")
        return cart.shipping
    if eligible <= 0:
        raise CouponNotApplicable(f"{template.code}: nothing in the cart is in {sorted(template.categories)}")
    if template.kind == "threshold" and eligible < (template.threshold or Decimal(0)):
        raise CouponNotApplicable(f"{template.code}: needs {template.threshold}, the eligible amount is {eligible}")
    if template.kind == "percent_off":
        return (eligible * (template.percent_off or Decimal(0)) / 100).quantize(CENT, rounding=ROUND_DOWN)
    return min(template.amount_off or Decimal(0), eligible)


def check_stacking(templates: list[CouponTemplate]) -> None:
    """Several coupons on one order only when every one of them is stackable."""
    if len(templates) > 1:
        lone = [t.code for t in templates if not t.stackable]
        if lone:
            raise CouponNotApplicable(f"{', '.join(lone)} cannot be combined with other coupons")


def redeem(
    coupon: Coupon,
    template: CouponTemplate,
    program: Program,
    *,
    customer_id: int,
    cart: Cart,
    order_id: str,
    at: datetime,
    others: tuple[CouponTemplate, ...] = (),
) -> tuple[Coupon, Decimal]:
    """Use the coupon on one order; a retry for the same order returns the same result, any other use is refused."""
    if coupon.status == "redeemed":
        if coupon.order_id == order_id:
            return coupon, discount(template, program, cart)
        raise Conflict(f"coupon {coupon.code} was already redeemed on order {coupon.order_id}")
    if coupon.customer_id != customer_id:
        raise CouponNotApplicable(f"coupon {coupon.code} belongs to another member")
    if coupon.status == "expired" or at >= coupon.expires_at:
        raise CouponNotApplicable(f"coupon {coupon.code} expired at {coupon.expires_at.isoformat()}")
    if at < coupon.issued_at:
        raise CouponNotApplicable(f"coupon {coupon.code} is not valid before {coupon.issued_at.isoformat()}")
    check_stacking([template, *others])
    amount = discount(template, program, cart)
    return replace(coupon, status="redeemed", order_id=order_id, redeemed_at=at, channel=cart.channel), amount


def expire(coupon: Coupon, at: datetime) -> Coupon:
    """Unused coupons past their time become expired; others are left as they are."""
    if coupon.status == "issued" and at >= coupon.expires_at:
        return replace(coupon, status="expired")
    return coupon


def returns_on_refund(template: CouponTemplate, program: Program) -> bool:
    """The template's own setting wins; otherwise the program's."""
    return program.return_coupons_on_refund if template.return_on_refund is None else template.return_on_refund


def return_on_refund(
    coupon: Coupon, template: CouponTemplate, program: Program, *, order_id: str, at: datetime
) -> Coupon:
    """Give a redeemed coupon back when its order is refunded and the program says so (expired if its time is over)."""
    if coupon.status != "redeemed" or coupon.order_id != order_id or not returns_on_refund(template, program):
        return coupon
    status = "expired" if at >= coupon.expires_at else "issued"
    return replace(coupon, status=status, order_id=None, redeemed_at=None, channel=None)
