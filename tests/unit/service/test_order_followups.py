"""Order follow-ups: payment reminders at most once and outside quiet hours, parcels chased, surveys sent."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from liuyu.domain.orders import Order
from liuyu.domain.service.followup import FollowupRules, Parcel, QuietHours, decide, reminder_report

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = FollowupRules()


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def order(status: str = "pending_payment", placed_at: datetime | None = None) -> Order:
    return Order("tmall", "TM-1001", status, Decimal("299.00"), placed_at=placed_at or sh(2025, 11, 17, 14, 0))


def kinds(actions) -> list[str]:
    return [action.kind for action in actions]


def test_given_an_order_unpaid_for_thirty_minutes_when_checked_then_a_payment_reminder_goes_now():
    actions = decide(order(), None, frozenset(), RULES, now=sh(2025, 11, 17, 14, 31))
    assert kinds(actions) == ["payment_reminder"]
    assert actions[0].at == sh(2025, 11, 17, 14, 31)
    assert actions[0].reason.startswith("unpaid 31 min")


def test_given_an_order_unpaid_for_ten_minutes_when_checked_then_nothing_is_sent_yet():
    assert decide(order(), None, frozenset(), RULES, now=sh(2025, 11, 17, 14, 10)) == []


def test_given_a_reminder_already_sent_when_checked_again_then_no_second_reminder():
    assert decide(order(), None, {"payment_reminder"}, RULES, now=sh(2025, 11, 17, 16, 0)) == []


def test_given_a_late_night_order_when_the_reminder_falls_in_quiet_hours_then_it_waits_for_the_morning():
    late = order(placed_at=sh(2025, 11, 17, 22, 0))
    actions = decide(late, None, frozenset(), RULES, now=sh(2025, 11, 17, 22, 45))
    assert kinds(actions) == ["payment_reminder"]
    assert actions[0].at == sh(2025, 11, 18, 9, 0)
    assert "held until quiet hours end" in actions[0].reason


def test_given_quiet_hours_inside_one_day_when_a_reminder_falls_in_them_then_it_waits_for_their_end():
    lunch = FollowupRules(quiet_hours=QuietHours(start=time(12, 0), end=time(13, 30)))
    actions = decide(order(placed_at=sh(2025, 11, 17, 11, 0)), None, frozenset(), lunch, now=sh(2025, 11, 17, 12, 5))
    assert actions[0].at == sh(2025, 11, 17, 13, 30)


def test_given_an_order_the_marketplace_will_close_when_checked_then_no_reminder_is_sent():
    stale = order(placed_at=sh(2025, 11, 16, 9, 0))
    assert decide(stale, None, frozenset(), RULES, now=sh(2025, 11, 17, 10, 0)) == []


@pytest.mark.parametrize("status", ["paid", "cancelled"])
def test_given_a_paid_or_cancelled_order_when_checked_then_no_reminder(status):
    assert decide(order(status), None, frozenset(), RULES, now=sh(2025, 11, 17, 15, 0)) == []


def test_given_no_tracking_update_for_48_hours_when_checked_then_the_customer_is_told_first_and_a_ticket_opens():
    parcel = Parcel("SF1234567890", "in_transit", last_update_at=sh(2025, 11, 15, 10, 0))
    actions = decide(order("shipped"), parcel, frozenset(), RULES, now=sh(2025, 11, 17, 11, 0))
    assert kinds(actions) == ["logistics_notice", "logistics_ticket"]
    assert "no tracking update on SF1234567890 for 49 h" in actions[0].reason


def test_given_a_parcel_update_47_hours_ago_when_checked_then_nothing_happens():
    parcel = Parcel("SF1234567890", "in_transit", last_update_at=sh(2025, 11, 15, 12, 0))
    assert decide(order("shipped"), parcel, frozenset(), RULES, now=sh(2025, 11, 17, 11, 0)) == []


def test_given_a_returned_parcel_at_night_when_checked_then_the_ticket_opens_now_and_the_notice_waits():
    parcel = Parcel("YT998", "returned", last_update_at=sh(2025, 11, 17, 23, 0))
    actions = decide(order("shipped"), parcel, frozenset(), RULES, now=sh(2025, 11, 17, 23, 30))
    assert [(a.kind, a.at) for a in actions] == [
        ("logistics_notice", sh(2025, 11, 18, 9, 0)),
        ("logistics_ticket", sh(2025, 11, 17, 23, 30)),
    ]
    assert "returned to sender" in actions[1].reason


def test_given_a_logistics_ticket_already_open_when_checked_again_then_nothing_is_repeated():
    parcel = Parcel("YT998", "returned", last_update_at=sh(2025, 11, 17, 10, 0))
    done = {"logistics_notice", "logistics_ticket"}
    assert decide(order("shipped"), parcel, done, RULES, now=sh(2025, 11, 18, 10, 0)) == []


def test_given_a_delivered_order_when_a_day_has_passed_then_one_satisfaction_survey_goes_out():
    delivered = sh(2025, 11, 17, 10, 0)
    parcel = Parcel("SF1", "delivered", last_update_at=delivered, delivered_at=delivered)
    assert decide(order("shipped"), parcel, frozenset(), RULES, now=sh(2025, 11, 17, 20, 0)) == []
    actions = decide(order("completed"), parcel, frozenset(), RULES, now=sh(2025, 11, 18, 10, 30))
    assert kinds(actions) == ["satisfaction_survey"]
    assert decide(order("completed"), parcel, {"satisfaction_survey"}, RULES, now=sh(2025, 11, 19, 10, 0)) == []


def test_given_a_refunded_order_when_its_parcel_comes_back_then_no_follow_up_is_made():
    parcel = Parcel("YT998", "returned", last_update_at=sh(2025, 11, 17, 10, 0))
    assert decide(order("refunded"), parcel, frozenset(), RULES, now=sh(2025, 11, 17, 11, 0)) == []


def test_given_a_store_pickup_completed_without_parcel_data_when_a_day_passed_then_the_survey_still_goes():
    picked_up = Order("store", "POS-77", "completed", Decimal("99.00"), completed_at=sh(2025, 11, 17, 10, 0))
    actions = decide(picked_up, None, frozenset(), RULES, now=sh(2025, 11, 18, 11, 0))
    assert kinds(actions) == ["satisfaction_survey"]


def test_given_a_workspace_that_turned_reminders_off_when_an_order_is_unpaid_then_nothing_is_sent():
    no_reminders = FollowupRules(enabled=("logistics", "satisfaction_survey"))
    assert decide(order(), None, frozenset(), no_reminders, now=sh(2025, 11, 17, 15, 0)) == []


def test_given_reminders_sent_when_reported_then_only_orders_paid_after_their_reminder_count():
    sent = {"TM-1": sh(2025, 11, 17, 14, 30), "TM-2": sh(2025, 11, 17, 14, 30), "TM-3": sh(2025, 11, 17, 14, 30)}
    orders = [
        Order("tmall", "TM-1", "paid", Decimal("10"), paid_at=sh(2025, 11, 17, 14, 40)),
        Order("tmall", "TM-2", "paid", Decimal("10"), paid_at=sh(2025, 11, 17, 14, 20)),
        Order("tmall", "TM-3", "pending_payment", Decimal("10")),
        Order("tmall", "TM-4", "paid", Decimal("10"), paid_at=sh(2025, 11, 17, 15, 0)),
    ]
    report = reminder_report(sent, orders)
    assert (report.sent, report.paid_after, report.conversion) == (3, 1, 0.3333)
