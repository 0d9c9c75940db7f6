"""Entities: numbers, money, products, sizes, colors, competitors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from liuyu.nlp.entities import CatalogItem, EntityExtractor, find_prices, parse_chinese_number
from liuyu.nlp.text import clean


def entities(text: str, **kwargs: object):
    return EntityExtractor(**kwargs).extract(clean(text).text)  # type: ignore[arg-type]


def only(text: str, kind: str, **kwargs: object):
    found = [e for e in entities(text, **kwargs) if e.type == kind]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "platform", "number"),
    [
        ("订单号 1234567890123456789 还没发货", "taobao", "1234567890123456789"),
        ("我的订单是654321098765432123", "taobao", "654321098765432123"),
        ("抖音的单 6912345678901234567", "douyin", "6912345678901234567"),
        ("京东订单234567890123到哪了", "jd", "234567890123"),
        ("拼多多订单 230512-123456789012345", "pinduoduo", "230512-123456789012345"),
    ],
)
def test_order_numbers_are_found_with_their_platform(text: str, platform: str, number: str) -> None:
    order = only(text, "order_number")
    assert order.value == {"platform": platform, "number": number}


@pytest.mark.parametrize(
    ("text", "carrier"),
    [
        ("顺丰单号SF1234567890123", "SF"),
        ("圆通 YT1234567890123 一直不动", "YTO"),
        ("中通75123456789012怎么还没到", "ZTO"),
        ("申通773123456789012", "STO"),
        ("快递是韵达 4312345678901", "YUNDA"),
        ("京东快递JDVA12345678901", "JD"),
        ("EMS EA123456789CN", "EMS"),
    ],
)
def test_tracking_numbers_are_found_with_their_carrier(text: str, carrier: str) -> None:
    assert only(text, "tracking_number").value["carrier"] == carrier


def test_a_carrier_named_before_a_number_decides_the_carrier() -> None:
    assert only("顺丰快递 123456789012", "tracking_number").value["carrier"] == "SF"


@pytest.mark.parametrize(
    "text", ["电话13812345678", "手机 +86 138-1234-5678", "联系我１３８１２３４５６７８", "打0086 13812345678"]
)
def test_mobile_numbers_are_normalized_to_e164(text: str) -> None:
    assert only(text, "phone").value == "+8613812345678"


def test_a_landline_is_a_phone_not_an_order() -> None:
    assert only("座机010-12345678", "phone").value == "+861012345678"
    assert not [e for e in entities("座机010-12345678") if e.type == "order_number"]


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("预算两三百块", "200", "300"),
        ("300以内的有吗", "0", "300"),
        ("五百左右的", "450", "550"),
        ("1k-2k都行", "1000", "2000"),
        ("价格一千二可以吗", "1200", "1200"),
        ("500-800元", "500", "800"),
        ("花了99元", "99", "99"),
        ("三块五一斤", "3.5", "3.5"),
        ("¥1,299", "1299", "1299"),
        ("1.5万", "15000", "15000"),
        ("200到300块", "200", "300"),
        ("大概两千", "1800", "2200"),
    ],
)
def test_colloquial_prices_become_numeric_ranges(text: str, low: str, high: str) -> None:
    (price,) = find_prices(clean(text).text)
    assert (price.low, price.high) == (Decimal(low), Decimal(high))


def test_a_lower_bound_price_has_no_upper_end() -> None:
    (price,) = find_prices("要300以上的")
    assert price.low == Decimal(300)
    assert price.high is None


@pytest.mark.parametrize(
    "text", ["催了三次了", "等了3天", "买了2件", "第5次联系客服", "12315", "千万别买", "万一不行呢"]
)
def test_counts_and_days_are_not_money(text: str) -> None:
    assert find_prices(clean(text).text) == []


@pytest.mark.parametrize(("text", "value"), [("一千二", 1200), ("三万五", 35000), ("十五", 15), ("两百", 200)])
def test_chinese_numerals_are_read(text: str, value: int) -> None:
    assert parse_chinese_number(text) == Decimal(value)


def test_price_entities_carry_low_high_and_currency() -> None:
    price = only("预算两三百块", "price_range")
    assert price.value == {"low": "200", "high": "300", "currency": "CNY"}


CATALOG = [CatalogItem("PAD-01", "黑武士手柄"), CatalogItem("NUT-07", "每日坚果", ("坚果礼盒",))]


def test_catalog_products_are_found_exactly_and_with_a_typo() -> None:
    assert only("黑武士手柄按键失灵", "product", catalog=CATALOG).value["sku"] == "PAD-01"
    assert only("这个每日坚裹过期了", "product", catalog=CATALOG).value["sku"] == "NUT-07"
    assert only("坚果礼盒到了", "product", catalog=CATALOG).value["sku"] == "NUT-07"


def test_no_product_is_found_in_an_unrelated_text() -> None:
    assert not [e for e in entities("物流很快,客服态度好", catalog=CATALOG) if e.type == "product"]


def test_competitor_brands_come_from_the_configured_list() -> None:
    found = [
        e for e in entities("比小米的差远了,华为也比你们好", competitors=["小米", "华为"]) if e.type == "competitor"
    ]
    assert [e.value for e in found] == ["小米", "华为"]
    assert not [e for e in entities("比小米的差远了") if e.type == "competitor"]


def test_sizes_and_colors_are_found() -> None:
    found = entities("要XL码的藏青色,鞋子42码")
    assert {e.text for e in found if e.type == "size"} >= {"XL", "42码"}
    assert {e.text for e in found if e.type == "color"} == {"藏青色"}


def test_every_span_points_at_the_entity_text() -> None:
    text = clean("订单号123456789012345678,电话13812345678,预算两三百块,要黑色XL").text
    for entity in EntityExtractor(CATALOG, ["小米"]).extract(text):
        assert text[entity.span[0] : entity.span[1]] == entity.text


def test_lower_case_letters_in_an_english_chat_are_not_sizes() -> None:
    assert not [e for e in entities("i'm sure it is fine, thanks a lot") if e.type == "size"]
