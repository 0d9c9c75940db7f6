"""WeChat official-account followers (CSV) and WeCom external contacts (JSON lines).

The unionid is what joins a follower, a WeCom contact, a mini-program user and a WeChat Pay
payer; openid and external_userid are scoped to one account or one corp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from liuyu.channels.importers.reading import CsvLayout, CsvRow, JsonLayout
from liuyu.channels.importers.values import (
    FieldError,
    identifier,
    local_time,
    present,
    required,
    unique,
    unix_time,
)
from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.eventlog import Event

GENDERS = {0: None, 1: "male", 2: "female"}


def _stamp(when: datetime) -> int:
    return int(when.timestamp())


def parse_follower(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
    """A follower row: followed at 关注时间, unfollowed at 取消关注时间 when set."""
    (row,) = rows
    openid = str(required(row.get("openid"), "openid"))
    followed_at = local_time(row.get("关注时间"), "关注时间")
    unfollowed_at = local_time(row.get("取消关注时间"), "取消关注时间")
    if followed_at is None and unfollowed_at is None:
        raise FieldError("关注时间", row.get("关注时间"), "a follower needs 关注时间 or 取消关注时间")
    ids = unique(
        identifier("wechat_openid", openid, "openid"),
        identifier("unionid", row.get("unionid"), "unionid"),
    )
    traits = present({"nickname": row.get("昵称")})
    properties = present({"follow_source": row.get("关注来源")})
    events = []
    for kind, when in (("followed", followed_at), ("unfollowed", unfollowed_at)):
        if when is not None:
            events.append(
                Event(
                    source="wechat",
                    external_id=f"{openid}:{kind}:{_stamp(when)}",
                    type=kind,
                    occurred_at=when,
                    channel="wechat",
                    identifiers=ids,
                    traits=traits,
                    properties=properties,
                )
            )
    return tuple(events)


FOLLOWERS = CsvLayout(
    kind="wechat-followers",
    fmt="wechat",
    source="wechat",
    required=("openid", "关注时间"),
    parse=parse_follower,
    aliases={
        "OpenID": "openid",
        "openId": "openid",
        "用户openid": "openid",
        "UnionID": "unionid",
        "unionId": "unionid",
        "subscribe_time": "关注时间",
        "unsubscribe_time": "取消关注时间",
        "subscribe_scene": "关注来源",
        "nickname": "昵称",
    },
)


def _follows(item: Mapping[str, Any], contact: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """follow_user[] from externalcontact/get, or follow_info from batch/get_by_user."""
    follows = item.get("follow_user") or contact.get("follow_user")
    if follows is None and isinstance(item.get("follow_info"), Mapping):
        follows = [item["follow_info"]]
    if not follows:
        raise FieldError("follow_user", None, "no staff relationship (follow_user) to date the follow")
    if not isinstance(follows, list) or not all(isinstance(f, Mapping) for f in follows):
        raise FieldError("follow_user", str(follows)[:80], "expected a list of objects")
    return follows


def _tags(follow: Mapping[str, Any]) -> list[str]:
    tags = follow.get("tags") or []
    names = []
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and tag.get("tag_name"):
            group = tag.get("group_name")
            names.append(f"{group}/{tag['tag_name']}" if group else str(tag["tag_name"]))
    return names


def _remark_phones(follow: Mapping[str, Any], index: int) -> tuple[list[Identifier], list[str]]:
    """Phones staff typed in: unverified; ones that are no phone are kept aside, not fatal."""
    usable: list[Identifier] = []
    unusable: list[str] = []
    mobiles = follow.get("remark_mobiles") or []
    for mobile in mobiles if isinstance(mobiles, list) else [mobiles]:
        try:
            phone = identifier("phone", mobile, f"follow_user[{index}].remark_mobiles")
        except FieldError:
            unusable.append(str(mobile))
            continue
        if phone is not None:
            usable.append(phone)
    return usable, unusable


def parse_contact(item: Mapping[str, Any]) -> tuple[Event, ...]:
    """One WeCom external contact: a ``followed`` event per staff member who added them."""
    contact = item.get("external_contact")
    if not isinstance(contact, Mapping):
        contact = item
    external_userid = str(required(contact.get("external_userid"), "external_contact.external_userid"))
    follows = _follows(item, contact)
    base_ids = (
        identifier("wecom_external_userid", external_userid, "external_userid"),
        identifier("unionid", contact.get("unionid"), "external_contact.unionid"),
    )
    traits = present(
        {
            "name": contact.get("name"),
            "gender": GENDERS.get(gender) if isinstance(gender := contact.get("gender"), int) else None,
            "corp_name": contact.get("corp_name"),
        }
    )
    events = []
    for index, follow in enumerate(follows):
        field = f"follow_user[{index}]"
        staff = str(required(follow.get("userid"), f"{field}.userid"))
        when = unix_time(required(follow.get("createtime"), f"{field}.createtime"), f"{field}.createtime")
        assert when is not None
        phones, unusable = _remark_phones(follow, index)
        properties = present(
            {
                "staff_userid": staff,
                "remark": follow.get("remark"),
                "description": follow.get("description"),
                "add_way": follow.get("add_way"),
                "state": follow.get("state"),
                "tags": _tags(follow),
                "contact_type": contact.get("type"),
                "unusable_remark_mobiles": unusable,
            }
        )
        events.append(
            Event(
                source="wecom",
                external_id=f"{external_userid}:followed:{staff}:{_stamp(when)}",
                type="followed",
                occurred_at=when,
                channel="wecom",
                identifiers=unique(*base_ids, *phones),
                traits=traits,
                properties=properties,
            )
        )
    return tuple(events)


WECOM = JsonLayout(kind="wechat-followers", fmt="wecom", source="wecom", parse=parse_contact)
