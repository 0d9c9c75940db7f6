"""Followers, WeCom contacts and app logins become followed / unfollowed / login events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from liuyu.channels.importers import RowResult, open_import
from liuyu.domain.eventlog import Event

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


def read(kind: str, fmt: str | None, name: str) -> list[RowResult]:
    return list(open_import(kind, fmt, DATA / name).rows())


def events_of(rows: list[RowResult]) -> list[Event]:
    return [event for row in rows for event in row.events]


def test_a_follower_who_left_gives_a_followed_and_an_unfollowed_event() -> None:
    rows = read("wechat-followers", None, "wechat_followers_gb18030.csv")
    events = [e for e in events_of(rows) if any(i.value == "oAbC1234567890xyzFollower02" for i in e.identifiers)]
    assert [e.type for e in events] == ["followed", "unfollowed"]
    assert events[1].occurred_at == datetime(2024, 1, 31, 23, 45, tzinfo=UTC)
    assert events[0].source == "wechat" and events[0].channel == "wechat"


def test_a_follower_carries_openid_and_unionid() -> None:
    first = read("wechat-followers", "wechat", "wechat_followers_gb18030.csv")[0].events[0]
    assert {(i.kind, i.value) for i in first.identifiers} == {
        ("wechat_openid", "oAbC1234567890xyzFollower01"),
        ("unionid", "ouNi0n0000000000000000001"),
    }
    assert first.traits["nickname"] == "小鹿"
    assert first.properties["follow_source"] == "扫描二维码"


def test_a_follower_without_any_time_is_rejected() -> None:
    rows = read("wechat-followers", "wechat", "wechat_followers_gb18030.csv")
    assert rows[-1].error is not None
    assert rows[-1].error.where == "wechat_followers_gb18030.csv:4"


def test_a_jsonl_follower_file_defaults_to_wecom_contacts() -> None:
    reader = open_import("wechat-followers", None, DATA / "wecom_contacts.jsonl")
    assert reader.fmt == "wecom"
    assert reader.source == "wecom"


def test_each_staff_member_who_added_a_wecom_contact_is_one_followed_event() -> None:
    rows = read("wechat-followers", "wecom", "wecom_contacts.jsonl")
    first = rows[0].events
    assert [e.properties["staff_userid"] for e in first] == ["zhangsan", "lisi"]
    assert first[0].external_id != first[1].external_id
    assert first[0].occurred_at == datetime.fromtimestamp(1705282300, UTC)
    assert first[0].properties["tags"] == ["客户等级/金卡", "兴趣/游戏"]


def test_wecom_remark_mobiles_become_unverified_phones_and_junk_is_kept_aside() -> None:
    event = read("wechat-followers", "wecom", "wecom_contacts.jsonl")[0].events[0]
    ids = {i.kind: i for i in event.identifiers}
    assert ids["wecom_external_userid"].value == "wmAbCdEf0000000000000000001"
    assert ids["unionid"].value == "ouNi0n0000000000000000001"
    assert ids["phone"].value == "+8613812345678" and not ids["phone"].verified
    assert event.properties["unusable_remark_mobiles"] == ["微信同号"]


def test_a_wecom_contact_from_the_batch_api_uses_follow_info() -> None:
    event = read("wechat-followers", "wecom", "wecom_contacts.jsonl")[1].events[0]
    phone = next(i for i in event.identifiers if i.kind == "phone")
    assert phone.masked


def test_a_wecom_contact_nobody_added_is_rejected() -> None:
    rows = read("wechat-followers", "wecom", "wecom_contacts.jsonl")
    assert rows[2].error is not None and rows[2].error.field == "follow_user"


def test_an_app_login_carries_user_device_and_an_sms_verified_phone() -> None:
    rows = read("app-logins", None, "app_logins.csv")
    login = rows[0].events[0]
    assert login.type == "login" and login.channel == "app" and login.source == "app"
    ids = {i.kind: i for i in login.identifiers}
    assert ids["app_user_id"].value == "u10001"
    assert ids["phone"].verified
    assert ids["device_id"].value == "IDFA-1111-2222"
    assert login.properties["platform"] == "ios"


def test_an_app_login_time_in_unix_seconds_is_accepted() -> None:
    rows = read("app-logins", "app", "app_logins.csv")
    assert rows[1].events[0].occurred_at == datetime.fromtimestamp(1717200000, UTC)


def test_a_password_login_does_not_verify_the_phone(tmp_path: Path) -> None:
    path = tmp_path / "logins.csv"
    path.write_text(
        "user_id,phone,device_id,login_time,platform,app_version,login_method\n"
        "u1,13812345678,d1,2024-06-01 08:00:00,android,5.0,password\n",
        encoding="utf-8",
    )
    login = next(iter(open_import("app-logins", "app", path).rows())).events[0]
    assert not next(i for i in login.identifiers if i.kind == "phone").verified


def test_an_app_login_without_user_is_rejected_naming_user_id() -> None:
    rows = read("app-logins", "app", "app_logins.csv")
    assert rows[2].error is not None and rows[2].error.field == "user_id"


def test_a_wecom_contact_with_an_odd_gender_value_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "contacts.jsonl"
    contact = '{"external_contact": {"external_userid": "wm1", "gender": [1]}, '
    path.write_text(contact + '"follow_user": [{"userid": "zhangsan", "createtime": 1705282300}]}\n', encoding="utf-8")
    (row,) = open_import("wechat-followers", "wecom", path).rows()
    assert row.error is None
    assert "gender" not in row.events[0].traits
