"""Marketplace and till CSV exports become order lifecycle events with the buyer's identifiers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from liuyu.channels.importers import RowResult, open_import
from liuyu.domain.eventlog import Event

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


def read(kind: str, fmt: str | None, name: str) -> list[RowResult]:
    return list(open_import(kind, fmt, DATA / name).rows())


def events_of(rows: list[RowResult]) -> list[Event]:
    return [event for row in rows for event in row.events]


def by_id(rows: list[RowResult]) -> dict[str, Event]:
    return {event.external_id: event for event in events_of(rows)}


def test_a_tmall_report_in_gb18030_becomes_one_event_per_lifecycle_fact() -> None:
    reader = open_import("orders", "tmall", DATA / "tmall_orders_gb18030.csv")
    assert reader.encoding == "gb18030"
    assert reader.source == "tmall"
    events = by_id(list(reader.rows()))
    order_id = "3456789012345678901"
    assert {f"{order_id}:placed", f"{order_id}:paid", f"{order_id}:completed"} <= set(events)
    paid = events[f"{order_id}:paid"]
    assert paid.type == "order_paid"
    assert paid.channel == "tmall"
    assert paid.occurred_at == datetime(2024, 3, 1, 2, 16, 2, tzinfo=UTC)
    assert paid.order is not None
    assert paid.order.total == Decimal("1299.00")
    assert paid.order.status == "completed"
    assert paid.order.raw_status == "交易成功"


def test_tmall_buyer_nick_has_its_trailing_tab_removed_and_masked_phone_and_name_stay_masked() -> None:
    event = by_id(read("orders", "tmall", "tmall_orders_gb18030.csv"))["3456789012345678901:placed"]
    ids = {i.kind: i for i in event.identifiers}
    assert ids["tmall_nick"].value == "tb小鹿"
    assert ids["tmall_open_uid"].value == "AAHk5d-WHdEzXwVBLL-abc123"
    assert ids["phone"].value == "138****1234"
    assert ids["phone"].masked
    assert event.traits["name"] == "张**"


def test_a_quoted_line_break_keeps_physical_line_numbers_right() -> None:
    rows = read("orders", "tmall", "tmall_orders_gb18030.csv")
    first = rows[0]
    assert first.line == 2
    assert "请尽快发货" in first.raw and "谢谢" in first.raw
    assert rows[1].line == 4  # the buyer message spans lines 2 and 3


def test_an_excel_mangled_order_number_rejects_that_row_and_the_rest_is_kept() -> None:
    rows = read("orders", "tmall", "tmall_orders_gb18030.csv")
    mangled = next(row for row in rows if row.error is not None and row.error.field == "订单编号")
    assert mangled.events == ()
    assert mangled.error.where == f"tmall_orders_gb18030.csv:{mangled.line}"
    assert mangled.error.value == "1.23457E+18"
    assert "scientific notation" in mangled.error.reason
    assert "1.23457E+18" in mangled.raw
    assert sum(1 for row in rows if row.events) == 5


def test_a_tmall_order_closed_after_payment_is_refunded_and_one_never_paid_is_cancelled() -> None:
    events = by_id(read("orders", "tmall", "tmall_orders_gb18030.csv"))
    refund = events["3456789012345678904:refunded:5990"]
    assert refund.type == "order_refunded"
    assert refund.order is not None and refund.order.status == "refunded"
    assert refund.order.net == Decimal("0.00")
    cancelled = events["3456789012345678906:cancelled"]
    assert cancelled.order is not None and cancelled.order.paid is None
    assert "3456789012345678906:paid" not in events


def test_an_unpaid_tmall_order_is_placed_only() -> None:
    events = by_id(read("orders", "tmall", "tmall_orders_gb18030.csv"))
    assert [k for k in events if k.startswith("3456789012345678903")] == ["3456789012345678903:placed"]
    assert events["3456789012345678903:placed"].order.status == "pending_payment"


def test_a_tmall_time_that_is_not_a_time_names_the_field() -> None:
    rows = read("orders", "tmall", "tmall_orders_gb18030.csv")
    bad = rows[-1]
    assert bad.error is not None
    assert bad.error.field == "订单创建时间"
    assert bad.error.value == "2024年3月7日"


def test_reading_the_same_file_twice_gives_identical_events() -> None:
    for kind, fmt, name in [
        ("orders", "tmall", "tmall_orders_gb18030.csv"),
        ("orders", "jd", "jd_orders_bom.csv"),
        ("orders", "douyin", "douyin_orders.csv"),
        ("orders", "pos", "pos_receipts.csv"),
    ]:
        assert events_of(read(kind, fmt, name)) == events_of(read(kind, fmt, name))


def test_jd_rows_of_one_order_number_form_one_order_with_several_lines() -> None:
    reader = open_import("orders", "jd", DATA / "jd_orders_bom.csv")
    assert reader.encoding == "utf-8-sig"
    rows = list(reader.rows())
    first, second = rows[0], rows[1]
    assert second.events == () and second.error is None
    placed = next(e for e in first.events if e.type == "order_placed")
    assert placed.order is not None
    assert [(line.title, line.quantity) for line in placed.order.lines] == [("黑武士-手柄", 1), ("手柄保护套", 2)]
    assert placed.order.lines[1].amount == Decimal("50.00")
    ids = {i.kind: i.value for i in placed.identifiers}
    assert ids["jd_pin"] == "jd_4f1a2b3c"  # read from the 客户账号 column


def test_jd_no_time_marker_means_no_payment_yet() -> None:
    events = by_id(read("orders", "jd", "jd_orders_bom.csv"))
    assert "285301234569:placed" in events
    assert "285301234569:paid" not in events


def test_a_paid_jd_order_that_was_cancelled_gives_its_money_back_including_balance() -> None:
    events = by_id(read("orders", "jd", "jd_orders_bom.csv"))
    refund = events["285301234568:refunded:29900"]
    assert refund.order is not None
    assert refund.order.total == Decimal("299.00")  # 应付金额 249.00 + 余额支付 50.00
    assert "285301234568:cancelled" in events


def test_a_bad_item_row_rejects_its_whole_jd_order_and_names_the_culprit() -> None:
    rows = read("orders", "jd", "jd_orders_bom.csv")
    order_rows = [row for row in rows if "285301234570" in row.raw]
    assert len(order_rows) == 2
    assert all(row.events == () and row.error is not None for row in order_rows)
    culprit = order_rows[1]
    assert culprit.error.field == "订购数量"
    assert culprit.error.value == "两件"
    assert f"line {culprit.line}" in order_rows[0].error.reason


def test_douyin_sub_orders_group_into_one_order_and_a_refunded_sub_order_is_refunded() -> None:
    rows = read("orders", "douyin", "douyin_orders.csv")
    events = by_id(rows)
    placed = events["6921234567890123456:placed"]
    assert placed.order is not None
    assert len(placed.order.lines) == 2
    assert placed.order.total == Decimal("199.70")
    assert placed.order.refunded == Decimal("39.90")
    assert "6921234567890123456:refunded:3990" in events
    assert placed.properties["room_ids"] == ["7301234567"]


def test_douyin_phone_ciphertext_and_masks_are_kept_but_flagged_masked() -> None:
    events = by_id(read("orders", "douyin", "douyin_orders.csv"))
    masked = {i.value: i for e in events.values() for i in e.identifiers if i.kind == "phone"}
    assert masked["1********35"].masked
    assert masked["#ZW5jcnlwdGVkcGhvbmVudW1iZXI=#"].masked


def test_douyin_impossible_time_is_rejected_with_its_field() -> None:
    rows = read("orders", "douyin", "douyin_orders.csv")
    assert rows[-1].error is not None
    assert rows[-1].error.field == "订单提交时间"
    assert rows[-1].error.where == f"douyin_orders.csv:{rows[-1].line}"


def test_a_till_receipt_is_one_completed_store_order_with_a_verified_member_phone() -> None:
    events = by_id(read("orders", "pos", "pos_receipts.csv"))
    done = events["上海静安店-R20240501-0001:completed"]
    assert done.channel == "store"
    assert done.source == "pos"
    assert done.order is not None
    assert done.order.total == Decimal("349.00")
    assert done.order.paid == Decimal("319.00")
    ids = {i.kind: i for i in done.identifiers}
    assert ids["phone"].value == "+8613812345678" and ids["phone"].verified
    assert ids["member_no"].value == "VIP0001"


def test_the_same_receipt_number_in_two_stores_is_two_orders() -> None:
    events = by_id(read("orders", "pos", "pos_receipts.csv"))
    assert "上海静安店-R20240501-0002:placed" in events
    assert "北京三里屯店-R20240501-0002:placed" in events


def test_a_negative_till_amount_is_rejected() -> None:
    rows = read("orders", "pos", "pos_receipts.csv")
    assert rows[-1].error is not None
    assert rows[-1].error.field == "实收"


def test_a_completed_cash_on_delivery_jd_order_counts_as_paid_without_a_paid_event(tmp_path: Path) -> None:
    path = tmp_path / "jd.csv"
    path.write_text(
        "订单号,商品名称,订购数量,京东价,下单时间,应付金额,订单状态,支付方式,付款确认时间\n"
        "285309999999,黑武士-手柄,1,299.00,2024-03-10 20:01:02,299.00,完成,货到付款,0001-01-01 00:00:00\n",
        encoding="utf-8",
    )
    (row,) = open_import("orders", "jd", path).rows()
    assert [e.type for e in row.events] == ["order_placed", "order_completed"]
    assert row.events[0].order is not None and row.events[0].order.net == Decimal("299.00")
