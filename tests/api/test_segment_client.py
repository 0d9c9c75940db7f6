"""The real Segment client library (segment-analytics-python) works against liuyu unchanged."""

from __future__ import annotations

import segment.analytics as analytics_module
from segment.analytics import Client

from tests.api.conftest import Api
from tests.api.server import serving


def test_segment_python_client_identifies_tracks_and_aliases(api: Api) -> None:
    errors: list[object] = []
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        client = Client(
            write_key=api.qimu.ingest_key,
            host=url,
            sync_mode=True,
            on_error=lambda e, batch: errors.append(e),
            max_retries=1,
        )
        client.identify("u-42", {"phone": "13800138000", "name": "李雷", "city": "上海"})
        client.track(
            "u-42",
            "Order Completed",
            {
                "order_id": "APP-42",
                "total": 299.0,
                "currency": "CNY",
                "products": [{"sku": "NUT-30", "name": "每日坚果", "quantity": 1, "price": 299.0, "category": "坚果"}],
            },
        )
        client.track(anonymous_id="anon-7", event="Product Viewed", properties={"sku": "NUT-30"})
        client.alias("anon-7", "u-42")
        client.flush()
    assert errors == []
    stats = api.client.get("/api/v1/stats", headers=api.headers(api.qimu.admin_key)).json()
    assert stats["events"] == 4 and stats["orders"] == 1
    assert stats["customers"] == 1, "the alias joins the anonymous browsing to the identified customer"
    found = api.client.get("/api/v1/customers?q=APP-42", headers=api.headers(api.qimu.admin_key)).json()
    view = api.client.get(
        f"/api/v1/customers/{found['customers'][0]['id']}", headers=api.headers(api.qimu.admin_key)
    ).json()
    assert view["customer"]["name"] == "李雷"
    assert {e["type"] for e in view["timeline"]} == {"identify", "order_paid", "product_viewed"}
    assert view["orders"][0]["lines"][0]["category"] == "坚果"
    assert analytics_module.VERSION
