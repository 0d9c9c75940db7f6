"""Tags from events and from what customers write: rules as data, evidence kept, rebuild-stable."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from liuyu.domain.engagement.tag_rules import parse_tag_rules
from liuyu.domain.errors import InvalidInput
from liuyu.services.identity import rebuild
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api, api  # noqa: F401  (the app fixture)

RULES = [
    {"tag": "王者荣耀玩家", "from": "text", "events": ["community_post"], "words": ["王者", "上分"]},
    {"tag": "公众号粉丝", "from": "event", "events": ["followed"]},
]


def post(n: int, user: str, text: str, *, kind: str = "community_post") -> dict[str, Any]:
    return {
        "type": "track",
        "event": kind,
        "id": f"{kind}-{n}",
        "timestamp": "2026-05-01T20:00:00+08:00",
        "channel": "app",
        "identifiers": {"app_user_id": user},
        "properties": {"text": text},
    }


def _send(api: Api, *events: dict[str, Any]) -> None:  # noqa: F811
    sent = api.client.post("/api/v1/events", json={"batch": list(events)}, headers=api.headers(api.qimu.ingest_key))
    assert sent.status_code == 200 and sent.json()["stored"] == len(events), sent.text


def _tags(api: Api) -> dict[tuple[str, str], tuple[str, str]]:  # noqa: F811
    """(app user, tag) -> (source, reason) for every tag in 七木."""
    engine = api.engine
    ct, ids = t.customer_tags, t.identifiers
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            select(ids.c.value, ct.c.tag, ct.c.source, ct.c.reason)
            .join(ids, ids.c.customer_id == ct.c.customer_id)
            .where(ct.c.workspace_id == api.qimu.id, ids.c.kind == "app_user_id")
        ).all()
    return {(user, tag): (source, reason) for user, tag, source, reason in rows}


def _set_rules(api: Api, rules: list[dict[str, Any]]) -> Any:  # noqa: F811
    return api.client.put("/api/v1/tags/rules", json={"rules": rules}, headers=api.headers(api.qimu.admin_key))


def test_a_post_about_the_game_tags_its_writer_with_the_words_as_evidence(api: Api) -> None:  # noqa: F811
    assert _set_rules(api, RULES).status_code == 200
    follow = post(9, "u-3", "") | {"event": "followed", "id": "follow-9", "properties": {}}
    _send(api, post(1, "u-1", "今晚上王者一起上分吗？五排缺一"), post(2, "u-2", "今天天气不错"), follow)
    tags = _tags(api)
    source, reason = tags[("u-1", "王者荣耀玩家")]
    assert source == "text" and "王者" in reason and reason.startswith("community_post")
    assert ("u-2", "王者荣耀玩家") not in tags
    assert tags[("u-3", "公众号粉丝")][0] == "event"
    preview = api.client.post(
        "/api/v1/segments/preview", json={"expression": 'tag("王者荣耀玩家")'}, headers=api.headers(api.qimu.admin_key)
    ).json()
    assert preview["count"] == 1


def test_traditional_characters_and_full_width_match_the_same_words(api: Api) -> None:  # noqa: F811
    _set_rules(api, [{"tag": "王者荣耀玩家", "events": ["community_post"], "words": ["王者荣耀"]}])
    _send(api, post(1, "u-1", "我也玩王者榮耀"))
    assert ("u-1", "王者荣耀玩家") in _tags(api)


def test_a_tag_set_by_hand_is_never_replaced_by_a_rule(api: Api) -> None:  # noqa: F811
    _set_rules(api, RULES)
    _send(api, post(1, "u-1", "天气不错"))
    admin = api.headers(api.qimu.admin_key)
    cid = api.client.get("/api/v1/customers?q=u-1", headers=admin).json()["customers"][0]["id"]
    api.client.post(f"/api/v1/customers/{cid}/tags", json={"tag": "王者荣耀玩家", "reason": "客服确认"}, headers=admin)
    _send(api, post(2, "u-1", "王者上分中"))
    assert _tags(api)[("u-1", "王者荣耀玩家")] == ("manual", "客服确认")


def test_rules_set_later_reach_the_past_on_rebuild_and_a_rebuild_changes_nothing_else(api: Api) -> None:  # noqa: F811
    _send(api, post(1, "u-1", "王者上分"), post(2, "u-2", "随便聊聊"))
    assert _tags(api) == {}  # no rules yet
    _set_rules(api, RULES)
    rebuild(lambda: SqlUnitOfWork(api.engine), api.qimu.id)  # type: ignore[arg-type]
    first = _tags(api)
    assert set(first) == {("u-1", "王者荣耀玩家")}
    rebuild(lambda: SqlUnitOfWork(api.engine), api.qimu.id)  # type: ignore[arg-type]
    assert _tags(api) == first


def test_when_two_profiles_merge_the_survivor_keeps_the_text_tag(api: Api) -> None:  # noqa: F811
    _set_rules(api, RULES)
    _send(api, post(1, "u-1", "王者上分"))
    link = post(2, "u-9", "") | {"type": "identify", "event": None, "id": "link-1", "properties": {}}
    link["identifiers"] = {"app_user_id": "u-1", "phone": "13800138000"}
    link["verified"] = ["phone"]
    other = post(3, "u-2", "天气不错") | {
        "identifiers": {"app_user_id": "u-2", "phone": "13800138000"},
        "verified": ["phone"],
    }
    _send(api, {k: v for k, v in link.items() if v is not None}, other)
    tags = _tags(api)  # both app users now belong to one customer, which has the tag once
    assert tags[("u-1", "王者荣耀玩家")][0] == "text" and tags[("u-2", "王者荣耀玩家")][0] == "text"
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(select(t.customer_tags.c.customer_id)).all().__len__() == 1


def test_bad_rules_are_refused_with_the_path_of_the_bad_field_and_the_old_rules_kept(api: Api) -> None:  # noqa: F811
    _set_rules(api, RULES)
    bad = _set_rules(api, [RULES[0], {"tag": "x", "from": "text", "events": ["no_such_event"], "words": ["a"]}])
    assert bad.status_code == 400 and "tag_rules[1].events" in bad.text
    kept = api.client.get("/api/v1/tags/rules", headers=api.headers(api.qimu.agent_key)).json()["rules"]
    assert [r["tag"] for r in kept] == ["王者荣耀玩家", "公众号粉丝"]
    with pytest.raises(InvalidInput, match=r"tag_rules\[0\]"):
        parse_tag_rules([{"tag": "空", "from": "text"}])  # a text rule needs words or a reading


@pytest.mark.slow
def test_a_review_complaining_about_packaging_tags_by_aspect_and_a_happy_one_does_not(api: Api) -> None:  # noqa: F811
    rule = {"tag": "包装差评", "events": ["review_posted"], "aspect": "packaging", "sentiment": "negative"}
    _set_rules(api, [rule])
    _send(
        api,
        post(1, "u-1", "包装太烂了，盒子都压坏了", kind="review_posted"),
        post(2, "u-2", "包装很精美，送人有面子", kind="review_posted"),
    )
    tags = _tags(api)
    assert tags[("u-1", "包装差评")] == ("text", "review_posted: packaging negative")
    assert ("u-2", "包装差评") not in tags
