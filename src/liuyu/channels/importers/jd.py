"""JD: the 商家后台 order export CSV and JOS POP order objects (JSON lines), both as source ``jd``.

The CSV has one row per item; consecutive rows with the same 订单号 are one order, and the
order-level columns are read from its first row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from liuyu.channels.importers.lifecycle import order_events, settled
from liuyu.channels.importers.reading import CsvLayout, CsvRow, JsonLayout, at_line
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
)
from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import ZERO, Order, OrderLine

SOURCE = "jd"

#: 订单状态 in the export -> liuyu status.
EXPORT_STATUSES = {
    "等待付款": "pending_payment",
    "等待出库": "paid",
    "等待发货": "paid",
    "等待审核": "paid",
    "暂停": "paid",
    "锁定": "paid",
    "等待确认收货": "shipped",
    "已发货": "shipped",
    "配送中": "shipped",
    "完成": "completed",
    "已完成": "completed",
    "已取消": "cancelled",
    "取消": "cancelled",
    "订单取消": "cancelled",
}

#: JOS ``orderState`` -> liuyu status.
JOS_STATUSES = {
    "WAIT_SELLER_STOCK_OUT": "paid",
    "WAIT_SELLER_DELIVERY": "paid",
    "WAIT_SEND_CODE": "paid",
    "POP_ORDER_PAUSE": "paid",
    "LOCKED": "paid",
    "WAIT_GOODS_RECEIVE_CONFIRM": "shipped",
    "FINISHED_L": "completed",
    "TRADE_CANCELED": "cancelled",
}


def _refund_on_cancel(status: str, paid: Decimal | None) -> Decimal:
    """JD returns the money of a paid order that is cancelled; neither source gives the amount."""
    return paid if status == "cancelled" and paid is not None else ZERO


def _export_line(row: CsvRow) -> OrderLine:
    try:
        count = quantity(row.get("订购数量"), "订购数量")
        price = money(row.get("京东价"), "京东价")
    except FieldError as problem:
        raise at_line(row, problem) from None
    return OrderLine(
        title=row.get("商品名称") or "(untitled)",
        quantity=count,
        sku=text_or_none(row.get("商品ID")),
        unit_price=price,
        amount=None if price is None else price * count,
    )


def parse_export(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
    first = rows[0]
    order_id = order_number(first.get("订单号"), "订单号")
    raw_status = first.get("订单状态")
    status = EXPORT_STATUSES.get(normalized_status(raw_status))
    if status is None:
        raise FieldError("订单状态", raw_status, f"unknown order status; known: {', '.join(EXPORT_STATUSES)}")
    placed_at = local_time(required(first.get("下单时间"), "下单时间"), "下单时间")
    paid_at = local_time(first.get("付款确认时间"), "付款确认时间")
    ended_at = local_time(first.get("订单完成时间"), "订单完成时间")
    due = money(first.get("应付金额"), "应付金额") or ZERO
    total = due + (money(first.get("余额支付"), "余额支付") or ZERO)
    paid = settled(total, paid_at, status)
    order = Order(
        platform=SOURCE,
        order_id=order_id,
        status=status,
        total=total,
        paid=paid,
        refunded=_refund_on_cancel(status, paid),
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=local_time(first.get("出库时间"), "出库时间"),
        completed_at=ended_at if status == "completed" else None,
        raw_status=raw_status,
        lines=tuple(_export_line(row) for row in rows),
    )
    ids = (
        identifier("jd_pin", first.get("下单帐号"), "下单帐号"),
        identifier("phone", first.get("联系电话"), "联系电话"),
    )
    traits = present({"name": first.get("客户姓名"), "address": first.get("客户地址")})
    properties = present(
        {
            "order_type": first.get("订单类型"),
            "payment_method": first.get("支付方式"),
            "remark": first.get("订单备注"),
            "invoice_type": first.get("发票类型"),
        }
    )
    return order_events(
        order,
        source=SOURCE,
        channel="jd",
        identifiers=tuple(i for i in ids if i is not None),
        traits=traits,
        properties=properties,
        closed_at=ended_at,
    )


EXPORT = CsvLayout(
    kind="orders",
    fmt="jd",
    source=SOURCE,
    required=("订单号", "订单状态", "下单时间", "应付金额"),
    parse=parse_export,
    aliases={"客户账号": "下单帐号", "下单账号": "下单帐号", "用户账号": "下单帐号", "付款时间": "付款确认时间"},
    group_by=("订单号",),
)


def _order_info(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The order inside API response wrappers (``…_responce``, ``orderDetailInfo``, ``orderInfo``)."""
    current: Mapping[str, Any] = item
    while "orderId" not in current:
        inner = current.get("orderInfo") or current.get("orderDetailInfo")
        if not isinstance(inner, Mapping) and len(current) == 1:
            inner = next(iter(current.values()))
        if not isinstance(inner, Mapping):
            raise FieldError("orderId", None, "no JOS order object (orderId) on this line")
        current = inner
    return current


def _jos_line(item: Mapping[str, Any], index: int) -> OrderLine:
    count = quantity(item.get("itemTotal"), f"itemInfoList[{index}].itemTotal")
    price = money(item.get("jdPrice"), f"itemInfoList[{index}].jdPrice")
    return OrderLine(
        title=str(item.get("skuName") or "(untitled)"),
        quantity=count,
        sku=text_or_none(item.get("skuId")) or text_or_none(item.get("outerSkuId")),
        product_id=text_or_none(item.get("wareId")),
        unit_price=price,
        amount=None if price is None else price * count,
    )


def _xid(value: object) -> Identifier | None:
    """JD's xid looks like ``o*AAT…``: the asterisk is part of the id, not a mask."""
    text = text_or_none(value)
    return None if text is None else Identifier("jd_xid", text)


def parse_order(item: Mapping[str, Any]) -> tuple[Event, ...]:
    """A JOS POP order: yuan strings, local times, ``0001-01-01 00:00:00`` for no time."""
    info = _order_info(item)
    order_id = order_number(info.get("orderId"), "orderId")
    raw_status = str(required(info.get("orderState"), "orderState"))
    status = JOS_STATUSES.get(raw_status)
    if status is None:
        raise FieldError("orderState", raw_status, "unknown JOS order state")
    placed_at = local_time(required(info.get("orderStartTime"), "orderStartTime"), "orderStartTime")
    paid_at = local_time(info.get("paymentConfirmTime"), "paymentConfirmTime")
    ended_at = local_time(info.get("orderEndTime"), "orderEndTime")
    total = (money(info.get("orderPayment"), "orderPayment") or ZERO) + (
        money(info.get("balanceUsed"), "balanceUsed") or ZERO
    )
    paid = settled(total, paid_at, status)
    items = info.get("itemInfoList") or []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise FieldError("itemInfoList", str(items)[:80], "expected a list of items")
    order = Order(
        platform=SOURCE,
        order_id=order_id,
        status=status,
        total=total,
        paid=paid,
        refunded=_refund_on_cancel(status, paid),
        placed_at=placed_at,
        paid_at=paid_at,
        completed_at=ended_at if status == "completed" else None,
        store_id=text_or_none(info.get("venderId")),
        raw_status=raw_status,
        lines=tuple(_jos_line(line, index) for index, line in enumerate(items)),
    )
    consignee = info.get("consigneeInfo") or {}
    if not isinstance(consignee, Mapping):
        raise FieldError("consigneeInfo", str(consignee)[:80], "expected an object")
    name = text_or_none(consignee.get("fullname"))
    cipher_name = name is not None and looks_cipher(name)
    ids = (
        identifier("jd_open_id", info.get("open_id_buyer"), "open_id_buyer"),
        _xid(info.get("xid_buyer")),
        identifier("jd_pin", info.get("pin"), "pin"),
        platform_phone(consignee.get("mobile"), "consigneeInfo.mobile"),
    )
    traits = present(
        {
            "name": None if cipher_name else name,
            "province": consignee.get("province"),
            "city": consignee.get("city"),
            "district": consignee.get("county"),
        }
    )
    properties = present(
        {
            "receiver_name_ciphertext": name if cipher_name else None,
            "remark": info.get("orderRemark"),
            "order_type": info.get("orderType"),
            "order_source": info.get("orderSource"),
        }
    )
    return order_events(
        order,
        source=SOURCE,
        channel="jd",
        identifiers=tuple(i for i in ids if i is not None),
        traits=traits,
        properties=properties,
        closed_at=ended_at,
    )


JOS = JsonLayout(kind="orders", fmt="jos", source=SOURCE, parse=parse_order)
