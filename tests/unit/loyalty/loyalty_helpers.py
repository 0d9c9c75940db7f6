"""A memorable test program and small builders for loyalty facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml

from liuyu.domain.loyalty.facts import OrderPaid
from liuyu.domain.loyalty.program import Program, load_program
from liuyu.domain.loyalty.rules import PaidLine

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing

PROGRAM_YAML = """
code: HEIWUSHI
name: 黑武士会员
timezone: Asia/Shanghai
return_window_days: 7
allow_negative_balance: false
expiry: {mode: end_of_year, years_after: 1}
tier_policy: {basis: points_earned, window_days: 365, grace_days: 0}
tiers:
  - {code: MEMBER, name: 普通会员, threshold: 0}
  - code: GOLD
    name: 金卡
    threshold: 1000
    benefits: {discount_rate: "0.95", free_shipping: true, points_multiplier: "1.5", exclusive_coupons: [GOLD-30]}
  - code: BLACK
    name: 黑卡
    threshold: 5000
    benefits:
      {discount_rate: "0.9", free_shipping: true, priority_service: true, birthday_gift: 手柄, points_multiplier: 2}
rules:
  - {id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2026-01-01T00:00:00+08:00"}
  - id: tmall
    kind: channel_rate
    points_per_yuan: "0.5"
    channels: [tmall]
    effective_from: "2026-01-01T00:00:00+08:00"
  - id: gamepads
    kind: category_rate
    points_per_yuan: 2
    categories: [手柄]
    effective_from: "2026-01-01T00:00:00+08:00"
  - id: double11
    kind: campaign
    multiplier: 2
    effective_from: "2026-11-11T00:00:00+08:00"
    effective_until: "2026-11-12T00:00:00+08:00"
  - {id: welcome, kind: first_order, points: 100, effective_from: "2026-01-01T00:00:00+08:00"}
  - {id: birthday, kind: birthday, points: 200, effective_from: "2026-01-01T00:00:00+08:00"}
  - {id: review, kind: review, points: 20, effective_from: "2026-01-01T00:00:00+08:00"}
coupon_templates:
  - {code: GOLD-30, name: 满200减30, kind: threshold, threshold: 200, amount_off: 30}
  - {code: APP-10, name: App 九折, kind: percent_off, percent_off: 10, owned_channel_only: true, stackable: true}
  - {code: SHIP, kind: free_shipping, stackable: true}
  - {code: PAD-50, kind: amount_off, amount_off: 50, categories: [手柄], return_on_refund: true, batch_codes: [PAD50]}
"""


def program_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PROGRAM_YAML)
    data.update(changes)
    return data


def make_program(**changes: Any) -> Program:
    return load_program(program_data(**changes))


def paid(
    customer: int, order_id: str, amount: str, *, at: datetime = T0, channel: str = "app", category: str | None = None
) -> OrderPaid:
    return OrderPaid(customer, order_id, channel, at, (PaidLine(f"{order_id}-1", Decimal(amount), category),))


def days(n: float) -> timedelta:
    return timedelta(days=n)
