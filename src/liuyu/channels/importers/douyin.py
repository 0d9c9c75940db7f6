"""Douyin 抖店: the order export CSV and Doudian order detail objects (JSON lines), as source ``douyin``.

The CSV has one row per sub-order (子订单); consecutive rows with the same 主订单编号 are one
order. Doudian's API speaks fen integers and Unix seconds, and hides the buyer's phone and name
behind ciphertext and masks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from liuyu.channels.importers.lifecycle import order_events, settled
from liuyu.channels.importers.reading import CsvLayout, CsvRow, JsonLayout, at_line
from liuyu.channels.importers.values import (
    FieldError,
    ciphertext,
    identifier,
    local_time,
    money,
    normalized_status,
    order_number,
    platform_phone,
    present,
    quantity,
    required,
    text_or_none,
    unique,
    unix_time,
)
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import ZERO, Order, OrderLine

SOURCE = "douyin"

#: 订单状态 in the export -> liuyu status.
EXPORT_STATUSES = {
    "待支付": "pending_payment",
    "待付款": "pending_payment",
    "已支付": "paid",
    "备货中": "paid",
    "待发货": "paid",
    "部分发货": "shipped",
    "已发货": "shipped",
    "待收货": "shipped",
    "已完成": "completed",
    "已取消": "cancelled",
    "已关闭": "cancelled",
}

#: 售后状态 values that mean the money went back to the buyer.
REFUNDED_AFTER_SALE = frozenset({"退款成功", "退货退款成功", "已退款", "售后完成", "退款完成"})

#: Doudian ``order_status`` -> liuyu status; ``main_status`` 21/22/39 (refund finished) wins.
DOUDIAN_STATUSES = {
    1: "pending_payment",
    105: "paid",
    2: "paid",
    101: "shipped",
    3: "shipped",
    4: "cancelled",
    5: "completed",
}
DOUDIAN_REFUNDED = frozenset({21, 22, 39})
DOUDIAN_REFUND_SUCCESS = 3  # after_sale_info.refund_status: 退款成功


def _export_line(row: CsvRow) -> tuple[OrderLine, Decimal, bool]:
    """The sub-order's line, what it cost, and whether it was refunded."""
    try:
        count = quantity(row.get("商品数量"), "商品数量")
        amount = money(row.get("订单应付金额"), "订单应付金额") or ZERO
        line = OrderLine(
            title=" ".join(part for part in (row.get("选购商品"), row.get("商品规格")) if part) or "(untitled)",
            quantity=count,
            sku=text_or_none(row.get("商家编码")),
            product_id=text_or_none(row.get("商品ID")),
            unit_price=money(row.get("商品单价"), "商品单价"),
            amount=amount,
        )
    except FieldError as problem:
        raise at_line(row, problem) from None
    return line, amount, normalized_status(row.get("售后状态")) in REFUNDED_AFTER_SALE


def parse_export(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
    """Order-level columns come from the first row; the total is the sum of 订单应付金额."""
    first = rows[0]
    order_id = order_number(first.get("主订单编号"), "主订单编号")
    for row in rows:
        if row.has("子订单编号"):
            try:
                order_number(row.get("子订单编号"), "子订单编号")
            except FieldError as problem:
                raise at_line(row, problem) from None
    raw_status = first.get("订单状态")
    status = EXPORT_STATUSES.get(normalized_status(raw_status))
    if status is None:
        raise FieldError("订单状态", raw_status, f"unknown order status; known: {', '.join(EXPORT_STATUSES)}")
    placed_at = local_time(required(first.get("订单提交时间"), "订单提交时间"), "订单提交时间")
    paid_at = local_time(first.get("支付完成时间"), "支付完成时间")
    parsed = [_export_line(row) for row in rows]
    total = sum((amount for _, amount, _ in parsed), ZERO)
    paid = settled(total, paid_at, status)
    refunded = sum((amount for _, amount, back in parsed if back), ZERO) if paid is not None else ZERO
    if status == "cancelled" and refunded > 0:
        status = "refunded"
    completed_at = local_time(first.get("订单完成时间"), "订单完成时间")
    order = Order(
        platform=SOURCE,
        order_id=order_id,
        status=status,
        total=total,
        paid=paid,
        refunded=refunded,
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=local_time(first.get("发货时间"), "发货时间"),
        completed_at=completed_at if status == "completed" else None,
        raw_status=raw_status,
        lines=tuple(line for line, _, _ in parsed),
    )
    ids = unique(
        identifier("douyin_open_id", first.get("doudian_open_id"), "doudian_open_id"),
        identifier("phone", first.get("收件人手机号"), "收件人手机号"),
    )
    traits = present(
        {
            "name": first.get("收件人"),
            "province": first.get("省"),
            "city": first.get("市"),
            "district": first.get("区"),
            "address": first.get("详细地址"),
        }
    )
    properties = present(
        {
            "payment_method": first.get("支付方式"),
            "freight": first.get("运费"),
            "author_ids": sorted({row.get("达人ID") for row in rows if row.has("达人ID")}),
            "room_ids": sorted({row.get("直播间ID") for row in rows if row.has("直播间ID")}),
            "after_sale": sorted({row.get("售后状态") for row in rows if row.has("售后状态")}),
        }
    )
    return order_events(order, source=SOURCE, channel="douyin", identifiers=ids, traits=traits, properties=properties)


EXPORT = CsvLayout(
    kind="orders",
    fmt="douyin",
    source=SOURCE,
    required=("主订单编号", "订单状态", "订单提交时间", "订单应付金额"),
    parse=parse_export,
    aliases={
        "订单编号": "主订单编号",
        "收件人电话": "收件人手机号",
        "支付时间": "支付完成时间",
        "商品名称": "选购商品",
    },
    group_by=("主订单编号",),
)


def _shop_order(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The order inside ``{"data": {"shop_order_detail": {...}}}`` or the bare order."""
    current: Mapping[str, Any] = item
    for key in ("data", "shop_order_detail"):
        inner = current.get(key)
        if isinstance(inner, Mapping):
            current = inner
    return current


def _status_code(value: object, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise FieldError(field, value, "not a status code") from exc


def _region(address: object) -> dict[str, Any]:
    """Province, city and district names from ``mask_post_addr`` / ``post_addr``."""
    if not isinstance(address, Mapping):
        return {}
    names = {}
    for key, trait in (("province", "province"), ("city", "city"), ("town", "district")):
        part = address.get(key)
        names[trait] = part.get("name") if isinstance(part, Mapping) else part
    return present(names)


def _sku_line(sku: Mapping[str, Any], index: int) -> tuple[OrderLine, Decimal, bool]:
    where = f"sku_order_list[{index}]"
    amount = money(sku.get("pay_amount"), f"{where}.pay_amount", unit="fen") or ZERO
    after_sale = sku.get("after_sale_info")
    refund_status = _status_code(
        after_sale.get("refund_status") if isinstance(after_sale, Mapping) else None, f"{where}.after_sale_info"
    )
    spec = sku.get("spec")
    spec_text = (
        " ".join(str(s.get("value", "")) for s in spec if isinstance(s, Mapping)) if isinstance(spec, list) else ""
    )
    line = OrderLine(
        title=" ".join(p for p in (str(sku.get("product_name") or ""), spec_text) if p) or "(untitled)",
        quantity=quantity(sku.get("item_num"), f"{where}.item_num"),
        sku=text_or_none(sku.get("sku_id")) or text_or_none(sku.get("out_sku_id")),
        product_id=text_or_none(sku.get("product_id")),
        amount=amount,
    )
    return line, amount, refund_status == DOUDIAN_REFUND_SUCCESS


def parse_order(item: Mapping[str, Any]) -> tuple[Event, ...]:
    """A Doudian shop order: fen integers, Unix seconds, ciphertext and masks for PII."""
    shop_order = _shop_order(item)
    order_id = order_number(shop_order.get("order_id"), "order_id")
    code = _status_code(required(shop_order.get("order_status"), "order_status"), "order_status")
    main = _status_code(shop_order.get("main_status"), "main_status")
    status = DOUDIAN_STATUSES.get(code or 0)
    if status is None:
        raise FieldError("order_status", code, "unknown Doudian order status")
    skus = shop_order.get("sku_order_list") or []
    if not isinstance(skus, list) or not all(isinstance(s, Mapping) for s in skus):
        raise FieldError("sku_order_list", str(skus)[:80], "expected a list of sub-orders")
    parsed = [_sku_line(sku, index) for index, sku in enumerate(skus)]
    paid_at = unix_time(shop_order.get("pay_time"), "pay_time")
    pay_amount = money(shop_order.get("pay_amount"), "pay_amount", unit="fen") or ZERO
    paid = settled(pay_amount, paid_at, status)
    refunded = sum((amount for _, amount, back in parsed if back), ZERO) if paid is not None else ZERO
    if main in DOUDIAN_REFUNDED and paid is not None:
        status = "refunded"
        refunded = refunded or pay_amount
    finished_at = unix_time(shop_order.get("finish_time"), "finish_time")
    order = Order(
        platform=SOURCE,
        order_id=order_id,
        status=status,
        total=pay_amount,
        paid=paid,
        refunded=refunded,
        placed_at=unix_time(required(shop_order.get("create_time"), "create_time"), "create_time"),
        paid_at=paid_at,
        shipped_at=unix_time(shop_order.get("ship_time"), "ship_time"),
        completed_at=finished_at if status == "completed" else None,
        store_id=text_or_none(shop_order.get("shop_id")),
        raw_status=str(shop_order.get("order_status_desc") or code),
        lines=tuple(line for line, _, _ in parsed),
    )
    ids = unique(
        identifier("douyin_open_id", shop_order.get("doudian_open_id"), "doudian_open_id"),
        platform_phone(shop_order.get("mask_post_tel"), "mask_post_tel"),
        ciphertext("phone", shop_order.get("encrypt_post_tel")),
    )
    traits = {
        **present({"name": shop_order.get("mask_post_receiver")}),
        **_region(shop_order.get("mask_post_addr") or shop_order.get("post_addr")),
    }
    tags = shop_order.get("user_tag_ui")
    properties = present(
        {
            "receiver_name_ciphertext": shop_order.get("encrypt_post_receiver"),
            "buyer_words": shop_order.get("buyer_words"),
            "b_type": shop_order.get("b_type"),
            "platform_tags": [t.get("text") for t in tags if isinstance(t, Mapping)] if isinstance(tags, list) else [],
            "author_ids": sorted({str(s["author_id"]) for s in skus if s.get("author_id")}),
            "room_ids": sorted({str(s["room_id"]) for s in skus if s.get("room_id")}),
        }
    )
    return order_events(
        order,
        source=SOURCE,
        channel="douyin",
        identifiers=ids,
        traits=traits,
        properties=properties,
        closed_at=finished_at,
    )


DOUDIAN = JsonLayout(kind="orders", fmt="doudian", source=SOURCE, parse=parse_order)
