"""Open-platform API objects (TOP, JOS, Doudian) become the same events as the CSV exports."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from liuyu.channels.importers import RowResult, open_import
from liuyu.domain.eventlog import Event

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


def read(fmt: str, name: str) -> list[RowResult]:
    return list(open_import("orders", fmt, DATA / name).rows())


def by_id(rows: list[RowResult]) -> dict[str, Event]:
    return {event.external_id: event for row in rows for event in row.events}


def test_a_top_trade_inside_its_response_wrapper_gives_placed_paid_shipped_completed() -> None:
    events = by_id(read("top", "top_trades.jsonl"))
    tid = "3456789012345678901"
    assert [k for k in events if k.startswith(tid)] == [
        f"{tid}:{s}" for s in ("placed", "paid", "shipped", "completed")
    ]
    shipped = events[f"{tid}:shipped"]
    assert shipped.occurred_at == datetime(2024, 3, 2, 1, 0, tzinfo=UTC)
    assert shipped.source == "tmall"
    ids = {i.kind: i for i in shipped.identifiers}
    assert ids["tmall_open_uid"].value == "AAHk5d-WHdEzXwVBLL-abc123"
    assert ids["tmall_oaid"].value == "1xRkpDZE4iaG5ZbGZyR0Nk"
    assert ids["member_no"].value == "GOLD-ALICE"
    assert ids["phone"].masked


def test_the_same_tmall_order_from_the_report_and_from_top_has_the_same_keys() -> None:
    report = by_id(list(open_import("orders", "tmall", DATA / "tmall_orders_gb18030.csv").rows()))
    api = by_id(read("top", "top_trades.jsonl"))
    shared = {"3456789012345678901:placed", "3456789012345678901:paid", "3456789012345678904:refunded:5990"}
    assert shared <= set(report) & set(api)
    assert {report[k].source for k in shared} == {api[k].source for k in shared} == {"tmall"}


def test_top_ciphertext_receiver_is_masked_and_the_name_ciphertext_is_no_trait() -> None:
    events = by_id(read("top", "top_trades.jsonl"))
    closed = events["3456789012345678904:placed"]
    phone = next(i for i in closed.identifiers if i.kind == "phone")
    assert phone.masked
    assert "name" not in closed.traits
    assert closed.properties["receiver_name_ciphertext"].startswith("~")
    assert closed.order is not None and closed.order.status == "refunded"


def test_a_top_trade_id_that_became_a_float_and_a_broken_json_line_are_rejected() -> None:
    rows = read("top", "top_trades.jsonl")
    float_id, broken = rows[2], rows[3]
    assert float_id.error is not None and float_id.error.field == "tid"
    assert float_id.error.where == "top_trades.jsonl:3"
    assert broken.error is not None and "not valid JSON" in broken.error.reason
    assert broken.line == 4


def test_a_jos_order_takes_its_lines_and_buyer_keys_and_jd_no_time_means_none() -> None:
    events = by_id(read("jos", "jos_orders.jsonl"))
    done = events["285301234567:completed"]
    assert done.source == "jd"
    assert done.occurred_at == datetime(2024, 3, 14, 4, 0, tzinfo=UTC)
    assert done.order is not None and [line.quantity for line in done.order.lines] == [1, 2]
    ids = {i.kind: i for i in done.identifiers}
    assert ids["jd_open_id"].value == "Xb9fQ2-openid-buyer-001"
    assert ids["jd_pin"].value == "jd_4f1a2b3c"
    assert not ids["jd_xid"].masked  # JD's xid carries an asterisk of its own
    waiting = events["285301234571:paid"]
    assert waiting.order is not None and waiting.order.completed_at is None


def test_jos_encrypted_consignee_becomes_masked_ciphertext() -> None:
    events = by_id(read("jos", "jos_orders.jsonl"))
    placed = events["285301234571:placed"]
    phone = next(i for i in placed.identifiers if i.kind == "phone")
    assert phone.masked
    assert "name" not in placed.traits


def test_an_unknown_jos_state_is_rejected_naming_the_field() -> None:
    rows = read("jos", "jos_orders.jsonl")
    assert rows[2].error is not None
    assert rows[2].error.field == "orderState"
    assert rows[2].error.value == "WAIT_FOR_SOMETHING"


def test_doudian_fen_amounts_and_unix_seconds_are_read_as_yuan_and_utc() -> None:
    events = by_id(read("doudian", "doudian_orders.jsonl"))
    placed = events["6921234567890123456:placed"]
    assert placed.occurred_at == datetime.fromtimestamp(1711973700, UTC)
    assert placed.order is not None
    assert placed.order.total == Decimal("199.70")
    assert placed.order.lines[0].amount == Decimal("159.80")
    assert "6921234567890123456:refunded:3990" in events


def test_the_douyin_export_and_doudian_agree_on_keys_for_the_same_order() -> None:
    export = by_id(list(open_import("orders", "douyin", DATA / "douyin_orders.csv").rows()))
    api = by_id(read("doudian", "doudian_orders.jsonl"))
    assert {"6921234567890123456:placed", "6921234567890123456:refunded:3990"} <= set(export) & set(api)


def test_doudian_phone_ciphertext_and_mask_never_become_usable_identifiers() -> None:
    placed = by_id(read("doudian", "doudian_orders.jsonl"))["6921234567890123456:placed"]
    phones = [i for i in placed.identifiers if i.kind == "phone"]
    assert {p.value for p in phones} == {"1********35", "#ZW5jcnlwdGVkcGhvbmU=#"}
    assert all(p.masked for p in phones)
    assert next(i for i in placed.identifiers if i.kind == "douyin_open_id").value == "1@#ZG91ZGlhbm9wZW5pZC0wMDE="


def test_a_doudian_refund_finished_status_makes_the_order_refunded() -> None:
    events = by_id(read("doudian", "doudian_orders.jsonl"))
    refund = events["6921234567890123480:refunded:12900"]
    assert refund.order is not None and refund.order.status == "refunded"


def test_a_negative_doudian_amount_is_rejected() -> None:
    rows = read("doudian", "doudian_orders.jsonl")
    assert rows[2].error is not None and rows[2].error.field == "pay_amount"
