"""The conversation tracker: redeliveries, late arrivals, statuses, notes and derived figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liuyu.domain.errors import Conflict, InvalidInput
from liuyu.domain.service.conversation import Conversation, Message

T0 = datetime(2025, 11, 17, 2, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def customer(id: str, minutes: float, text: str = "在吗") -> Message:
    return Message(id, "in", at(minutes), text, "jd", "jd_buyer_01")


def agent(id: str, minutes: float, text: str = "您好，在的") -> Message:
    return Message(id, "out", at(minutes), text, "jd", "alice", "agent")


@pytest.fixture
def chat() -> Conversation:
    return Conversation("C-1", "jd", T0, customer_id="GOLD-ALICE")


def test_given_a_webhook_delivered_twice_when_recorded_then_one_message_is_kept(chat):
    assert chat.add_message(customer("m1", 0)) is True
    assert chat.add_message(customer("m1", 0)) is False
    assert [m.id for m in chat.messages] == ["m1"]
    assert len(chat.events) == 1


def test_given_messages_arriving_out_of_order_when_shown_then_they_are_in_timestamp_order(chat):
    chat.add_message(agent("m3", 2))
    chat.add_message(customer("m1", 0))
    chat.add_message(customer("m2", 1))
    assert [m.id for m in chat.messages] == ["m1", "m2", "m3"]
    assert chat.first_response_time == timedelta(minutes=2)


def test_given_a_conversation_when_figures_are_derived_then_first_response_and_longest_wait_follow_the_timeline(chat):
    for message in (customer("m1", 0), agent("m2", 1), customer("m3", 5), customer("m4", 6), agent("m5", 12)):
        chat.add_message(message)
    assert chat.first_response_time == timedelta(minutes=1)
    wait = chat.longest_customer_wait()
    assert (wait.message_id, wait.waited, wait.answered) == ("m3", timedelta(minutes=7), True)


def test_given_an_unanswered_customer_when_asked_at_a_later_time_then_the_open_wait_counts(chat):
    chat.add_message(customer("m1", 0))
    chat.add_message(agent("m2", 1))
    chat.add_message(customer("m3", 2))
    wait = chat.longest_customer_wait(now=at(32))
    assert (wait.message_id, wait.waited, wait.answered) == ("m3", timedelta(minutes=30), False)
    assert chat.awaiting_reply_since() == at(2)


def test_given_a_bot_answer_when_the_customer_waits_then_only_an_agent_reply_ends_the_wait(chat):
    chat.add_message(customer("m1", 0))
    chat.add_message(Message("b1", "out", at(0.1), "您好，我是智能助手", "jd", "bot", "bot"))
    chat.add_message(agent("m2", 4))
    assert chat.first_response_time == timedelta(minutes=4)


def test_given_a_resolved_conversation_when_the_customer_writes_then_it_reopens(chat):
    chat.add_message(customer("m1", 0))
    chat.change_status("resolved", at(10), "alice", "answered")
    chat.add_message(customer("m2", 30, "还是不行"))
    assert chat.status == "open"
    assert chat.reopened and chat.reopen_count == 1
    assert chat.status_history[-1].reason == "customer wrote"


def test_given_a_late_delivery_of_an_old_message_when_recorded_then_the_resolved_conversation_stays_resolved(chat):
    chat.add_message(customer("m1", 0))
    chat.change_status("resolved", at(10), "alice")
    chat.add_message(customer("m0", 5, "谢谢"))
    assert chat.status == "resolved"
    assert [m.id for m in chat.messages] == ["m1", "m0"]


def test_given_a_pending_conversation_when_the_customer_answers_then_it_opens_and_the_pause_ends(chat):
    chat.add_message(customer("m1", 0))
    chat.change_status("pending", at(5), "alice", "asked for the order number")
    chat.add_message(customer("m2", 65, "订单号 12345"))
    assert chat.status == "open"
    assert chat.pending_spans() == ((at(5), at(65)),)
    assert not chat.reopened


def test_given_a_resolved_conversation_when_someone_snoozes_it_then_the_move_is_refused(chat):
    chat.change_status("resolved", at(1), "alice")
    with pytest.raises(Conflict, match="resolved to snoozed"):
        chat.change_status("snoozed", at(2), "alice", snooze_until=at(60))


def test_given_a_snooze_without_a_wake_up_time_when_requested_then_it_is_refused(chat):
    with pytest.raises(InvalidInput, match="wake up"):
        chat.change_status("snoozed", at(1), "alice")


def test_given_a_snoozed_conversation_when_its_time_comes_then_it_opens_by_itself(chat):
    chat.change_status("snoozed", at(1), "alice", snooze_until=at(60))
    assert chat.wake_if_due(at(30)) is False
    assert chat.wake_if_due(at(61)) is True
    assert chat.status == "open"
    assert chat.status_history[-1].at == at(60)


def test_given_an_internal_note_when_added_then_colleagues_see_it_but_the_customer_thread_does_not(chat):
    chat.add_message(customer("m1", 0))
    chat.add_note("alice", "客户是老会员，注意语气", at(1))
    assert [n.text for n in chat.notes] == ["客户是老会员，注意语气"]
    assert [m.id for m in chat.messages] == ["m1"]


def test_given_the_stored_events_when_replayed_then_the_conversation_is_the_same(chat):
    chat.add_message(customer("m2", 3))
    chat.add_message(customer("m1", 0))
    chat.assign("alice", at(1), "router", "round robin")
    chat.add_message(agent("m3", 4))
    chat.change_status("resolved", at(10), "alice")
    chat.add_message(customer("m4", 20))
    chat.add_message(customer("m4", 20))
    copy = Conversation.replay("C-1", "jd", T0, chat.events, customer_id="GOLD-ALICE")
    assert copy.messages == chat.messages
    assert (copy.status, copy.assignee, copy.reopen_count) == (chat.status, chat.assignee, chat.reopen_count)
    assert copy.status_history == chat.status_history


def test_given_a_customer_message_marked_outbound_when_built_then_it_is_refused():
    with pytest.raises(InvalidInput, match="inbound"):
        Message("x", "out", T0, "hi", "jd", "buyer", "customer")
