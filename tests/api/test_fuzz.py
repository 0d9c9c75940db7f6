"""Whatever a client sends, the API answers with JSON and never a 500 (hypothesis over payloads)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["13800138000", "138****1234", "2026-11-11T10:00:00+08:00", "order_paid", "identify", "track", "1e30", "-1", ""]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
KEYS = [
    "type",
    "event",
    "id",
    "timestamp",
    "channel",
    "identifiers",
    "verified",
    "traits",
    "properties",
    "order",
    "messageId",
    "userId",
    "anonymousId",
    "previousId",
    "context",
]
items = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
orders = st.fixed_dictionaries(
    {
        "order_id": st.text(max_size=5),
        "total": scalars,
        "lines": st.lists(st.dictionaries(st.sampled_from(["title", "quantity", "amount"]), scalars), max_size=2),
    }
)


def near_valid(item: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    base = {
        "type": "track",
        "event": "order_paid",
        "id": "x-1",
        "timestamp": "2026-11-11T10:00:00+08:00",
        "identifiers": {"phone": "13800138000"},
        "order": order,
    }
    return base | item


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.one_of(items, json_values), max_size=5), order=orders, extra=items)
def test_events_endpoints_never_answer_500(
    api: Api, batch: list[Any], order: dict[str, Any], extra: dict[str, Any]
) -> None:
    headers = api.headers(api.qimu.ingest_key)
    for path, body in (
        ("/api/v1/events", {"batch": batch}),
        ("/api/v1/events", near_valid(extra, order)),
        ("/v1/batch", {"batch": batch}),
        ("/v1/track", extra),
    ):
        response = api.client.post(path, json=body, headers=headers)
        assert response.status_code < 500, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/json")
