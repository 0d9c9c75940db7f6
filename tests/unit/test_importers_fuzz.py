"""Whatever a file holds, readers answer every row with events or a named error, never a crash."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liuyu.channels.importers import RowResult, open_import

FIELDS = {
    "top": ["tid", "tid_str", "status", "created", "pay_time", "payment", "orders", "buyer_nick", "receiver_mobile"],
    "jos": ["orderId", "orderState", "orderStartTime", "paymentConfirmTime", "orderPayment", "itemInfoList", "pin"],
    "doudian": ["order_id", "order_status", "main_status", "create_time", "pay_time", "pay_amount", "sku_order_list"],
    "wecom": ["external_contact", "external_userid", "follow_user", "follow_info", "unionid", "gender", "createtime"],
    "nested": [
        "userid",
        "remark_mobiles",
        "tags",
        "tag_name",
        "refund_status",
        "item_num",
        "num",
        "itemTotal",
        "mobile",
    ],
}
KEYS = sorted({key for keys in FIELDS.values() for key in keys})
HEADERS = {
    "tmall": [
        "订单编号",
        "订单状态",
        "订单创建时间",
        "订单付款时间",
        "总金额",
        "买家实际支付金额",
        "联系手机",
        "宝贝总数量",
    ],
    "jd": ["订单号", "订单状态", "下单时间", "付款确认时间", "应付金额", "订购数量", "京东价", "联系电话"],
    "douyin": ["主订单编号", "订单状态", "订单提交时间", "支付完成时间", "订单应付金额", "商品数量", "收件人手机号"],
    "pos": ["门店", "小票号", "会员手机号", "商品名称", "数量", "金额", "实收", "时间"],
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["WAIT_BUYER_PAY", "TRADE_FINISHED", "FINISHED_L", "2024-03-01 10:00:00", "0001-01-01 00:00:00"]),
    st.sampled_from(["1e30", "1E+999999999", "NaN", "-0", "99999999999999999999999999999"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=8,
)
cells = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["交易成功", "完成", "已完成", "2024-03-01 10:00:00", "1.2E+17", '="123"', "-5", "1,299.00"]),
    st.sampled_from(["138****1234", "1e30", "1E+999999999", "NaN", "9" * 40, "2024-13-45 99:99:99"]),
)


def read_all(kind: str, fmt: str, name: str, content: str) -> list[RowResult]:
    """Every row, checking that none has both events and an error and that errors say where."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(content, encoding="utf-8")
        rows = list(open_import(kind, fmt, path).rows())
    for row in rows:
        assert not (row.events and row.error)
        if row.error is not None:
            assert row.error.where == f"{name}:{row.line}"
    assert [row.line for row in rows] == sorted({row.line for row in rows})
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["top", "jos", "doudian", "wecom"]),
    items=st.lists(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6), min_size=1),
)
def test_api_objects_of_any_shape_are_answered_row_by_row(fmt: str, items: list[dict[str, Any]]) -> None:
    kind = "wechat-followers" if fmt == "wecom" else "orders"
    content = "\n".join(json.dumps(item, ensure_ascii=False) for item in items) + "\n"
    rows = read_all(kind, fmt, "dump.jsonl", content)
    assert [row.line for row in rows] == list(range(1, len(items) + 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(HEADERS)), data=st.data())
def test_csv_cells_of_any_content_are_answered_row_by_row(fmt: str, data: st.DataObject) -> None:
    header = HEADERS[fmt]
    rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), min_size=1, max_size=5))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    read_all("orders", fmt, "export.csv", buffer.getvalue())
