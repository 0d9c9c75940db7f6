"""Every send asks the guardrails: consent, suppression, complaints, sentiment, caps, quiet hours."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from liuyu.domain.errors import InvalidInput
from liuyu.services import engagement, inbox, messaging_setup, privacy
from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.service_tables import outbox
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.messaging_fixtures import T0, Shop, open_shop, person


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return open_shop(engine)


def test_a_marketing_send_with_an_opt_in_is_queued_with_the_rendered_text(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    decision = shop.send(shop.alice, "k1")
    assert decision.queued and decision.reason is None and decision.outbox_id and decision.not_before is None
    with shop.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == decision.outbox_id)).one()
    assert row.route == "messaging" and row.status == "pending"
    assert row.payload["to"] == "+8613800000001" and row.payload["to_national"] == "13800000001"
    assert row.payload["text"] == "小鹿您好，送您满199减30优惠券" and row.payload["template_code"] == "SMS_1001"
    [send] = shop.sends(shop.alice)
    assert (send["decision"], send["delivery_status"], send["outbox_id"]) == ("queued", "queued", decision.outbox_id)


def test_the_same_idempotency_key_returns_the_first_decision_and_queues_nothing_more(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    first = shop.send(shop.alice, "k1")
    assert shop.send(shop.alice, "k1") == first
    assert len(shop.sends(shop.alice)) == 1


def test_marketing_without_an_opt_in_is_skipped_but_a_transactional_message_goes(shop: Shop) -> None:
    assert shop.send(shop.alice, "m1").reason == "no_consent"
    assert shop.send(shop.alice, "t1", purpose="transactional").queued


def test_the_latest_consent_record_wins_and_an_opt_out_stops_service_messages_too(shop: Shop) -> None:
    shop.opt_in(shop.alice, at=T0 - timedelta(days=30))
    shop.opt_in(shop.alice, at=T0 - timedelta(days=1), status="opt_out")
    shop.opt_in(shop.alice, at=T0 - timedelta(days=60))  # recorded later, said earlier: does not count
    assert shop.send(shop.alice, "m1").reason == "opted_out"
    assert shop.send(shop.alice, "s1", purpose="service").reason == "opted_out"
    assert shop.send(shop.alice, "t1", purpose="transactional").queued
    with SqlUnitOfWork(shop.engine) as uow:
        log = messaging_setup.consents_of(uow, shop.ws, shop.alice)
    assert log["current"]["sms"] == "opt_out" and len(log["log"]) == 3
    assert log["log"][-1]["evidence"] == "☑ 我同意接收栖木的优惠短信"


def test_the_suppression_list_stops_every_purpose(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    with SqlUnitOfWork(shop.engine) as uow:
        messaging_setup.suppress(uow, shop.ws, "phone", "138 0000 0001", reason="投诉骚扰", actor="admin")
        uow.commit()
    for purpose in ("marketing", "service", "transactional"):
        decision = shop.send(shop.alice, f"x-{purpose}", purpose=purpose)
        assert (decision.queued, decision.reason) == (False, "suppressed")
    shop.opt_in(shop.alice, "email")
    assert shop.send(shop.alice, "e1", channel="email").queued  # the phone is suppressed, not the person


def test_at_most_two_marketing_messages_a_week_across_journeys(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    shop.opt_in(shop.alice, "email")
    assert shop.send(shop.alice, "j1", now=T0).queued
    assert shop.send(shop.alice, "j2", channel="email", now=T0 + timedelta(days=1)).queued
    capped = shop.send(shop.alice, "j3", now=T0 + timedelta(days=2))
    assert (capped.queued, capped.reason) == (False, "frequency_cap")
    assert shop.send(shop.alice, "t1", purpose="transactional", now=T0 + timedelta(days=2)).queued
    assert shop.send(shop.alice, "j4", now=T0 + timedelta(days=7, minutes=1)).queued  # j1 left the window
    reasons = [s["reason"] for s in shop.sends(shop.alice)]
    assert reasons.count("frequency_cap") == 1


def test_a_workspace_sets_its_own_cap(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    with SqlUnitOfWork(shop.engine) as uow:
        messaging_setup.change_guardrails(uow, shop.ws, {"caps": [{"limit": 1, "days": 30}]})
        uow.commit()
    assert shop.send(shop.alice, "j1").queued
    assert shop.send(shop.alice, "j2", now=T0 + timedelta(days=20)).reason == "frequency_cap"


def test_bad_guardrail_settings_name_the_field(shop: Shop) -> None:
    with SqlUnitOfWork(shop.engine) as uow, pytest.raises(InvalidInput, match=r"caps\[0\]\.days"):
        messaging_setup.change_guardrails(uow, shop.ws, {"caps": [{"limit": 2, "days": 0}]})


def test_a_send_in_quiet_hours_is_deferred_to_their_end_in_the_customers_time_zone(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    late = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    decision = shop.send(shop.alice, "late", now=late)
    assert decision.queued and decision.reason == "quiet_hours"
    assert decision.not_before == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
    with shop.engine.connect() as conn:
        due = conn.execute(select(outbox.c.next_attempt_at).where(outbox.c.id == decision.outbox_id)).scalar_one()
    assert due == decision.not_before
    assert shop.send(shop.alice, "late-t", purpose="transactional", now=late).not_before is None


def test_an_open_complaint_or_the_complaint_tag_suppresses_marketing(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    shop.opt_in(shop.bob)
    with SqlUnitOfWork(shop.engine) as uow:
        engagement.tag_customer(uow, shop.ws, shop.bob, "已投诉", reason="12315 投诉", actor="admin")
        uow.commit()
    assert shop.send(shop.bob, "b1").reason == "open_complaint"
    conversation = _message(shop, "快递三天没动，我要投诉", {"intent": {"label": "complaint", "score": 0.9}})
    assert shop.send(shop.alice, "a1").reason == "open_complaint"
    assert shop.send(shop.alice, "a-service", purpose="service").queued
    with SqlUnitOfWork(shop.engine) as uow:
        inbox.change_conversation(uow, shop.ws, conversation, status="resolved")
        uow.commit()
    assert shop.send(shop.alice, "a2").queued


def test_a_recent_strongly_negative_message_suppresses_marketing_for_a_week(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    _message(shop, "太失望了，再也不买了", {"sentiment": {"label": "negative", "score": 0.02}}, resolved=True)
    assert shop.send(shop.alice, "a1").reason == "negative_sentiment"
    assert shop.send(shop.alice, "a2", now=T0 + timedelta(days=8)).queued


def test_a_customer_without_the_channels_address_or_template_is_skipped_with_the_reason(shop: Shop) -> None:
    shop.opt_in(shop.bob, "email")
    assert shop.send(shop.bob, "b1", channel="email").reason == "no_address"
    assert shop.send(shop.bob, "b2", template="不存在").reason == "no_template"
    assert shop.send(shop.bob, "b3", channel="wechat_template").reason == "no_template"
    assert shop.send(999_999, "b4").reason == "unknown_customer"
    shop.opt_in(shop.bob)
    assert shop.send(shop.bob, "b5", name="阿布").reason == "template_error"  # no coupon given
    details = {s["reason"]: s["detail"] for s in shop.sends(shop.bob)}
    assert "coupon" in details["template_error"]


def test_a_bad_request_is_an_error_not_a_decision(shop: Shop) -> None:
    with pytest.raises(InvalidInput, match="channel"):
        shop.send(shop.alice, "x", channel="fax")
    with pytest.raises(InvalidInput, match="idempotency_key"):
        shop.send(shop.alice, "")


def _message(shop: Shop, text: str, analysis: dict[str, object], *, resolved: bool = False) -> int:
    line = {
        "channel": "wechat",
        "message_id": f"m-{abs(hash(text))}",
        "conversation_key": "alice",
        "text": text,
        "sent_at": (T0 - timedelta(hours=1)).isoformat(),
        "sender": {"phone": "13800000001"},
    }
    with SqlUnitOfWork(shop.engine) as uow:
        report = inbox.receive_messages(
            uow, shop.ws, [inbox.parse_chat_line(line, "test")], analyzer=lambda _t: [analysis]
        )
        if resolved:
            inbox.change_conversation(uow, shop.ws, report.conversations[0], status="resolved")
        uow.commit()
    return report.conversations[0]


def test_guardrail_times_are_utc_aware(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    shop.send(shop.alice, "k1", now=datetime(2026, 3, 3, 14, 30, tzinfo=UTC))
    assert shop.sends(shop.alice)[0]["not_before"].endswith("+00:00")


def test_quiet_hours_follow_the_time_zone_the_customers_events_name(shop: Shop) -> None:
    shop.opt_in(shop.bob)
    moved = replace(person("bob-profile", phone="13900000002"), traits={"timezone": "Europe/Berlin"})
    with SqlUnitOfWork(shop.engine) as uow:
        ingest_events(uow.ingest, shop.ws, [moved], now=T0)
        uow.commit()
    evening = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai, 15:30 in Berlin
    assert shop.send(shop.bob, "b1", now=evening).not_before is None
    night = datetime(2026, 3, 3, 22, 0, tzinfo=UTC)  # 23:00 in Berlin, 06:00 in Shanghai
    assert shop.send(shop.bob, "b2", now=night).not_before == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)


def test_consent_and_earlier_sends_follow_a_merge(shop: Shop) -> None:
    with SqlUnitOfWork(shop.engine) as uow:
        ingest_events(uow.ingest, shop.ws, [person("carol", email="carol@example.com")], now=T0)
        uow.commit()
    with shop.engine.connect() as conn:
        carol = conn.execute(
            select(t.identifiers.c.customer_id).where(t.identifiers.c.value == "carol@example.com")
        ).scalar_one()
    shop.opt_in(carol)
    shop.opt_in(shop.bob)
    assert shop.send(shop.bob, "b1").queued
    with SqlUnitOfWork(shop.engine) as uow:  # carol's email turns up with bob's phone: one person
        ingest_events(uow.ingest, shop.ws, [person("link", phone="13900000002", email="carol@example.com")], now=T0)
        uow.commit()
    assert shop.send(carol, "c1").queued  # addressed to the merged customer, with either opt-in
    capped = shop.send(shop.bob, "b2")
    assert capped.reason == "frequency_cap"  # bob's and carol's sends are one person's
    survivor = {s["customer_id"] for s in shop.sends(shop.bob)}
    assert len(survivor) == 1


def test_two_journeys_deciding_at_once_never_both_take_the_last_slot(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    with SqlUnitOfWork(shop.engine) as uow:
        messaging_setup.change_guardrails(uow, shop.ws, {"caps": [{"limit": 1, "days": 7}]})
        uow.commit()
    decisions: list[bool] = []

    def journey(n: int) -> None:
        decisions.append(shop.send(shop.alice, f"j{n}").queued)

    threads = [threading.Thread(target=journey, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(decisions) == [False, False, False, True]


def test_erasing_a_customer_cancels_their_queued_messages_and_blanks_addresses_and_proofs(shop: Shop) -> None:
    shop.opt_in(shop.alice)
    decision = shop.send(shop.alice, "k1")
    with SqlUnitOfWork(shop.engine) as uow:
        done = privacy.erase_customer(uow, shop.ws, shop.alice, actor="dpo")
        uow.commit()
    assert done["sends"] == 1
    with shop.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == decision.outbox_id)).one()
    assert (row.status, row.payload) == ("failed", {"erased": True})
    [send] = shop.sends(shop.alice)
    assert send["delivery_status"] == "failed"
    with SqlUnitOfWork(shop.engine) as uow:
        assert messaging_setup.consents_of(uow, shop.ws, shop.alice)["log"][0]["evidence"] == "[erased]"
