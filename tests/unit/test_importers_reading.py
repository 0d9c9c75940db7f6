"""Opening files: encodings, Excel quirks, missing columns and the values channels write."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from liuyu.channels.importers import IMPORT_KINDS, open_import
from liuyu.channels.importers.values import FieldError, local_time, money, order_number, quantity, unix_time
from liuyu.domain.errors import InvalidInput

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"

POS_HEADER = "门店,小票号,会员手机号,会员卡号,商品编码,商品名称,数量,金额,实收,时间,收银员\n"
POS_ROW = (
    '上海静安店,="R0001",138 1234 5678\t,VIP0001,SKU1,黑武士-手柄,1,"1,299.00",1299.00,2024-05-01 14:03:00,王小明\n'
)


def events_of(path: Path) -> list[object]:
    return [event for row in open_import("orders", "pos", path).rows() for event in row.events]


@pytest.mark.parametrize(
    ("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")]
)
def test_the_same_rows_in_any_accepted_encoding_give_the_same_events(
    tmp_path: Path, encoding: str, detected: str
) -> None:
    path = tmp_path / f"till-{encoding}.csv"
    path.write_text(POS_HEADER + POS_ROW, encoding=encoding)
    reader = open_import("orders", "pos", path)
    assert reader.encoding == detected
    reference = tmp_path / "reference.csv"
    reference.write_text(POS_HEADER + POS_ROW, encoding="utf-8")
    assert events_of(path) == events_of(reference)


def test_excel_wrappers_tabs_and_thousands_separators_are_undone(tmp_path: Path) -> None:
    path = tmp_path / "till.csv"
    path.write_text(POS_HEADER + POS_ROW, encoding="utf-8")
    event = next(iter(open_import("orders", "pos", path).rows())).events[0]
    assert event.order is not None
    assert event.order.order_id == "上海静安店-R0001"
    assert event.order.total == Decimal("1299.00")
    assert next(i for i in event.identifiers if i.kind == "phone").value == "+8613812345678"


def test_missing_required_columns_are_named_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "till.csv"
    path.write_text("门店,小票号,商品名称\n上海静安店,R1,手柄\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        open_import("orders", "pos", path)
    assert "数量" in caught.value.reason and "实收" in caught.value.reason and "时间" in caught.value.reason
    assert caught.value.where == str(path)


def test_blank_lines_and_trailing_comma_rows_are_skipped_and_line_numbers_stay_physical(tmp_path: Path) -> None:
    path = tmp_path / "till.csv"
    path.write_text(POS_HEADER + "\n,,,,,,,,,,\n" + POS_ROW, encoding="utf-8")
    rows = list(open_import("orders", "pos", path).rows())
    assert [row.line for row in rows] == [4]


def test_a_row_longer_than_the_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "till.csv"
    path.write_text(POS_HEADER + POS_ROW.rstrip("\n") + ",extra\n", encoding="utf-8")
    (row,) = open_import("orders", "pos", path).rows()
    assert row.error is not None and "header" in row.error.reason


def test_a_file_neither_utf8_nor_gb18030_is_refused_upfront(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(POS_HEADER.encode("utf-8") + b"\x81\x20\xff\xfe\n")
    with pytest.raises(InvalidInput, match="neither UTF-8 nor GB18030"):
        open_import("orders", "pos", path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="empty"):
        open_import("orders", "pos", path)


def test_unknown_kinds_formats_and_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = DATA / "pos_receipts.csv"
    with pytest.raises(InvalidInput, match="kind"):
        open_import("coupons", None, path)
    with pytest.raises(InvalidInput, match="format"):
        open_import("orders", "pinduoduo", path)
    with pytest.raises(InvalidInput, match="format"):
        open_import("orders", None, path)
    with pytest.raises(InvalidInput, match="no such file"):
        open_import("orders", "pos", tmp_path / "missing.csv")


def test_every_listed_kind_and_format_opens_its_sample() -> None:
    samples = {
        ("orders", "tmall"): "tmall_orders_gb18030.csv",
        ("orders", "jd"): "jd_orders_bom.csv",
        ("orders", "douyin"): "douyin_orders.csv",
        ("orders", "pos"): "pos_receipts.csv",
        ("orders", "top"): "top_trades.jsonl",
        ("orders", "jos"): "jos_orders.jsonl",
        ("orders", "doudian"): "doudian_orders.jsonl",
        ("wechat-followers", "wechat"): "wechat_followers_gb18030.csv",
        ("wechat-followers", "wecom"): "wecom_contacts.jsonl",
        ("app-logins", "app"): "app_logins.csv",
    }
    listed = {(kind, fmt) for kind, formats in IMPORT_KINDS.items() for fmt in formats if fmt != "generic"}
    assert listed == set(samples)
    for (kind, fmt), name in samples.items():
        reader = open_import(kind, fmt, DATA / name)
        rows = list(reader.rows())
        assert any(row.events for row in rows)
        assert reader.total() is not None and reader.total() >= len(rows)


def test_shanghai_local_time_becomes_utc() -> None:
    assert local_time("2024-03-01 08:00:00", "t") == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert local_time("2024/3/1 8:00", "t") == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert local_time("0001-01-01 00:00:00", "t") is None


def test_unix_seconds_and_milliseconds_are_told_apart() -> None:
    assert unix_time(1711973700, "t") == unix_time(1711973700000, "t") == datetime.fromtimestamp(1711973700, UTC)
    assert unix_time(0, "t") is None


def test_money_and_quantity_refuse_what_they_cannot_be() -> None:
    assert money("¥1,299.00", "m") == Decimal("1299.00")
    assert money(12990, "m", unit="fen") == Decimal("129.90")
    with pytest.raises(FieldError):
        money("十块", "m")
    assert quantity("1,000", "q") == 1000
    with pytest.raises(FieldError):
        quantity("1.5", "q")


def test_order_numbers_that_excel_turned_into_numbers_are_refused() -> None:
    assert order_number(3456789012345678901, "id") == "3456789012345678901"
    for mangled in ("3.45679E+18", 3.45e18, "3456789012.0"):
        with pytest.raises(FieldError):
            order_number(mangled, "id")


def test_every_kind_and_format_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "importers.md").read_text(encoding="utf-8")
    for kind, formats in IMPORT_KINDS.items():
        for fmt in formats:
            assert f"## `{kind} {fmt}`" in docs, f"docs/importers.md lacks a section for {kind} {fmt}"


def test_absurd_amounts_and_quantities_are_refused_not_crashed_on(tmp_path: Path) -> None:
    for absurd in ("1e30", "1E+999999999"):
        with pytest.raises(FieldError, match="out of range"):
            money(absurd, "m")
    with pytest.raises(FieldError, match="out of range"):
        quantity("1e12", "q")
    path = tmp_path / "till.csv"
    path.write_text(POS_HEADER + POS_ROW.replace("1299.00,", "1e30,"), encoding="utf-8")
    (row,) = open_import("orders", "pos", path).rows()
    assert row.error is not None and row.error.field == "实收"


def test_a_tab_separated_export_saved_as_csv_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "till.csv"
    tsv = (
        POS_HEADER.replace(",", "\t")
        + "上海静安店\tR0001\t13812345678\tVIP0001\tSKU1\t手柄\t1\t299.00\t299.00\t2024-05-01 14:03:00\t王小明\n"
    )
    path.write_text(tsv, encoding="utf-8")
    (row,) = open_import("orders", "pos", path).rows()
    assert row.error is None
    assert row.events[0].order is not None and row.events[0].order.paid == Decimal("299.00")


def test_an_excel_workbook_is_refused_with_a_hint_to_save_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(InvalidInput, match="save it as CSV"):
        open_import("orders", "tmall", path)


def test_a_broken_row_inside_a_receipt_rejects_the_whole_receipt_not_half_of_it(tmp_path: Path) -> None:
    path = tmp_path / "till.csv"
    good = "上海静安店,R0009,,,SKU1,手柄,1,299.00,299.00,2024-05-01 14:03:00,王小明\n"
    broken = "上海静安店,R0009,,,SKU2,保护套,1,25.00,25.00,2024-05-01 14:03:00,王小明,多余\n"
    path.write_text(POS_HEADER + good + broken + good, encoding="utf-8")
    rows = list(open_import("orders", "pos", path).rows())
    assert [row.line for row in rows] == [2, 3, 4]
    assert all(row.events == () and row.error is not None for row in rows)
    assert "header" in rows[1].error.reason
    assert "line 3" in rows[0].error.reason


def test_the_public_surface_is_what_the_import_service_calls() -> None:
    import liuyu.channels.importers as importers

    assert sorted(importers.__all__) == ["IMPORT_KINDS", "ImportReader", "RowResult", "open_import"]
    reader = importers.open_import("orders", "pos", DATA / "pos_receipts.csv")
    assert isinstance(reader, importers.ImportReader)
    assert (reader.kind, reader.fmt, reader.path, reader.source) == ("orders", "pos", DATA / "pos_receipts.csv", "pos")
