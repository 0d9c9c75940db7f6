"""Setting up a channel twice: running the same command again changes nothing and shows no secret."""

from __future__ import annotations

from sqlalchemy import Engine

from liuyu.services import accounts, inbox
from liuyu.storage.uow import SqlUnitOfWork


def test_configuring_an_existing_channel_with_nothing_to_change_is_a_no_op(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        first = inbox.configure_channel(uow, ws, "tmall", outbound_target="https://bridge.example.com/replies")
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        again = inbox.configure_channel(uow, ws, "tmall")
        uow.commit()
        stored = uow.service.channel(ws, "tmall")
    assert again == {
        "channel": "tmall",
        "outbound_kind": "webhook",
        "outbound_target": "https://bridge.example.com/replies",
    }
    assert stored is not None and stored["secret"] == first["secret"], "the bridge's secret keeps working"
    assert stored["outbound_secret"] == first["outbound_secret"]
