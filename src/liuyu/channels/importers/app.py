"""App login log (CSV): who logged in, on which device, with which phone."""

from __future__ import annotations

from collections.abc import Sequence

from liuyu.channels.importers.reading import CsvLayout, CsvRow
from liuyu.channels.importers.values import identifier, local_time, present, required, unique
from liuyu.domain.eventlog import Event

#: Login methods that prove the phone: the user typed a code sent to it.
SMS_METHODS = frozenset({"sms", "短信", "验证码", "one_click", "一键登录"})


def parse_login(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
    """A login row; the phone is verified unless an optional login_method column names another method."""
    (row,) = rows
    user_id = str(required(row.get("user_id"), "user_id"))
    when = local_time(required(row.get("login_time"), "login_time"), "login_time")
    assert when is not None
    method = row.get("login_method").lower()
    ids = unique(
        identifier("app_user_id", user_id, "user_id"),
        identifier("phone", row.get("phone"), "phone", verified=not method or method in SMS_METHODS),
        identifier("device_id", row.get("device_id"), "device_id"),
    )
    device = row.get("device_id")
    external_id = f"{user_id}:login:{int(when.timestamp())}" + (f":{device}" if device else "")
    properties = present(
        {
            "platform": row.get("platform").lower(),
            "app_version": row.get("app_version"),
            "login_method": method,
        }
    )
    return (
        Event(
            source="app",
            external_id=external_id,
            type="login",
            occurred_at=when,
            channel="app",
            identifiers=ids,
            properties=properties,
        ),
    )


LOGINS = CsvLayout(
    kind="app-logins",
    fmt="app",
    source="app",
    required=("user_id", "login_time"),
    parse=parse_login,
    aliases={
        "用户ID": "user_id",
        "手机号": "phone",
        "设备ID": "device_id",
        "登录时间": "login_time",
        "平台": "platform",
    },
)
