"""The member center API on SQLite and PostgreSQL: cards, points, benefits, coupons, the program and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.domain.orders import Order, OrderLine
from liuyu.services import accounts
from liuyu.services.ingest import ingest_events
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api, api  # noqa: F401

PROGRAM = """
code: HEIWUSHI
name: 黑武士会员
return_window_days: 0
expiry: {mode: days_after_earning, days: 365}
tiers:
  - {code: MEMBER, name: 普通会员, threshold: 0}
  - code: GOLD
    name: 金卡
    threshold: 500
    benefits: {free_shipping: true, exclusive_coupons: [GOLD-30]}
rules:
  - {id: base, kind: base_rate, points_per_yuan: 1, effective_from: "2020-01-01T00:00:00+08:00"}
coupon_templates:
  - {code: GOLD-30, name: 满200减30, kind: threshold, threshold: 200, amount_off: 30}
  - {code: D11-20, name: 双十一立减20, kind: amount_off, amount_off: 20, batch_codes: [DOUBLE11]}
"""


def paid_order(order_id: str, phone: str, amount: str, at: datetime) -> Event:
    snapshot = Order(
        platform="miniprogram",
        order_id=order_id,
        status="paid",
        total=Decimal(amount),
        paid=Decimal(amount),
        placed_at=at,
        paid_at=at,
        lines=(OrderLine(title="黑武士-手柄", sku="PAD-1", category="手柄", amount=Decimal(amount)),),
    )
    identifier = make_identifier("phone", phone)
    assert identifier is not None
    return Event(
        source="miniprogram",
        external_id=f"{order_id}:paid",
        type="order_paid",
        occurred_at=at,
        channel="miniprogram",
        identifiers=(identifier,),
        order=snapshot,
    )


def member_with_points(api: Api, amount: str = "800.00") -> int:  # noqa: F811
    """Set the program as admin, then a customer pays an order on the mini-program."""
    h = api.headers(api.qimu.admin_key)
    assert api.client.put("/api/v1/loyalty/program", json={"yaml": PROGRAM}, headers=h).status_code == 200
    at = datetime.now(UTC) - timedelta(days=1)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        ingest_events(
            uow.ingest, api.qimu.id, [paid_order("MP-1", "+8613900000001", amount, at)], projections=uow.projections()
        )
        customer = uow.loyalty.members(api.qimu.id)[0]["customer_id"]
        uow.commit()
    return customer


def operator_key(api: Api) -> str:  # noqa: F811
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        key = accounts.create_api_key(uow.accounts, api.qimu.id, "api", "operator")
        uow.commit()
    return key


def test_the_member_card_shows_tier_points_and_benefits(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    card = api.client.get(f"/api/v1/members/{customer}", headers=api.headers(api.qimu.agent_key)).json()
    assert card["tier"]["code"] == "GOLD"
    assert card["points"] == {"available": 800, "pending": 0, "debt": 0}
    assert card["next_expiry"]["points"] == 800
    assert {b["kind"] for b in card["benefits"]} == {"free_shipping", "exclusive_coupon"}


def test_a_redemption_is_idempotent_and_a_short_balance_is_refused(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    body = {"points": 300, "request_id": "POS-0001"}
    first = api.client.post(f"/api/v1/members/{customer}/redeem", json=body, headers=h)
    again = api.client.post(f"/api/v1/members/{customer}/redeem", json=body, headers=h)
    too_much = api.client.post(
        f"/api/v1/members/{customer}/redeem", json={"points": 600, "request_id": "POS-2"}, headers=h
    )
    assert (first.status_code, again.status_code, too_much.status_code) == (200, 200, 409)
    assert again.json()["replayed"] is True
    card = api.client.get(f"/api/v1/members/{customer}", headers=h).json()
    assert card["points"]["available"] == 500
    redeemed = api.client.get(f"/api/v1/members/{customer}/ledger?kind=redeem", headers=h).json()["entries"]
    assert [e["points"] for e in redeemed] == [300]


def test_agents_read_but_may_not_spend_and_only_admins_set_the_program(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    agent = api.headers(api.qimu.agent_key)
    spend = api.client.post(f"/api/v1/members/{customer}/redeem", json={"points": 1, "request_id": "x"}, headers=agent)
    program = api.client.put("/api/v1/loyalty/program", json={"yaml": PROGRAM}, headers=api.headers(operator_key(api)))
    assert (spend.status_code, program.status_code) == (403, 403)


def test_another_workspace_cannot_see_the_member(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    seen = api.client.get(f"/api/v1/members/{customer}", headers=api.headers(api.other.admin_key))
    assert seen.status_code == 404


def test_an_adjustment_records_the_operator_and_reason(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    done = api.client.post(f"/api/v1/members/{customer}/adjust", json={"points": -100, "reason": "误发积分"}, headers=h)
    assert done.status_code == 200
    entries = api.client.get(f"/api/v1/members/{customer}/ledger?kind=adjust", headers=h).json()["entries"]
    assert [(e["points"], e["reason"], e["actor"]) for e in entries] == [(100, "误发积分", entries[0]["actor"])]
    assert entries[0]["actor"] and entries[0]["source"] == "available"


def test_a_bad_program_is_rejected_with_the_field_path(api: Api) -> None:  # noqa: F811
    bad = PROGRAM.replace("threshold: 500", "threshold: -1")
    answer = api.client.put("/api/v1/loyalty/program", json={"yaml": bad}, headers=api.headers(api.qimu.admin_key))
    assert answer.status_code == 400
    assert "tiers.1.threshold" in answer.text


def test_an_exclusive_coupon_benefit_is_taken_once(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    body = {"kind": "exclusive_coupon", "channel": "store"}
    first = api.client.post(f"/api/v1/members/{customer}/benefits/consume", json=body, headers=h)
    second = api.client.post(f"/api/v1/members/{customer}/benefits/consume", json={**body, "channel": "app"}, headers=h)
    assert (first.status_code, second.status_code) == (200, 409)


def test_a_coupon_is_redeemed_once_and_a_retry_for_the_same_order_gets_the_same_answer(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    issued = api.client.post(
        "/api/v1/coupons/issue", json={"template": "GOLD-30", "customer_ids": [customer]}, headers=h
    )
    assert issued.status_code == 200
    code = issued.json()["coupons"][0]["code"]
    cart = {"customer_id": customer, "channel": "store", "lines": [{"amount": "250.00", "category": "手柄"}]}
    first = api.client.post(f"/api/v1/coupons/{code}/redeem", json={**cart, "order_id": "S-1"}, headers=h)
    retry = api.client.post(f"/api/v1/coupons/{code}/redeem", json={**cart, "order_id": "S-1"}, headers=h)
    other = api.client.post(f"/api/v1/coupons/{code}/redeem", json={**cart, "order_id": "S-2"}, headers=h)
    assert (first.status_code, retry.status_code, other.status_code) == (200, 200, 409)
    assert first.json()["discount"] == "30.00"
    card = api.client.get(f"/api/v1/members/{customer}", headers=h).json()
    assert [c["status"] for c in card["coupons"]] == ["redeemed"]


def test_the_daily_job_expires_coupons_that_were_not_used_in_time(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    api.client.post("/api/v1/coupons/issue", json={"template": "GOLD-30", "customer_ids": [customer]}, headers=h)
    soon = api.client.post("/api/v1/loyalty/run-due", json={}, headers=h).json()
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    done = api.client.post("/api/v1/loyalty/run-due", json={"at": later}, headers=h).json()
    assert (soon["coupons_expired"], done["coupons_expired"]) == (0, 1)
    coupons = api.client.get(f"/api/v1/members/{customer}", headers=h).json()["coupons"]
    assert [c["status"] for c in coupons] == ["expired"]


def test_a_new_program_moves_members_to_the_tiers_it_defines(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(api.qimu.admin_key)
    higher = PROGRAM.replace("threshold: 500", "threshold: 5000")
    assert api.client.put("/api/v1/loyalty/program", json={"yaml": higher}, headers=h).status_code == 200
    assert api.client.get(f"/api/v1/members/{customer}", headers=h).json()["tier"]["code"] == "MEMBER"
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        assert [m["tier"] for m in uow.loyalty.members(api.qimu.id)] == ["MEMBER"]  # what the overview counts


def test_impossible_customer_ids_get_a_client_error_not_a_crash(api: Api) -> None:  # noqa: F811
    h = api.headers(api.qimu.admin_key)
    too_big = api.client.get(f"/api/v1/members/{2**70}", headers=h)
    unknown = api.client.get("/api/v1/members/424242", headers=h)
    issue = api.client.post("/api/v1/coupons/issue", json={"template": "X", "customer_ids": [2**70]}, headers=h)
    assert (too_big.status_code, unknown.status_code, issue.status_code) == (422, 404, 422)


def test_coupons_go_to_a_segment_once_and_a_rerun_only_reaches_newcomers(api: Api) -> None:  # noqa: F811
    big = member_with_points(api)  # paid 800 on the mini-program
    h = api.headers(operator_key(api))
    body = {"template": "GOLD-30", "segment": "total_spent >= 500"}
    first = api.client.post("/api/v1/coupons/issue-to-segment", json=body, headers=h)
    again = api.client.post("/api/v1/coupons/issue-to-segment", json=body, headers=h)
    assert (first.status_code, again.status_code) == (200, 200)
    assert [c["customer_id"] for c in first.json()["coupons"]] == [big]
    assert (again.json()["issued"], again.json()["already_held"]) == (0, 1)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        ingest_events(
            uow.ingest,
            api.qimu.id,
            [paid_order("MP-2", "+8613900000002", "900.00", datetime.now(UTC) - timedelta(hours=1))],
            projections=uow.projections(),
        )
        uow.commit()
    third = api.client.post("/api/v1/coupons/issue-to-segment", json=body, headers=h).json()
    assert (third["matched"], third["issued"], third["already_held"]) == (2, 1, 1)
    assert third["coupons"][0]["customer_id"] != big and third["batch"] == first.json()["batch"]
    new_round = api.client.post("/api/v1/coupons/issue-to-segment", json={**body, "run_key": "2026-12"}, headers=h)
    assert new_round.json()["issued"] == 2


def test_issuing_to_a_bad_segment_or_template_says_what_is_wrong(api: Api) -> None:  # noqa: F811
    member_with_points(api)
    h = api.headers(operator_key(api))
    bad_expression = api.client.post(
        "/api/v1/coupons/issue-to-segment", json={"template": "GOLD-30", "segment": "total_spent >>= 1"}, headers=h
    )
    no_template = api.client.post(
        "/api/v1/coupons/issue-to-segment", json={"template": "NOPE", "segment": "total_spent >= 1"}, headers=h
    )
    assert (bad_expression.status_code, no_template.status_code) == (400, 404)
    assert "GOLD-30" in no_template.text


def test_a_member_claims_a_batch_code_once_and_redeems_their_own_coupon(api: Api) -> None:  # noqa: F811
    customer = member_with_points(api)
    h = api.headers(operator_key(api))
    first = api.client.post("/api/v1/coupons/claim", json={"code": " double11", "customer_id": customer}, headers=h)
    again = api.client.post("/api/v1/coupons/claim", json={"code": "DOUBLE11", "customer_id": customer}, headers=h)
    unknown = api.client.post("/api/v1/coupons/claim", json={"code": "NOPE", "customer_id": customer}, headers=h)
    stranger = api.client.post("/api/v1/coupons/claim", json={"code": "DOUBLE11", "customer_id": 424242}, headers=h)
    assert (first.status_code, again.status_code, unknown.status_code, stranger.status_code) == (200, 409, 404, 404)
    coupon = first.json()
    assert (coupon["batch"], coupon["template"]) == ("DOUBLE11", "D11-20") and coupon["code"] != "DOUBLE11"
    cart = {"customer_id": customer, "channel": "app", "order_id": "A-1", "lines": [{"amount": "99.00"}]}
    used = api.client.post(f"/api/v1/coupons/{coupon['code']}/redeem", json=cart, headers=h)
    assert (used.status_code, used.json()["discount"]) == (200, "20.00")
