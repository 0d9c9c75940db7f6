"""Tags by hand, by rule (a saved segment) and through the hook for event and text tags."""

from __future__ import annotations

from sqlalchemy import select, update

from liuyu.services import engagement
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api, api  # noqa: F401  (the app fixture)
from tests.api.test_segments_api import ALICE, BOB, CAROL, STRANGER, _seed


def _tags(api: Api, customer_id: int, key: str) -> dict[str, dict[str, object]]:  # noqa: F811
    reply = api.client.get(f"/api/v1/customers/{customer_id}/tags", headers=api.headers(key)).json()
    return {row["tag"]: row for row in reply["tags"]}


def test_an_operator_tags_a_customer_by_hand_with_a_reason_and_removes_it_with_another(api: Api) -> None:  # noqa: F811
    _seed(api)
    admin = api.headers(api.qimu.admin_key)
    body = {"tag": "已投诉", "reason": "电话投诉物流慢"}
    assert api.client.post(f"/api/v1/customers/{ALICE}/tags", json=body, headers=admin).status_code == 201
    held = _tags(api, ALICE, api.qimu.admin_key)["已投诉"]
    assert held["source"] == "manual" and held["reason"] == "电话投诉物流慢" and held["at"]
    gone = api.client.delete(f"/api/v1/customers/{ALICE}/tags/已投诉?reason=已解决", headers=admin)
    assert gone.status_code == 200 and _tags(api, ALICE, api.qimu.admin_key) == {}
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        logged = conn.execute(select(t.audit_log.c.action, t.audit_log.c.detail)).all()
    assert [action for action, _ in logged] == ["tag.add", "tag.remove"]
    assert logged[1][1]["reason"] == "已解决" and logged[1][1]["had"]["reason"] == "电话投诉物流慢"


def test_removing_needs_a_reason_and_a_tag_the_customer_has(api: Api) -> None:  # noqa: F811
    _seed(api)
    admin = api.headers(api.qimu.admin_key)
    api.client.post(f"/api/v1/customers/{ALICE}/tags", json={"tag": "VIP", "reason": "老客"}, headers=admin)
    assert api.client.delete(f"/api/v1/customers/{ALICE}/tags/VIP", headers=admin).status_code == 422
    assert api.client.delete(f"/api/v1/customers/{ALICE}/tags/无?reason=x", headers=admin).status_code == 404
    blank = api.client.post(f"/api/v1/customers/{ALICE}/tags", json={"tag": "VIP", "reason": "  "}, headers=admin)
    assert blank.status_code == 400


def test_an_ingest_key_cannot_tag_and_nobody_tags_another_workspaces_customer(api: Api) -> None:  # noqa: F811
    _seed(api)
    body = {"tag": "VIP", "reason": "老客"}
    ingest = api.headers(api.qimu.ingest_key)
    assert api.client.post(f"/api/v1/customers/{ALICE}/tags", json=body, headers=ingest).status_code == 403
    admin = api.headers(api.qimu.admin_key)
    assert api.client.post(f"/api/v1/customers/{STRANGER}/tags", json=body, headers=admin).status_code == 404
    assert api.client.get(f"/api/v1/customers/{STRANGER}/tags", headers=admin).status_code == 404


def test_a_tagged_customer_is_found_by_the_tag_predicate(api: Api) -> None:  # noqa: F811
    _seed(api)
    admin = api.headers(api.qimu.admin_key)
    api.client.post(f"/api/v1/customers/{BOB}/tags", json={"tag": "已投诉", "reason": "差评"}, headers=admin)
    got = api.client.post("/api/v1/segments/preview", json={"expression": 'not tag("已投诉")'}, headers=admin).json()
    assert [row["id"] for row in got["rows"]] == [ALICE, CAROL]


def test_a_rule_segment_tags_its_members_and_untags_those_who_leave(api: Api) -> None:  # noqa: F811
    _seed(api)
    admin = api.headers(api.qimu.admin_key)
    body = {"name": "上海客", "expression": 'city = "上海"', "tag": "魔都"}
    seg = api.client.post("/api/v1/segments", json=body, headers=admin).json()
    assert seg["tagged"] == 2
    assert _tags(api, ALICE, api.qimu.admin_key)["魔都"]["source"] == "rule"
    assert _tags(api, ALICE, api.qimu.admin_key)["魔都"]["reason"] == f"segment:{seg['id']}"
    with api.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(t.customers).where(t.customers.c.id == CAROL).values(city="北京"))
    refreshed = api.client.post(f"/api/v1/segments/{seg['id']}/refresh", headers=admin).json()
    assert (refreshed["tagged"], refreshed["untagged"]) == (0, 1)
    assert "魔都" not in _tags(api, CAROL, api.qimu.admin_key)
    counts = api.client.get("/api/v1/tags", headers=admin).json()["tags"]
    assert counts == [{"tag": "魔都", "source": "rule", "customers": 1}]


def test_a_rule_never_takes_away_a_tag_set_by_hand(api: Api) -> None:  # noqa: F811
    _seed(api)
    admin = api.headers(api.qimu.admin_key)
    api.client.post(f"/api/v1/customers/{BOB}/tags", json={"tag": "魔都", "reason": "常驻上海"}, headers=admin)
    seg = api.client.post(
        "/api/v1/segments", json={"name": "上海客", "expression": 'city = "上海"', "tag": "魔都"}, headers=admin
    ).json()
    api.client.patch(f"/api/v1/segments/{seg['id']}", json={"tag": ""}, headers=admin)
    assert "魔都" not in _tags(api, ALICE, api.qimu.admin_key)
    assert _tags(api, BOB, api.qimu.admin_key)["魔都"]["source"] == "manual"
    seg2 = api.client.post(
        "/api/v1/segments", json={"name": "上海客2", "expression": 'city = "上海"', "tag": "魔都"}, headers=admin
    ).json()
    assert api.client.delete(f"/api/v1/segments/{seg2['id']}", headers=admin).status_code == 200
    assert set(_tags(api, BOB, api.qimu.admin_key)) == {"魔都"} and _tags(api, ALICE, api.qimu.admin_key) == {}


def test_the_text_and_event_hook_tags_many_customers_with_their_source(api: Api) -> None:  # noqa: F811
    _seed(api)
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        given = [(ALICE, "王者荣耀玩家", "帖子 981: 今晚上王者"), (ALICE, "王者荣耀玩家", "重复"), (STRANGER, "x", "")]
        assert engagement.apply_tags(uow, api.qimu.id, given, source="text") == 1
        uow.commit()
    held = _tags(api, ALICE, api.qimu.admin_key)["王者荣耀玩家"]
    assert held["source"] == "text" and held["reason"] == "重复"
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(select(t.customer_tags.c.tag).where(t.customer_tags.c.customer_id == STRANGER)).all() == []
