"""Fifty clients at once over real HTTP, on SQLite and PostgreSQL: a coupon is used once, a balance never overdraws."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.conftest import Api, api  # noqa: F401
from tests.api.server import serving
from tests.api.test_loyalty_api import member_with_points, operator_key

CLIENTS = 50


def _post_all(base: str, key: str, requests: list[tuple[str, dict]]) -> list[int]:
    headers = {"Authorization": f"Bearer {key}"}

    def post(item: tuple[str, dict]) -> int:
        path, body = item
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            return client.post(path, json=body).status_code

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(post, requests))


def test_fifty_concurrent_redemptions_of_one_coupon_let_exactly_one_through(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    key = operator_key(api)
    h = api.headers(key)
    issued = api.client.post(
        "/api/v1/coupons/issue", json={"template": "GOLD-30", "customer_ids": [customer]}, headers=h
    )
    code = issued.json()["coupons"][0]["code"]
    cart = {"customer_id": customer, "channel": "store", "lines": [{"amount": "300.00"}]}
    requests = [(f"/api/v1/coupons/{code}/redeem", {**cart, "order_id": f"POS-{i}"}) for i in range(CLIENTS)]
    with serving(api.client.app) as base:  # type: ignore[arg-type]
        codes = _post_all(base, key, requests)
    assert sorted(set(codes)) == [200, 409] and codes.count(200) == 1
    coupons = api.client.get(f"/api/v1/members/{customer}", headers=h).json()["coupons"]
    assert [c["status"] for c in coupons] == ["redeemed"]


def test_fifty_concurrent_point_redemptions_never_overdraw_and_each_accepted_one_is_in_the_ledger(
    api: Api,  # noqa: F811
) -> None:
    customer = member_with_points(api, amount="1000.00")
    key = operator_key(api)
    requests = [(f"/api/v1/members/{customer}/redeem", {"points": 30, "request_id": f"R-{i}"}) for i in range(CLIENTS)]
    with serving(api.client.app) as base:  # type: ignore[arg-type]
        codes = _post_all(base, key, requests)
    accepted = codes.count(200)
    assert accepted == 1000 // 30 and codes.count(409) == CLIENTS - accepted
    h = api.headers(key)
    card = api.client.get(f"/api/v1/members/{customer}", headers=h).json()
    assert card["points"]["available"] == 1000 - 30 * accepted
    redeemed = api.client.get(f"/api/v1/members/{customer}/ledger?kind=redeem", headers=h).json()["entries"]
    assert sum(e["points"] for e in redeemed) == 30 * accepted


def test_fifty_concurrent_claims_of_one_batch_code_by_one_member_store_exactly_one_coupon(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    key = operator_key(api)
    requests = [("/api/v1/coupons/claim", {"code": "DOUBLE11", "customer_id": customer}) for _ in range(CLIENTS)]
    with serving(api.client.app) as base:  # type: ignore[arg-type]
        codes = _post_all(base, key, requests)
    assert codes.count(200) == 1 and codes.count(409) == CLIENTS - 1
    coupons = api.client.get(f"/api/v1/members/{customer}", headers=api.headers(key)).json()["coupons"]
    assert [(c["batch"], c["status"]) for c in coupons] == [("DOUBLE11", "issued")]
