"""Where the value is, over HTTP: 20/80 by channel, category and month, segments holding the core, cohorts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api


def paid(customer: int, n: int, *, when: str, channel: str, total: str, category: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "order_paid",
        "id": f"o-{customer}-{n}:paid",
        "timestamp": when,
        "channel": channel,
        "identifiers": {"app_user_id": f"u-{customer}"},
        "order": {
            "order_id": f"O{customer}-{n}",
            "total": total,
            "lines": [{"title": category, "quantity": 1, "category": category, "amount": total}],
        },
    }


@pytest.fixture
def shop(api: Api) -> Api:
    """Two big Tmall buyers of 手柄 (4,000 each, Jan and again in Mar) and eight small app buyers of 坚果 (125)."""
    events = []
    for c in (1, 2):
        events.append(paid(c, 1, when="2026-01-10T12:00:00+08:00", channel="tmall", total="2000.00", category="手柄"))
        events.append(paid(c, 2, when="2026-03-10T12:00:00+08:00", channel="tmall", total="2000.00", category="手柄"))
    for c in range(3, 11):
        events.append(paid(c, 1, when="2026-02-01T00:30:00+08:00", channel="app", total="125.00", category="坚果"))
    sent = api.client.post("/api/v1/events", json={"batch": events}, headers=api.headers(api.qimu.ingest_key))
    assert sent.status_code == 200 and sent.json()["stored"] == len(events), sent.text
    # the other workspace's whale must not show up in 七木's figures
    whale = paid(99, 1, when="2026-01-01T12:00:00+08:00", channel="jd", total="99999.00", category="手柄")
    api.client.post("/api/v1/events", json={"batch": [whale]}, headers=api.headers(api.other.ingest_key))
    return api


def test_the_best_fifth_of_buyers_and_the_same_within_each_channel_category_and_month(shop: Api) -> None:
    body = shop.client.get("/api/v1/engagement/value", headers=shop.headers(shop.qimu.admin_key)).json()
    assert body["overall"]["customers"] == 10 and body["core_customers"] == 2
    assert body["overall"]["revenue"] == "9000.00"
    assert body["overall"]["top_revenue_share"] == pytest.approx(8000 / 9000)
    channels = {row["channel"]: row for row in body["by"]["channel"]}
    assert set(channels) == {"tmall", "app"}
    assert channels["tmall"]["revenue_share"] == pytest.approx(8000 / 9000)
    assert channels["app"]["top_revenue_share"] == pytest.approx(0.2)  # eight equal buyers: no concentration
    categories = {row["category"]: row["revenue"] for row in body["by"]["category"]}
    assert categories == {"手柄": "8000.00", "坚果": "1000.00"}
    # 00:30 on 1 February in Shanghai is still 31 January in UTC: months follow the workspace's clock
    assert [(row["month"], row["revenue"]) for row in body["by"]["month"]] == [
        ("2026-01", "4000.00"), ("2026-02", "1000.00"), ("2026-03", "4000.00"),
    ]  # fmt: skip


def test_segments_show_how_much_of_the_core_and_of_the_tail_they_hold(shop: Api) -> None:
    admin = shop.headers(shop.qimu.admin_key)
    for name, expression in (("大客户", "total_spent > 1000"), ("全部买家", "order_count >= 1")):
        saved = shop.client.post("/api/v1/segments", json={"name": name, "expression": expression}, headers=admin)
        assert saved.status_code == 201, saved.text
    segments = {s["name"]: s for s in shop.client.get("/api/v1/engagement/value", headers=admin).json()["segments"]}
    assert segments["大客户"]["core_share"] == 1.0 and segments["大客户"]["tail_share"] == 0.0
    assert segments["大客户"]["revenue_share"] == pytest.approx(8000 / 9000)
    assert segments["全部买家"]["members"] == 10 and segments["全部买家"]["tail_share"] == 1.0


def test_cohorts_follow_first_purchase_months_in_the_workspace_clock(shop: Api) -> None:
    body = shop.client.get("/api/v1/engagement/cohorts?horizon=3", headers=shop.headers(shop.qimu.agent_key)).json()
    cohorts = {c["month"]: c for c in body["cohorts"]}
    assert cohorts["2026-01"]["customers"] == 2 and cohorts["2026-01"]["retained"] == [0.0, 1.0, 0.0]
    assert cohorts["2026-02"]["customers"] == 8 and cohorts["2026-02"]["retained"] == [0.0, 0.0, 0.0]
    assert body["average"][1] == pytest.approx(0.2)  # 2 of 10 customers bought again two months after their first


def test_a_bad_share_is_refused_with_the_parameter_named(shop: Api) -> None:
    answer = shop.client.get("/api/v1/engagement/value?top=1.5", headers=shop.headers(shop.qimu.admin_key))
    assert answer.status_code == 422 and "top" in answer.text
