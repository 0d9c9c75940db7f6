"""The workspace's send decisions as the console shows them: filtered by reason, newest first, and
counted per reason over a window (quiet hours defer, every other reason skips)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from liuyu.domain.errors import InvalidInput
from liuyu.services import messaging_setup
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.messaging_fixtures import open_shop

NOW = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai: inside the default quiet hours


def test_decisions_filter_by_reason_and_count_per_reason_within_the_window(engine: Engine) -> None:
    shop = open_shop(engine)
    shop.send(shop.bob, "old", now=NOW - timedelta(days=40))  # no consent, outside a 30-day window
    shop.send(shop.bob, "b1", now=NOW - timedelta(days=2))
    shop.send(shop.bob, "b2", now=NOW - timedelta(days=1))
    shop.opt_in(shop.alice, at=NOW - timedelta(days=50))
    shop.send(shop.alice, "late", now=NOW)
    with SqlUnitOfWork(engine) as uow:
        shown = messaging_setup.workspace_decisions(uow, shop.ws, reason="no_consent", days=30, now=NOW)
        everything = messaging_setup.workspace_decisions(uow, shop.ws, days=30, now=NOW)
        with pytest.raises(InvalidInput) as bad:
            messaging_setup.workspace_decisions(uow, shop.ws, reason="because", now=NOW)
    assert [s["idempotency_key"] for s in shown["sends"]] == ["b2", "b1", "old"]
    assert (
        shown["reasons"]
        == everything["reasons"]
        == [
            {"reason": "no_consent", "count": 2, "effect": "skipped"},
            {"reason": "quiet_hours", "count": 1, "effect": "deferred"},
        ]
    )
    assert [s["idempotency_key"] for s in everything["sends"]] == ["late", "b2", "b1", "old"]
    assert bad.value.field == "reason" and "no_consent" in str(bad.value)
