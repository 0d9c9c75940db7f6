"""Review and birthday bonuses: once per order or year, within the rule's caps, explained on the entry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from loyalty_helpers import T0, days, make_program, program_data

from liuyu.domain.loyalty.facts import AccountsMerged, BonusEarned, Enroll
from liuyu.domain.loyalty.member import parse_birthday
from liuyu.domain.loyalty.program import InvalidProgram, load_program
from liuyu.domain.loyalty.replay import LoyaltyBook

ALICE, BOB = 7, 8
REVIEW = {"id": "review", "kind": "review", "points": 20, "effective_from": "2026-01-01T00:00:00+08:00"}


def book_with(*customers: int, **changes: object) -> LoyaltyBook:
    book = LoyaltyBook(make_program(**changes))
    for customer in customers:
        book.apply(Enroll(customer, T0 - days(30)))
    return book


def review(customer: int, order: str, at: datetime = T0) -> BonusEarned:
    return BonusEarned(
        customer, "review", f"order:{order}", at, "app", (("order", order), ("review", f"app:r-{order}"))
    )


def test_given_a_review_when_posted_twice_then_the_bonus_is_earned_once_and_says_which_review() -> None:
    book = book_with(ALICE)
    first = book.apply(review(ALICE, "TM-1"))
    assert book.apply(review(ALICE, "TM-1")) == []
    assert [(e.kind, e.points, e.target) for e in first] == [("earn", 20, "available")]
    applied = first[0].explanation[0].as_dict()
    assert applied["rule"] == "review" and applied["inputs"] == {
        "channel": "app",
        "order": "TM-1",
        "review": "app:r-TM-1",
    }


def test_given_daily_and_monthly_caps_when_a_member_reviews_a_lot_then_bonuses_stop_at_the_caps() -> None:
    capped = {**REVIEW, "max_per_day": 2, "max_per_month": 3}
    rules = [r for r in program_data()["rules"] if r["id"] != "review"] + [capped]
    book = book_with(ALICE, rules=rules)
    same_day = [book.apply(review(ALICE, f"D{i}", T0 + days(0.01 * i))) for i in range(3)]
    assert [len(e) for e in same_day] == [1, 1, 0]
    later = [book.apply(review(ALICE, f"M{i}", T0 + days(1 + i))) for i in range(2)]
    assert [len(e) for e in later] == [1, 0]  # the month's third bonus, then the cap
    assert len(book.apply(review(ALICE, "APRIL", T0 + days(31)))) == 1  # a new month


def test_given_a_merged_member_when_both_customers_have_a_birthday_then_one_bonus_per_year() -> None:
    book = book_with(ALICE, BOB)
    book.apply(AccountsMerged(ALICE, BOB, T0))
    assert len(book.apply(BonusEarned(ALICE, "birthday", f"{ALICE}:2026", T0))) == 1
    assert book.apply(BonusEarned(BOB, "birthday", f"{BOB}:2026", T0 + days(1))) == []
    assert len(book.apply(BonusEarned(ALICE, "birthday", f"{ALICE}:2027", T0 + days(365)))) == 1


def test_given_no_birthday_rule_when_the_bonus_is_asked_then_nothing_is_posted() -> None:
    book = book_with(ALICE, rules=[r for r in program_data()["rules"] if r["kind"] != "birthday"])
    assert book.apply(BonusEarned(ALICE, "birthday", f"{ALICE}:2026", T0)) == []


def test_given_a_cap_on_a_birthday_rule_when_loaded_then_the_field_is_named() -> None:
    rules = program_data()["rules"] + [{**REVIEW, "id": "bd2", "kind": "birthday", "max_per_day": 1}]
    with pytest.raises(InvalidProgram) as caught:
        load_program(program_data(rules=rules))
    assert caught.value.problems[0]["field"] == f"rules.{len(rules) - 1}.max_per_day"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-05-12", date(1990, 5, 12)),
        ("1990/5/2", date(1990, 5, 2)),
        ("19900512", date(1990, 5, 12)),
        ("02-29", date(2000, 2, 29)),
        ("1990-13-01", None),
        ("soon", None),
        (None, None),
    ],
)
def test_birthdays_are_read_as_channels_send_them(text: str | None, expected: date | None) -> None:
    assert parse_birthday(text) == expected


def test_given_a_birthday_bonus_when_posted_late_at_night_in_beijing_then_the_local_year_counts() -> None:
    book = book_with(ALICE)
    new_year_eve = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 1 January 2027, 01:00 in Beijing
    assert len(book.apply(BonusEarned(ALICE, "birthday", f"{ALICE}:2027", new_year_eve))) == 1
    assert book.apply(BonusEarned(ALICE, "birthday", f"{ALICE}:2027b", new_year_eve + days(2))) == []
