"""The demo workspace's event stream: ~20,000 people of the brand 栖木 QIMU over two years.

``generate_demo`` yields events in time order, deterministic for a seed: the same events, in the
same order, with the same external ids on every machine. Each channel reports only what it would
know: marketplaces a buyer key with a masked phone and name, the brand's own channels the real
phone (verified at app login and at the till) and the WeChat union id. See docs/demo.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from liuyu.demo.people import Person
from liuyu.demo.planner import DemoPlan, OrderPlan, make_plan
from liuyu.demo.texts import CALL_REASONS
from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import ZERO, Order, OrderLine, to_fen

_STEP_INDEX = {"placed": 0, "paid": 1, "shipped": 2, "completed": 3, "cancelled": 4, "refunded": 5}
_EVENT_OF_STEP = {step: f"order_{step}" for step in _STEP_INDEX}

# How each platform spells the status, as its export or API would (kept on the snapshot as raw_status).
_RAW_STATUS = {
    "tmall": {
        "placed": "WAIT_BUYER_PAY",
        "paid": "WAIT_SELLER_SEND_GOODS",
        "shipped": "WAIT_BUYER_CONFIRM_GOODS",
        "completed": "TRADE_FINISHED",
        "cancelled": "TRADE_CLOSED_BY_TAOBAO",
        "refunded": "TRADE_CLOSED",
    },
    "jd": {
        "placed": "等待付款",
        "paid": "等待出库",
        "shipped": "等待确认收货",
        "completed": "完成",
        "cancelled": "取消",
        "refunded": "退款成功",
    },
    "douyin": {
        "placed": "1",
        "paid": "2",
        "shipped": "3",
        "completed": "5",
        "cancelled": "4",
        "refunded": "4",
    },
}
_OWN_RAW = {
    "placed": "待付款",
    "paid": "待发货",
    "shipped": "已发货",
    "completed": "已完成",
    "cancelled": "已取消",
    "refunded": "已退款",
}
_FOLLOW_SCENES = ("搜索公众号", "扫描二维码", "文章内关注", "门店扫码", "小程序关联")
OFFICIAL_ACCOUNT = "栖木QIMU"


class EventBuilder:
    """Turns plan entries into events; caches what a channel knows of a person."""

    def __init__(self, plan: DemoPlan) -> None:
        self.start = plan.start.timestamp()
        self.people = plan.people
        self._ids: dict[tuple[int, str, str, str], tuple[Identifier, ...]] = {}
        self._lines: dict[str, tuple[OrderLine, ...]] = {}

    def at(self, t: int) -> datetime:
        return datetime.fromtimestamp(self.start + t, UTC)

    # -- what a channel knows --------------------------------------------------------------

    def identifiers(self, p: Person, channel: str, when: datetime, seq: int = 0) -> tuple[Identifier, ...]:
        phone = p.phone_at(when)
        device = (
            p.device_ids[1] if len(p.device_ids) > 1 and seq % 3 == 0 else (p.device_ids[0] if p.device_ids else "")
        )
        key = (p.idx, channel, phone, device)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = _channel_identifiers(p, channel, phone, device)
        return found

    def traits(self, p: Person, channel: str) -> dict[str, Any]:
        if channel in ("tmall", "jd"):
            return {"name": p.surname + "**", "city": p.city, "province": p.province}
        if channel == "douyin":
            return {"name": p.surname + "*" * (len(p.name) - len(p.surname)), "city": p.city, "province": p.province}
        if channel in ("app", "store") or (channel == "miniprogram" and p.member_no):
            profile = {"name": p.name, "gender": p.gender, "city": p.city, "province": p.province}
            profile["birthday"] = p.birthday
            return profile
        return {}

    # -- events ----------------------------------------------------------------------------

    def event(self, t: int, seq: int, kind: str, idx: int, payload: Any) -> Event:
        p = self.people[idx]
        when = self.at(t)
        if kind == "order":
            order, step = payload
            return self.order_event(p, order, step, when, seq)
        if kind in ("view", "cart"):
            channel, product = payload
            properties: dict[str, Any] = {
                "sku": product.sku,
                "title": product.title,
                "category": product.category,
                "price": str(product.price),
            }
            if kind == "cart":
                properties["quantity"] = 1
            return Event(
                source=channel,
                external_id=f"{kind}-{seq:08d}",
                type="product_viewed" if kind == "view" else "cart_added",
                occurred_at=when,
                channel=channel,
                identifiers=self.identifiers(p, channel, when, seq),
                properties=properties,
            )
        if kind == "login":
            channel = payload
            method = "wechat" if channel == "miniprogram" or (p.app_wechat_login and seq % 2) else "sms"
            return Event(
                source=channel,
                external_id=f"login-{seq:08d}",
                type="login",
                occurred_at=when,
                channel=channel,
                identifiers=self.identifiers(p, channel, when, seq),
                properties={"method": method},
            )
        if kind in ("followed", "unfollowed"):
            properties = {"account": OFFICIAL_ACCOUNT}
            if kind == "followed":
                properties["scene"] = _FOLLOW_SCENES[seq % len(_FOLLOW_SCENES)]
            return Event(
                source="wechat",
                external_id=f"{kind}-{seq:08d}",
                type=kind,
                occurred_at=when,
                channel="wechat",
                identifiers=self.identifiers(p, "wechat", when),
                properties=properties,
            )
        if kind == "identify":
            return self.identify_event(p, payload, when, seq)
        if kind == "call":
            reason = CALL_REASONS[payload]
            return Event(
                source="hotline",
                external_id=f"call-{seq:08d}",
                type="custom",
                name="hotline_call",
                occurred_at=when,
                channel="hotline",
                identifiers=self.identifiers(p, "hotline", when),
                properties={"direction": "inbound", "reason": reason, "duration_s": 40 + seq % 600},
            )
        raise ValueError(f"unknown plan entry {kind!r}")

    def identify_event(self, p: Person, channel: str, when: datetime, seq: int) -> Event:
        """A registration: store membership, app sign-up, mini-program member card, Tmall membership."""
        identifiers = self.identifiers(p, channel, when, seq)
        traits = self.traits(p, channel)
        if channel == "tmall":  # joining the brand's Tmall membership shares the phone, verified by Tmall
            identifiers = (*identifiers[:2], Identifier("phone", p.phone_at(when), verified=True))
            traits = {
                "name": p.name,
                "gender": p.gender,
                "birthday": p.birthday,
                "city": p.city,
                "province": p.province,
            }
        program = {"tmall": "天猫品牌会员", "store": "门店会员", "app": "App注册", "miniprogram": "小程序会员卡"}[
            channel
        ]
        return Event(
            source=channel,
            external_id=f"identify-{seq:08d}",
            type="identify",
            occurred_at=when,
            channel=channel,
            identifiers=identifiers,
            traits=traits,
            properties={"program": program},
        )

    def order_event(self, p: Person, o: OrderPlan, step: str, when: datetime, seq: int) -> Event:
        external_id = f"{o.order_id}:{step}"
        if step == "refunded":
            external_id += f":{to_fen(o.refund)}"
        return Event(
            source=o.channel,
            external_id=external_id,
            type=_EVENT_OF_STEP[step],
            occurred_at=when,
            channel=o.channel,
            identifiers=self.identifiers(p, o.channel, when, seq),
            traits=self.traits(p, o.channel),
            order=self.snapshot(o, step),
        )

    def snapshot(self, o: OrderPlan, step: str) -> Order:
        """The order as the channel reports it right after ``step``."""
        known = _STEP_INDEX[step]
        lines = self._lines.get(o.order_id)
        if lines is None:
            lines = self._lines[o.order_id] = tuple(
                OrderLine(
                    title=f"{product.title} {variant}".strip(),
                    quantity=qty,
                    sku=product.sku,
                    product_id=product.sku,
                    unit_price=product.price,
                    amount=product.price * qty,
                    category=product.category,
                )
                for product, variant, qty in o.lines
            )
        partial = step == "refunded" and o.refund < o.paid
        status = "completed" if partial else "pending_payment" if step == "placed" else step
        raw = _RAW_STATUS.get(o.channel, _OWN_RAW)[step]
        paid = o.paid_at is not None and known >= 1
        return Order(
            platform=o.channel,
            order_id=o.order_id,
            status=status,
            total=o.total,
            paid=o.paid if paid else None,
            refunded=o.refund if step == "refunded" else ZERO,
            placed_at=self.at(o.placed),
            paid_at=self.at(o.paid_at) if paid and o.paid_at is not None else None,
            shipped_at=self.at(o.shipped) if o.shipped is not None and 2 <= known != 4 else None,
            completed_at=self.at(o.completed) if o.completed is not None and 3 <= known != 4 else None,
            refunded_at=self.at(o.refunded_at) if step == "refunded" and o.refunded_at is not None else None,
            store_id=o.store_id,
            raw_status="部分退款" if partial else raw,
            lines=lines,
        )


def _channel_identifiers(p: Person, channel: str, phone: str, device: str) -> tuple[Identifier, ...]:
    digits = phone[3:]
    if channel == "tmall":
        masked = Identifier("phone", digits[:3] + "****" + digits[-4:], masked=True)
        return (
            Identifier("tmall_open_uid", p.tmall_open_uid or ""),
            Identifier("tmall_nick", p.tmall_nick or ""),
            masked,
        )
    if channel == "jd":
        return (
            Identifier("jd_pin", p.jd_pin or ""),
            Identifier("phone", digits[:3] + "****" + digits[-4:], masked=True),
        )
    if channel == "douyin":
        masked = Identifier("phone", digits[0] + "*" * 8 + digits[-2:], masked=True)
        return (Identifier("douyin_open_id", p.douyin_open_id or ""), masked)
    found: list[Identifier] = []
    if channel == "wechat":
        found.append(Identifier("wechat_openid", p.oa_openid or ""))
    elif channel == "miniprogram":
        found.append(Identifier("wechat_openid", p.mp_openid or ""))
        if p.mp_phone_authorized:
            found.append(Identifier("phone", phone, verified=True))
        if p.member_no:
            found.append(Identifier("member_no", p.member_no, verified=True))
    elif channel == "app":
        found += [Identifier("app_user_id", p.app_user_id or ""), Identifier("device_id", device)]
        found.append(Identifier("phone", phone, verified=True))  # SMS code at login
        if p.email:
            found.append(Identifier("email", p.email))
    elif channel == "store":
        found += [Identifier("member_no", p.member_no or "", verified=True), Identifier("phone", phone, verified=True)]
    elif channel == "hotline":
        return (Identifier("phone", phone),)  # caller id: real, but not proof of who is speaking
    if p.unionid and (channel in ("wechat", "miniprogram") or (channel == "app" and p.app_wechat_login)):
        found.append(Identifier("unionid", p.unionid))
    return tuple(found)


def generate_demo(*, seed: int = 2026, people: int = 20_000, now: datetime | None = None) -> Iterator[Event]:
    """Every touchpoint event of the demo brand, in time order, ending at ``now`` (default 2026-11-11 12:00 +08)."""
    plan = make_plan(seed, people, now)
    builder = EventBuilder(plan)
    for t, seq, kind, idx, payload in plan.entries:
        yield builder.event(t, seq, kind, idx, payload)


def demo_people(*, seed: int = 2026, people: int = 20_000, now: datetime | None = None) -> list[Person]:
    """The people behind ``generate_demo`` with the same arguments: the ground truth for identity checks."""
    return make_plan(seed, people, now).people
