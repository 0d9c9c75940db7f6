"""Tmall / Taobao: the 卖家中心 order report CSV and TOP trade objects (JSON lines).

Both land under source ``tmall`` with the same external ids, so an order seen in the report and
again through ``taobao.trade.fullinfo.get`` is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from liuyu.channels.importers.lifecycle import order_events, settled
from liuyu.channels.importers.reading import CsvLayout, CsvRow, JsonLayout
from liuyu.channels.importers.values import (
    FieldError,
    identifier,
    local_time,
    looks_cipher,
    money,
    normalized_status,
    order_number,
    platform_phone,
    present,
    quantity,
    required,
    text_or_none,
    unique,
)
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import ZERO, Order, OrderLine

SOURCE = "tmall"

#: 订单状态 as the report writes it (punctuation removed) -> liuyu status; "closed" is decided below.
REPORT_STATUSES = {
    "等待买家付款": "pending_payment",
    "买家已付款等待卖家发货": "paid",
    "买家已付款": "paid",
    "等待卖家发货": "paid",
    "卖家部分发货": "shipped",
    "卖家已发货等待买家确认": "shipped",
    "卖家已发货": "shipped",
    "等待买家确认收货": "shipped",
    "买家已签收": "shipped",
    "交易成功": "completed",
    "交易关闭": "closed",
    "付款以前卖家或买家主动关闭交易": "cancelled",
    "付款以后用户退款成功交易自动关闭": "refunded",
}

#: TOP trade ``status`` -> liuyu status.
TOP_STATUSES = {
    "TRADE_NO_CREATE_PAY": "pending_payment",
    "WAIT_BUYER_PAY": "pending_payment",
    "PAY_PENDING": "pending_payment",
    "WAIT_PRE_AUTH_CONFIRM": "pending_payment",
    "WAIT_SELLER_SEND_GOODS": "paid",
    "PAID_FORBID_CONSIGN": "paid",
    "SELLER_CONSIGNED_PART": "shipped",
    "WAIT_BUYER_CONFIRM_GOODS": "shipped",
    "TRADE_BUYER_SIGNED": "shipped",
    "TRADE_FINISHED": "completed",
    "TRADE_CLOSED": "closed",
    "TRADE_CLOSED_BY_TAOBAO": "cancelled",
}


def _closed(status: str, paid: Decimal | None, refunded: Decimal) -> str:
    """A closed trade that had been paid was refunded; one never paid was cancelled."""
    if status != "closed":
        return status
    return "refunded" if paid is not None and refunded > 0 else "cancelled"


def _report_status(raw: str) -> str:
    status = REPORT_STATUSES.get(normalized_status(raw))
    if status is None:
        raise FieldError("订单状态", raw, f"unknown order status; known: {', '.join(REPORT_STATUSES)}")
    return status


def parse_report(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
    """One report row is one order; 宝贝标题 lists every item, so it becomes one order line."""
    (row,) = rows
    order_id = order_number(row.get("订单编号"), "订单编号")
    placed_at = local_time(required(row.get("订单创建时间"), "订单创建时间"), "订单创建时间")
    paid_at = local_time(row.get("订单付款时间"), "订单付款时间")
    shipped_at = local_time(row.get("发货时间"), "发货时间")
    completed_at = local_time(row.get("确认收货时间"), "确认收货时间")
    total = money(row.get("总金额"), "总金额") or ZERO
    raw_status = row.get("订单状态")
    reported = _report_status(raw_status)
    paid = settled(money(row.get("买家实际支付金额"), "买家实际支付金额"), paid_at, reported)
    refunded = money(row.get("退款金额"), "退款金额") or ZERO
    status = _closed(reported, paid, refunded)
    goods = money(row.get("买家应付货款"), "买家应付货款")
    line = OrderLine(
        title=row.get("宝贝标题") or "(untitled)",
        quantity=quantity(row.get("宝贝总数量"), "宝贝总数量"),
        amount=goods,
    )
    order = Order(
        platform=SOURCE,
        order_id=order_id,
        status=status,
        total=total,
        paid=paid,
        refunded=refunded,
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=shipped_at,
        completed_at=completed_at if status == "completed" else None,
        store_id=text_or_none(row.get("店铺名称")),
        raw_status=raw_status,
        lines=(line,),
    )
    mobile = identifier("phone", row.get("联系手机"), "联系手机")
    if mobile is None:
        mobile = identifier("phone", row.get("联系电话"), "联系电话")
    ids = unique(
        identifier("tmall_open_uid", row.get("buyer_open_uid"), "buyer_open_uid"),
        identifier("tmall_oaid", row.get("OAID"), "OAID"),
        identifier("tmall_nick", row.get("买家会员名"), "买家会员名"),
        mobile,
    )
    traits = present({"name": row.get("收货人姓名"), "address": row.get("收货地址")})
    properties = present(
        {
            "shop": row.get("店铺名称"),
            "buyer_message": row.get("买家留言"),
            "payment_no": row.get("支付单号"),
            "item_kinds": row.get("宝贝种类"),
            "logistics_company": row.get("物流公司"),
            "tracking_no": row.get("物流单号"),
        }
    )
    return order_events(order, source=SOURCE, channel="tmall", identifiers=ids, traits=traits, properties=properties)


REPORT = CsvLayout(
    kind="orders",
    fmt="tmall",
    source=SOURCE,
    required=("订单编号", "订单状态", "订单创建时间", "总金额", "买家实际支付金额"),
    parse=parse_report,
    aliases={
        "订单号": "订单编号",
        "买家昵称": "买家会员名",
        "收货人手机号": "联系手机",
        "付款时间": "订单付款时间",
        "创建时间": "订单创建时间",
        "buyer_open_uid": "buyer_open_uid",
        "买家OpenUid": "buyer_open_uid",
        "oaid": "OAID",
        "订单发货时间": "发货时间",
        "交易成功时间": "确认收货时间",
    },
)


def _trade(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The trade inside ``{"trade_fullinfo_get_response": {"trade": {...}}}`` or the bare trade."""
    if len(item) == 1:
        (only,) = item.values()
        if isinstance(only, Mapping):
            item = only
    trade = item.get("trade")
    return trade if isinstance(trade, Mapping) else item


def _sub_orders(trade: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    orders = trade.get("orders") or []
    if isinstance(orders, Mapping):  # TOP's XML-shaped JSON wraps lists: {"order": [...]}
        orders = orders.get("order") or []
    if not isinstance(orders, list) or not all(isinstance(o, Mapping) for o in orders):
        raise FieldError("orders", str(orders)[:80], "expected a list of sub-orders")
    return orders


def _top_line(sub: Mapping[str, Any], index: int) -> OrderLine:
    where = f"orders[{index}]"
    return OrderLine(
        title=str(sub.get("title") or "(untitled)"),
        quantity=quantity(sub.get("num"), f"{where}.num"),
        sku=text_or_none(sub.get("sku_id")) or text_or_none(sub.get("outer_sku_id")),
        product_id=text_or_none(sub.get("num_iid")),
        unit_price=money(sub.get("price"), f"{where}.price"),
        amount=money(sub.get("payment"), f"{where}.payment") or money(sub.get("total_fee"), f"{where}.total_fee"),
    )


def _top_refunded(trade: Mapping[str, Any], subs: list[Mapping[str, Any]]) -> Decimal:
    """Trade-level refund_fee if given, else what the sub-orders with a successful refund paid."""
    stated = money(trade.get("refund_fee"), "refund_fee")
    if stated is not None:
        return stated
    total = ZERO
    for index, sub in enumerate(subs):
        if sub.get("refund_status") == "SUCCESS":
            total += (
                money(sub.get("refund_fee"), f"orders[{index}].refund_fee")
                or money(sub.get("payment"), f"orders[{index}].payment")
                or ZERO
            )
    return total


def parse_trade(item: Mapping[str, Any]) -> tuple[Event, ...]:
    """A TOP trade: yuan strings, local times; PII in receiver_* is masked or ciphertext."""
    trade = _trade(item)
    order_id = order_number(trade.get("tid_str") or trade.get("tid"), "tid")
    raw_status = str(required(trade.get("status"), "status"))
    status = TOP_STATUSES.get(raw_status)
    if status is None:
        raise FieldError("status", raw_status, "unknown TOP trade status")
    placed_at = local_time(required(trade.get("created"), "created"), "created")
    paid_at = local_time(trade.get("pay_time"), "pay_time")
    subs = _sub_orders(trade)
    payment = money(trade.get("payment"), "payment") or ZERO
    paid = settled(payment, paid_at, status)
    refunded = _top_refunded(trade, subs)
    if status == "closed" and paid is not None and refunded == 0:
        refunded = payment  # 付款以后用户退款成功，交易自动关闭
    status = _closed(status, paid, refunded)
    end_time = local_time(trade.get("end_time"), "end_time")
    order = Order(
        platform=SOURCE,
        order_id=order_id,
        status=status,
        total=payment,
        paid=paid,
        refunded=refunded,
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=local_time(trade.get("consign_time"), "consign_time"),
        completed_at=end_time if status == "completed" else None,
        store_id=text_or_none(trade.get("o2o_shop_id")) or text_or_none(trade.get("seller_nick")),
        raw_status=raw_status,
        lines=tuple(_top_line(sub, index) for index, sub in enumerate(subs)),
    )
    name = text_or_none(trade.get("receiver_name"))
    traits = present(
        {
            "name": None if name and looks_cipher(name) else name,
            "province": trade.get("receiver_state"),
            "city": trade.get("receiver_city"),
            "district": trade.get("receiver_district"),
        }
    )
    properties = present(
        {
            "receiver_name_ciphertext": name if name and looks_cipher(name) else None,
            "buyer_message": trade.get("buyer_message"),
            "trade_from": trade.get("trade_from"),
            "type": trade.get("type"),
            "guide": trade.get("o2o_guide_name"),
        }
    )
    ids = unique(
        identifier("tmall_open_uid", trade.get("buyer_open_uid"), "buyer_open_uid"),
        identifier("tmall_oaid", trade.get("oaid"), "oaid"),
        identifier("tmall_nick", trade.get("buyer_nick"), "buyer_nick"),
        identifier("member_no", trade.get("outer_partner_member_id"), "outer_partner_member_id"),
        platform_phone(trade.get("receiver_mobile"), "receiver_mobile"),
    )
    return order_events(
        order,
        source=SOURCE,
        channel="tmall",
        identifiers=ids,
        traits=traits,
        properties=properties,
        closed_at=end_time,
    )


TOP = JsonLayout(kind="orders", fmt="top", source=SOURCE, parse=parse_trade)
