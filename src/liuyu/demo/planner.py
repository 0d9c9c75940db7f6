"""What each demo person does and when: a plan of small tuples, sorted by time before events are built.

Planning first and building events second keeps memory small (a plan entry is a tuple, an event
carries dicts and an order snapshot) and lets the whole demo come out in time order, the way a
live stream of touchpoints would.
"""

from __future__ import annotations

import random
from bisect import bisect, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import accumulate
from typing import TypeVar

from liuyu.demo.catalog import Product, demo_catalog
from liuyu.demo.people import MARKETPLACES, PeopleFactory, Person, plant_traps

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
DEFAULT_NOW = datetime(2026, 11, 11, 12, 0, tzinfo=SHANGHAI)
SPAN_DAYS = 730

DAY = 86_400
HOUR = 3_600
CENT = Decimal("0.01")
T = TypeVar("T")

# Local hour of day: evenings are busiest, stores open 10-22.
_HOUR_WEIGHTS = (3, 1.5, 0.8, 0.4, 0.3, 0.4, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 8, 9, 8, 5)
_HOUR_CUM = list(accumulate(_HOUR_WEIGHTS))
_STORE_HOURS = tuple(range(10, 22))
_SALE_DAYS = {(11, 11), (6, 18)}
_REPEATABLE = ("床品", "枕头", "香薰", "零食", "毛巾", "游戏配件")
_ORDERS_BY_SEGMENT = {"dormant": (1, 1), "occasional": (1, 3), "loyal": (4, 10)}
_MULTI_QUANTITY = {"零食", "毛巾", "香薰"}


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """Everything that will happen to one order; each lifecycle fact becomes one event."""

    person: int
    channel: str
    order_id: str
    lines: tuple[tuple[Product, str, int], ...]  # product, variant, quantity
    total: Decimal
    paid: Decimal
    placed: int
    paid_at: int | None = None
    shipped: int | None = None
    completed: int | None = None
    cancelled: int | None = None
    refunded_at: int | None = None
    refund: Decimal = Decimal("0.00")
    refund_before_shipping: bool = False
    store_id: str | None = None


# A plan entry: (seconds since the window start, sequence number, kind, person index, payload)
PlanEntry = tuple[int, int, str, int, object]


@dataclass(slots=True)
class DemoPlan:
    start: datetime  # local midnight at the start of the window
    horizon: int  # seconds from start to ``now``: nothing happens later
    people: list[Person]
    entries: list[PlanEntry]
    orders: list[OrderPlan]


def is_peak(day: date) -> bool:
    """11.11 and 618 presale weeks, and Double 12."""
    return (day.month == 11 and day.day <= 11) or (day.month == 6 and day.day <= 18) or (day.month, day.day) == (12, 12)


def _day_weight(day: date) -> float:
    if (day.month, day.day) == (11, 11):
        return 12.0
    if (day.month, day.day) == (6, 18):
        return 7.0
    if is_peak(day):
        return 2.5 if day.month == 11 else 2.0 if day.month == 6 else 3.0
    if (day.month == 1 and day.day >= 22) or (day.month == 2 and day.day <= 12):
        return 0.55  # Spring Festival: couriers stop, shoppers travel
    return 1.15 if day.weekday() >= 5 else 1.0


class Planner:
    def __init__(self, seed: int, now: datetime | None) -> None:
        now_local = (now or DEFAULT_NOW).astimezone(SHANGHAI)
        self.rng = random.Random(seed)
        first = now_local.date() - timedelta(days=SPAN_DAYS)
        self.start = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI)
        self.days = SPAN_DAYS + 1
        self.horizon = int((now_local - self.start).total_seconds())
        self.dates = [first + timedelta(days=d) for d in range(self.days)]
        self.day_cum = [0.0, *accumulate(_day_weight(d) for d in self.dates)]
        self.entries: list[PlanEntry] = []
        self.orders: list[OrderPlan] = []
        self.catalog = demo_catalog()
        self.by_category: dict[str, list[Product]] = {}
        for product in self.catalog:
            self.by_category.setdefault(product.category, []).append(product)
        self.durable = [p for p in self.catalog if p.durable]
        self.order_count = 0

    def plan(self, people: int) -> DemoPlan:
        factory = PeopleFactory(self.rng, self.days, self.start)
        crowd = [factory.person(i) for i in range(people)]
        plant_traps(factory, crowd)
        for person in crowd:
            self._plan_person(person)
        self.entries.sort()
        return DemoPlan(self.start, self.horizon, crowd, self.entries, self.orders)

    # -- time ------------------------------------------------------------------------------

    def _day(self, lo: int, hi: int) -> int:
        """A day in [lo, hi], busier on peak days."""
        cum = self.day_cum
        u = cum[lo] + self.rng.random() * (cum[hi + 1] - cum[lo])
        return min(hi, max(lo, bisect_right(cum, u) - 1))

    def _moment(self, day: int, *, store: bool = False) -> int:
        rng = self.rng
        if store:
            hour = _pick(rng, _STORE_HOURS)
        elif (self.dates[day].month, self.dates[day].day) in _SALE_DAYS and rng.random() < 0.3:
            hour = 0  # the midnight rush when the sale opens
        else:
            hour = bisect(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
        return day * DAY + hour * HOUR + _between(rng, 0, HOUR)

    def _add(self, t: int, kind: str, person: Person, payload: object = None) -> None:
        if 0 <= t <= self.horizon:
            self.entries.append((t, len(self.entries), kind, person.idx, payload))

    # -- people ----------------------------------------------------------------------------

    def _plan_person(self, p: Person) -> None:
        rng = self.rng
        joined: dict[str, int] = {}  # the day each channel entered the person's life
        for channel in p.channels:
            day = p.first_day if channel == p.channels[0] else self._day(p.first_day, p.last_day)
            joined[channel] = day
            self._plan_joining(p, channel, day)
        buying = [c for c in p.channels if c != "wechat"]
        if not buying:
            return
        fewest, most = _ORDERS_BY_SEGMENT[p.segment]
        for n in range(_between(rng, fewest, most + 1)):
            channel = buying[0] if (n == 0 or rng.random() < 0.55) else _pick(rng, buying)
            since = joined[channel]
            # A first order follows the first touch within a month, pulled towards the next sale.
            until = min(p.last_day, since + 30) if n == 0 else p.last_day
            self._plan_order(p, channel, self._day(since, until), first_order=n == 0)
        browsing = {"dormant": 1, "occasional": 3, "loyal": 6}[p.segment]
        for _ in range(_between(rng, 0, browsing + 1)):
            channel = _pick(rng, buying)
            if channel != "store":
                self._plan_browse(p, channel, self._moment(self._day(joined[channel], p.last_day)), None)
        if p.calls_hotline:
            for _ in range(_between(rng, 1, 3)):
                self._add(self._moment(self._day(p.first_day, p.last_day)), "call", p, _between(rng, 0, 4))

    def _plan_joining(self, p: Person, channel: str, day: int) -> None:
        """Registration, follow and the logins that come with an owned channel."""
        rng = self.rng
        t = self._moment(day, store=channel == "store")
        if channel == "wechat":
            self._add(t, "followed", p)
            if rng.random() < 0.15:
                left = t + _between(rng, DAY, 200 * DAY)
                self._add(left, "unfollowed", p)
                if rng.random() < 0.3:
                    self._add(left + _between(rng, DAY, 90 * DAY), "followed", p)
        elif channel in ("app", "store") or (channel == "miniprogram" and p.member_no):
            self._add(t, "identify", p, channel)
        elif channel == "tmall" and p.tmall_member:
            self._add(t + _between(rng, DAY, 60 * DAY), "identify", p, channel)
        if channel in ("app", "miniprogram"):
            logins = {"dormant": 2, "occasional": 5, "loyal": 12}[p.segment]
            for _ in range(_between(rng, 1, logins + 1)):
                self._add(self._moment(self._day(day, p.last_day)), "login", p, channel)
        if "phone_change" in p.traps and channel == "app" and p.phone_changed_at:
            changed = int((p.phone_changed_at - self.start).total_seconds())
            self._add(changed, "identify", p, "app")
            self._add(changed + _between(rng, HOUR, 10 * DAY), "login", p, "app")

    def _plan_browse(self, p: Person, channel: str, t: int, bought: list[Product] | None) -> None:
        """Views (and cart adds) before an order, or a session that ends without one."""
        rng = self.rng
        if channel in MARKETPLACES and rng.random() < 0.5:
            return  # marketplaces share only part of their shoppers' browsing with the brand
        if channel in ("app", "miniprogram"):
            self._add(t - _between(rng, 300, 3 * HOUR), "login", p, channel)
        products = list(bought) if bought else [self._pick_product(p, first_order=False)]
        if rng.random() < 0.6:
            products.append(_pick(rng, self.catalog))
        for product in products:
            for _ in range(_between(rng, 1, 4)):
                self._add(t - _between(rng, 60, 2 * HOUR), "view", p, (channel, product))
        carted = bought if bought else ([products[0]] if rng.random() < 0.25 else [])
        for product in carted:
            if bought is None or rng.random() < 0.6:
                self._add(t - _between(rng, 30, 1800), "cart", p, (channel, product))

    # -- orders ----------------------------------------------------------------------------

    def _pick_product(self, p: Person, *, first_order: bool) -> Product:
        rng = self.rng
        if first_order and rng.random() < 0.35:
            return _pick(rng, self.durable)
        if not first_order and rng.random() < 0.04:
            return _pick(rng, self.durable)
        category = _pick(rng, p.favourites) if rng.random() < 0.7 else _pick(rng, _REPEATABLE)
        return _pick(rng, self.by_category[category])

    def _lines(self, p: Person, first_order: bool) -> tuple[tuple[Product, str, int], ...]:
        rng = self.rng
        count = 1 if rng.random() < 0.6 else 2 if rng.random() < 0.75 else 3
        chosen: dict[str, tuple[Product, str, int]] = {}
        for n in range(count):
            product = self._pick_product(p, first_order=first_order and n == 0)
            variant = " ".join(x for x in (_maybe(rng, product.colours), _maybe(rng, product.sizes)) if x)
            quantity = _pick(rng, (1, 1, 1, 2, 3)) if product.category in _MULTI_QUANTITY else 1
            chosen.setdefault(product.sku, (product, variant, quantity))
        return tuple(chosen.values())

    def _plan_order(self, p: Person, channel: str, day: int, *, first_order: bool) -> None:
        rng = self.rng
        store = channel == "store"
        placed = self._moment(day, store=store)
        lines = self._lines(p, first_order)
        total = sum((prod.price * qty for prod, _, qty in lines), Decimal("0.00"))
        if is_peak(self.dates[day]):
            discount = Decimal(_between(rng, 12, 26)) / 100
        else:
            discount = Decimal(_between(rng, 5, 11)) / 100 if rng.random() < 0.4 else Decimal(0)
        paid = max(CENT, (total * (1 - discount)).quantize(CENT))
        self.order_count += 1
        order = OrderPlan(
            person=p.idx,
            channel=channel,
            order_id=self._order_id(channel, day, p),
            lines=lines,
            total=total,
            paid=paid,
            placed=placed,
            store_id=p.home_store.store_id if store and p.home_store else None,
        )
        order = self._lifecycle(order, store=store, durable=any(prod.durable for prod, _, _ in lines))
        self.orders.append(order)
        if not store:
            self._plan_browse(p, channel, placed, [prod for prod, _, _ in lines])
        for step in ("placed", "paid", "shipped", "completed", "cancelled", "refunded"):
            t = order.placed if step == "placed" else getattr(order, _STEP_FIELD[step])
            if t is not None:
                self._add(t, "order", p, (order, step))

    def _lifecycle(self, order: OrderPlan, *, store: bool, durable: bool) -> OrderPlan:
        rng = self.rng
        placed = order.placed
        if store:
            paid_at = placed + _between(rng, 20, 300)
            completed = paid_at + _between(rng, 5, 120)
            refund = rng.random() < 0.03
            refunded_at = completed + _between(rng, DAY, 7 * DAY) if refund else None
            return _replace(
                order,
                paid_at=paid_at,
                completed=completed,
                refunded_at=refunded_at,
                refund=order.paid if refund else Decimal("0.00"),
            )
        if rng.random() < 0.06:  # never paid: closed by the platform or cancelled by the buyer
            return _replace(order, cancelled=placed + _between(rng, 900, 2 * DAY))
        paid_at = placed + _between(rng, 10, 1800)
        shipped = paid_at + (_between(rng, 2 * DAY, 10 * DAY) if durable else _between(rng, 4 * HOUR, 2 * DAY))
        completed = shipped + _between(rng, 3 * DAY, 12 * DAY)
        roll = rng.random()
        if roll < 0.04:  # refund before shipping: the buyer changed their mind
            refunded_at = paid_at + _between(rng, HOUR, 2 * DAY)
            return _replace(
                order, paid_at=paid_at, refunded_at=refunded_at, refund=order.paid, refund_before_shipping=True
            )
        if roll < 0.07:  # returned after delivery
            return _replace(
                order,
                paid_at=paid_at,
                shipped=shipped,
                completed=completed,
                refunded_at=completed + _between(rng, DAY, 7 * DAY),
                refund=order.paid,
            )
        if roll < 0.09:  # partial: one line returned, or price protection after a sale
            if len(order.lines) > 1:
                product, _, qty = order.lines[-1]
                part = min(order.paid, (product.price * qty * order.paid / order.total).quantize(CENT))
            else:
                part = (order.paid * Decimal(_between(rng, 5, 31)) / 100).quantize(CENT)
            return _replace(
                order,
                paid_at=paid_at,
                shipped=shipped,
                completed=completed,
                refunded_at=completed + _between(rng, HOUR, 5 * DAY),
                refund=part,
            )
        return _replace(order, paid_at=paid_at, shipped=shipped, completed=completed)

    def _order_id(self, channel: str, day: int, p: Person) -> str:
        n = self.order_count
        stamp = self.dates[day].strftime("%Y%m%d")
        rng = self.rng
        if channel == "tmall":
            return f"{_between(rng, 10**5, 10**6)}{n:013d}"
        if channel == "jd":
            return f"{_between(rng, 100, 1000)}{n:09d}"
        if channel == "douyin":
            return f"69{_between(rng, 10**4, 10**5)}{n:012d}"
        if channel == "store":
            store = p.home_store.store_id if p.home_store else "QM-SH-01"
            return f"{store}-{stamp}-{n:06d}"
        return f"{'MP' if channel == 'miniprogram' else 'APP'}{stamp}{n:08d}"


_STEP_FIELD = {
    "paid": "paid_at",
    "shipped": "shipped",
    "completed": "completed",
    "cancelled": "cancelled",
    "refunded": "refunded_at",
}


def _maybe(rng: random.Random, options: tuple[str, ...]) -> str:
    return _pick(rng, options) if options else ""


# The planner draws a few million numbers; these two are about twice as fast as randrange and
# choice, and as deterministic (they only use random()).
def _between(rng: random.Random, lo: int, hi: int) -> int:
    """An int in [lo, hi)."""
    return lo + int(rng.random() * (hi - lo))


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    return options[int(rng.random() * len(options))]


def _replace(order: OrderPlan, **changes: object) -> OrderPlan:
    return replace(order, **changes)  # type: ignore[arg-type]


def make_plan(seed: int, people: int, now: datetime | None) -> DemoPlan:
    return Planner(seed, now).plan(people)
