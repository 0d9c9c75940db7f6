"""Store till (POS) export: liuyu's own layout, one row per item, one receipt per order.

A member phone at the till was shown by the member, so it counts as verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from liuyu.channels.importers.lifecycle import order_events
from liuyu.channels.importers.reading import CsvLayout, CsvRow, at_line
from liuyu.channels.importers.values import (
    FieldError,
    identifier,
    local_time,
    money,
    order_number,
    present,
    quantity,
    required,
    text_or_none,
    unique,
)
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import ZERO, Order, OrderLine

SOURCE = "pos"
COLUMNS = ("门店", "小票号", "会员手机号", "会员卡号", "商品编码", "商品名称", "数量", "金额", "实收", "时间", "收银员")


def _line(row: CsvRow) -> tuple[OrderLine, Decimal]:
    try:
        count = quantity(row.get("数量"), "数量", default=None)
        amount = money(row.get("金额"), "金额")
        received = money(required(row.get("实收"), "实收"), "实收") or ZERO
    except FieldError as problem:
        raise at_line(row, problem) from None
    line = OrderLine(
        title=row.get("商品名称") or "(untitled)",
        quantity=count,
        sku=text_or_none(row.get("商品编码")),
        unit_price=None if amount is None or count == 0 else (amount / count).quantize(amount),
        amount=amount if amount is not None else received,
    )
    return line, received


def parse_receipt(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
    """A receipt is paid and handed over at once: placed, paid and completed at 时间."""
    first = rows[0]
    store = str(required(first.get("门店"), "门店"))
    receipt = order_number(first.get("小票号"), "小票号")
    sold_at = local_time(required(first.get("时间"), "时间"), "时间")
    parsed = [_line(row) for row in rows]
    lines = tuple(line for line, _ in parsed)
    total = sum((line.amount or ZERO for line in lines), ZERO)
    paid = sum((received for _, received in parsed), ZERO)
    order = Order(
        platform="store",
        order_id=f"{store}-{receipt}",
        status="completed",
        total=total,
        paid=paid,
        placed_at=sold_at,
        paid_at=sold_at,
        completed_at=sold_at,
        store_id=store,
        raw_status="已结账",
        lines=lines,
    )
    ids = unique(
        identifier("phone", first.get("会员手机号"), "会员手机号", verified=True),
        identifier("member_no", first.get("会员卡号"), "会员卡号"),
    )
    properties = present({"store": store, "receipt_no": receipt, "cashier": first.get("收银员")})
    return order_events(order, source=SOURCE, channel="store", identifiers=ids, properties=properties)


RECEIPTS = CsvLayout(
    kind="orders",
    fmt="pos",
    source=SOURCE,
    required=("门店", "小票号", "商品名称", "数量", "实收", "时间"),
    parse=parse_receipt,
    aliases={"手机号": "会员手机号", "会员号": "会员卡号", "销售时间": "时间", "收银时间": "时间"},
    group_by=("门店", "小票号"),
)
