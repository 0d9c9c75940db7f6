"""Generic files: a YAML mapping says which column feeds which event field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from liuyu.channels.importers import open_import
from liuyu.domain.errors import InvalidInput

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


def test_a_mapped_store_log_becomes_order_events_under_a_file_source() -> None:
    reader = open_import("events", "generic", DATA / "store_legacy.csv", mapping=DATA / "store_legacy.yaml")
    assert reader.source == "file:store-legacy"
    rows = list(reader.rows())
    event = rows[0].events[0]
    assert event.external_id == "TX0001"
    assert event.type == "order_paid"
    assert event.channel == "store"
    assert event.occurred_at == datetime(2024, 5, 20, 4, 30, tzinfo=UTC)
    assert event.order is not None
    assert event.order.total == Decimal("1288.00")
    assert event.order.lines[0].title == "羊绒围巾"
    ids = {i.kind: i for i in event.identifiers}
    assert ids["member_no"].value == "M-8801"
    assert ids["phone"].verified


def test_status_map_turns_the_file_words_into_liuyu_statuses() -> None:
    rows = list(open_import("events", None, DATA / "store_legacy.csv", mapping=DATA / "store_legacy.yaml").rows())
    assert rows[1].events[0].order.status == "refunded"
    assert rows[1].events[0].order.raw_status == "已退款"


def test_a_bad_amount_in_a_mapped_file_names_line_and_column() -> None:
    rows = list(open_import("events", "generic", DATA / "store_legacy.csv", mapping=DATA / "store_legacy.yaml").rows())
    assert rows[2].error is not None
    assert rows[2].error.where == "store_legacy.csv:4"
    assert rows[2].error.field == "金额"


def test_json_lines_use_dotted_paths_and_unknown_event_names_become_custom_events() -> None:
    reader = open_import(
        "events", "generic", DATA / "mini_program_events.jsonl", mapping=DATA / "mini_program_events.yaml"
    )
    rows = list(reader.rows())
    cart = rows[0].events[0]
    assert cart.type == "cart_added"
    assert cart.occurred_at == datetime.fromtimestamp(1716179400, UTC)
    assert {i.kind for i in cart.identifiers} == {"member_no", "phone"}
    custom = rows[1].events[0]
    assert custom.type == "custom" and custom.name == "coupon_claimed"
    assert rows[2].error is not None and rows[2].error.field == "ts"


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mapping", "bad_key"),
    [
        ("external_id: 流水号\ntype: const:order_paid\noccurred_at: 时间\nidentifiers: {qq: 手机}\n", "identifiers"),
        ("external_id: 流水号\ntype: const:bought\noccurred_at: 时间\n", "type"),
        ("external_id: 流水号\ntype: const:login\noccurred_at: 时间\nchannel: const:taobao-live\n", "channel"),
        ("external_id: 流水号\ntype: const:login\noccurred_at: 时间\ncolour: red\n", "colour"),
        ("external_id: 流水号\ntype: const:login\noccurred_at: 时间\nmoney_unit: jiao\n", "money_unit"),
        ("external_id: 流水号\ntype: const:login\noccurred_at: 时间\ntimezone: Mars/Base\n", "timezone"),
        ("type: const:login\noccurred_at: 时间\n", "external_id"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_key(tmp_path: Path, mapping: str, bad_key: str) -> None:
    path = write_mapping(tmp_path, mapping)
    with pytest.raises(InvalidInput) as caught:
        open_import("events", "generic", DATA / "store_legacy.csv", mapping=path)
    assert caught.value.field == bad_key
    assert caught.value.where == str(path)


def test_order_events_without_an_order_section_are_refused(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, "external_id: 流水号\ntype: const:order_paid\noccurred_at: 时间\n")
    with pytest.raises(InvalidInput, match="order"):
        open_import("events", "generic", DATA / "store_legacy.csv", mapping=path)


def test_a_mapping_naming_a_column_the_file_lacks_fails_upfront(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, "external_id: 流水号\ntype: const:login\noccurred_at: 登录时间\n")
    with pytest.raises(InvalidInput) as caught:
        open_import("events", "generic", DATA / "store_legacy.csv", mapping=path)
    assert "登录时间" in caught.value.reason


def test_a_generic_file_needs_a_mapping() -> None:
    with pytest.raises(InvalidInput, match="mapping"):
        open_import("events", "generic", DATA / "store_legacy.csv")


def test_a_mapping_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, "external_id: [unclosed\n")
    with pytest.raises(InvalidInput, match="YAML"):
        open_import("events", "generic", DATA / "store_legacy.csv", mapping=path)


def test_an_external_id_longer_than_the_log_allows_is_rejected_naming_the_column(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "external_id: id\ntype: const:login\noccurred_at: ts\ntime_format: unix\n")
    path = tmp_path / "logins.csv"
    path.write_text(f"id,ts\n{'x' * 201},1717200000\nok-1,1717200000\n", encoding="utf-8")
    rows = list(open_import("events", "generic", path, mapping=mapping).rows())
    assert rows[0].error is not None and rows[0].error.field == "id"
    assert rows[1].events[0].external_id == "ok-1"


def test_an_order_event_named_in_a_column_without_an_order_section_names_the_type_column(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "external_id: id\ntype: kind\noccurred_at: ts\n")
    path = tmp_path / "mixed.csv"
    path.write_text("id,kind,ts\nA1,login,2024-06-01 08:00:00\nA2,order_paid,2024-06-01 08:05:00\n", encoding="utf-8")
    rows = list(open_import("events", "generic", path, mapping=mapping).rows())
    assert rows[0].events[0].type == "login"
    assert rows[1].error is not None and rows[1].error.field == "kind" and rows[1].error.value == "order_paid"
