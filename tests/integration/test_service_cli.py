"""``liuyu service``: set up a channel, import chat logs (twice), as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from liuyu.services import accounts
from liuyu.storage import tables
from liuyu.storage.uow import SqlUnitOfWork


def liuyu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liuyu.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def env(engine: Engine, db_url: str) -> dict[str, str]:
    with SqlUnitOfWork(engine) as uow:
        accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return {**os.environ, "LIUYU_DATABASE_URL": db_url, "LIUYU_WORKSPACE": "qimu", "COLUMNS": "200"}


def test_a_chat_log_is_imported_once_with_speaker_turns_in_time_order(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    turns = [
        {"speaker": "agent", "message_id": "a1", "text": "亲，在的", "sent_at": "2026-03-01T10:01:00+08:00"},
        {"speaker": "customer", "message_id": "c1", "text": "在吗", "sent_at": "2026-03-01T10:00:00+08:00"},
        {"speaker": "customer", "message_id": "c2", "text": "什么时候发货", "sent_at": "2026-03-01T10:02:00+08:00"},
    ]
    lines = [
        json.dumps({"channel": "jd", "conversation_key": "s-1", "sender": {"jd_pin": "jd_xiaolu"}, **t}) for t in turns
    ]
    chats = tmp_path / "chats.jsonl"
    chats.write_text("\n".join([*lines, '{"channel": "jd", "speaker": "bot"}', "not json"]) + "\n", encoding="utf-8")

    first = liuyu(env, "service", "import-chats", str(chats), "--no-analyze")
    again = liuyu(env, "service", "import-chats", str(chats), "--no-analyze")

    assert first.returncode == 1, "bad lines make the exit code say so"
    assert "line 4" in first.stdout and "line 5" in first.stdout
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert (summary["stored"], summary["rejected"]) == (3, 2)
    assert json.loads(again.stdout[again.stdout.index("{") :])["duplicate"] == 3
    with SqlUnitOfWork(engine) as uow:
        [conversation] = uow.service.inbox(accounts.workspace_id(uow.accounts, "qimu"))
        shown = [(m["direction"], m["text"]) for m in uow.service.conversation_messages(conversation["id"])]
    assert shown == [("in", "在吗"), ("out", "亲，在的"), ("in", "什么时候发货")]
    assert conversation["customer_id"] is not None


def test_a_channels_secret_is_shown_when_created_and_never_again(env: dict[str, str]) -> None:
    created = liuyu(env, "service", "channel", "wechat", "--outbound", "https://bridge.example/replies")
    changed = liuyu(env, "service", "channel", "wechat", "--kind", "webhook")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout[: created.stdout.rindex("}") + 1])["secret"].startswith("whsec_")
    assert "whsec_" not in changed.stdout
    assert json.loads(changed.stdout)["outbound_target"] == "https://bridge.example/replies"


def test_a_wecom_archive_lands_on_the_external_contact_once(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    chat = {"roomid": "", "action": "send"}
    records = [
        {"msgid": "m1", "from": "wmKhX01", "tolist": ["zhangsan"], "msgtime": 1772330400000, "msgtype": "text"}
        | chat
        | {"text": {"content": "在吗，订单还没到"}},
        {"msgid": "m2", "from": "zhangsan", "tolist": ["wmKhX01"], "msgtime": 1772330460000, "msgtype": "text"}
        | chat
        | {"text": {"content": "亲，我帮您查一下"}},
        {"msgid": "m3", "from": "wmKhX01", "tolist": ["zhangsan"], "msgtime": 1772330520000, "msgtype": "image"}
        | chat
        | {"image": {"md5sum": "ab", "sdkfileid": "x", "filesize": 10}},
        {"msgid": "m4", "action": "recall", "from": "wmKhX01", "tolist": ["zhangsan"], "msgtime": 1772330580000}
        | {"msgtype": "revoke", "revoke": {"pre_msgid": "m3"}},
    ]
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join([*map(json.dumps, records), '{"msgid": "m5", "from"']) + "\n", encoding="utf-8")

    first = liuyu(env, "service", "import-wecom-archive", str(archive), "--no-analyze")
    again = liuyu(env, "service", "import-wecom-archive", str(archive), "--no-analyze")

    assert first.returncode == 1, "a broken line makes the exit code say so"
    assert "line 5" in first.stdout
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert (summary["stored"], summary["skipped"], summary["rejected"]) == (3, 1, 1)
    repeat = json.loads(again.stdout[again.stdout.index("{") :])
    assert (repeat["stored"], repeat["duplicate"]) == (0, 3)
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.workspace_id(uow.accounts, "qimu")
        [conversation] = uow.service.inbox(ws)
        shown = [(m["direction"], m["text"]) for m in uow.service.conversation_messages(conversation["id"])]
    with engine.connect() as conn:
        by_contact = (tables.identifiers.c.kind == "wecom_external_userid") & (tables.identifiers.c.value == "wmKhX01")
        customer = conn.execute(select(tables.identifiers.c.customer_id).where(by_contact)).scalar_one()
    assert conversation["channel"] == "wecom"
    assert shown == [("in", "在吗，订单还没到"), ("out", "亲，我帮您查一下"), ("in", "[图片]")]
    assert conversation["customer_id"] == customer
