"""Members, benefits per tier, and coupons from templates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from loyalty_helpers import T0, days, make_program, program_data

from liuyu.domain.errors import Conflict, InvalidInput, NotFound
from liuyu.domain.loyalty.benefit import benefits_now, consume
from liuyu.domain.loyalty.coupon import (
    Cart,
    CartLine,
    CouponNotApplicable,
    claim_batch_code,
    discount,
    expire,
    issue,
    make_code,
    redeem,
    return_on_refund,
)
from liuyu.domain.loyalty.member import (
    Member,
    birthday_ref,
    enroll,
    enroll_on_first_order,
    is_member_number,
    member_number,
    merged_member,
)
from liuyu.domain.loyalty.program import load_program

PROGRAM = make_program()
ALICE = 7
SECRET = b"workspace-secret"
MARCH = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)


def alice(birthday: date | None = date(1990, 3, 8)) -> Member:
    return enroll(PROGRAM, ALICE, member_no=member_number("88", 1), channel="miniprogram", at=T0, birthday=birthday)


def cart(*lines: tuple[str, str | None], channel: str = "app", shipping: str = "0") -> Cart:
    return Cart(channel, tuple(CartLine(Decimal(a), c) for a, c in lines), Decimal(shipping))


# -- members ----------------------------------------------------------------------------------


def test_given_a_member_number_when_one_digit_is_mistyped_then_the_check_digit_catches_it() -> None:
    number = member_number("88", 1234)
    assert is_member_number(number)
    typo = number[:-2] + str((int(number[-2]) + 1) % 10) + number[-1]
    assert not is_member_number(typo)


def test_given_an_unknown_channel_when_enrolling_then_the_error_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        enroll(PROGRAM, ALICE, member_no=member_number("88", 1), channel="myspace", at=T0)
    assert caught.value.field == "join_channel"


def test_given_auto_enrollment_when_a_buyer_places_a_first_order_then_they_become_a_member_from_that_channel() -> None:
    member = enroll_on_first_order(PROGRAM, None, ALICE, member_no=member_number("88", 2), channel="tmall", at=T0)
    assert member is not None and (member.join_channel, member.enrolled_by) == ("tmall", "first_order")
    off = make_program(auto_enroll_on_first_order=False)
    assert enroll_on_first_order(off, None, ALICE, member_no=member_number("88", 2), channel="tmall", at=T0) is None


def test_given_two_memberships_when_merged_then_the_earliest_join_counts_and_the_winners_number_stays() -> None:
    later = enroll(PROGRAM, 8, member_no=member_number("88", 9), channel="app", at=T0 + days(30))
    merged = merged_member(later, alice())
    assert (merged.member_no, merged.joined_at, merged.join_channel) == (later.member_no, T0, "miniprogram")


def test_given_a_birthday_in_march_when_asked_in_march_then_this_years_bonus_reference_is_given() -> None:
    assert birthday_ref(alice(), MARCH, PROGRAM) == "7:2026"
    assert birthday_ref(alice(), MARCH + days(30), PROGRAM) is None


# -- benefits ---------------------------------------------------------------------------------


def test_given_a_black_card_member_in_the_birthday_month_when_asked_then_every_benefit_is_listed() -> None:
    kinds = {b.kind: b.value for b in benefits_now(PROGRAM, alice(), "BLACK", MARCH)}
    assert kinds == {
        "discount_rate": "0.9",
        "free_shipping": "true",
        "priority_service": "true",
        "points_multiplier": "2",
        "birthday_gift": "手柄",
    }


def test_given_a_birthday_gift_when_consumed_twice_then_the_second_time_is_refused() -> None:
    taken = consume(PROGRAM, alice(), "BLACK", "birthday_gift", MARCH, (), channel="store")
    assert taken.key == "birthday_gift:7:2026"
    with pytest.raises(Conflict):
        consume(PROGRAM, alice(), "BLACK", "birthday_gift", MARCH + days(1), {taken.key}, channel="app")
    again_next_year = consume(PROGRAM, alice(), "BLACK", "birthday_gift", MARCH + days(365), {taken.key}, channel="app")
    assert again_next_year.key == "birthday_gift:7:2027"


def test_given_a_standing_benefit_or_a_missing_one_when_consumed_then_the_reason_is_clear() -> None:
    with pytest.raises(Conflict):
        consume(PROGRAM, alice(), "GOLD", "free_shipping", MARCH, (), channel="app")
    with pytest.raises(NotFound):
        consume(PROGRAM, alice(), "MEMBER", "birthday_gift", MARCH, (), channel="app")


def test_given_a_gold_member_when_asked_then_the_exclusive_coupon_is_offered_once_a_year() -> None:
    offered = [b for b in benefits_now(PROGRAM, alice(None), "GOLD", MARCH) if b.kind == "exclusive_coupon"]
    assert [(b.value, b.used) for b in offered] == [("GOLD-30", False)]
    used = {offered[0].once_key or ""}
    assert [b.used for b in benefits_now(PROGRAM, alice(None), "GOLD", MARCH, used) if b.consumable] == [True]


# -- coupons ----------------------------------------------------------------------------------


def test_given_a_batch_when_codes_are_made_then_they_are_unique_stable_and_depend_on_the_secret() -> None:
    codes = [make_code(SECRET, "2026-11", n) for n in range(2000)]
    assert len(set(codes)) == 2000
    assert make_code(SECRET, "2026-11", 5) == codes[5]
    assert make_code(b"other", "2026-11", 5) != codes[5]


def test_given_a_threshold_coupon_when_the_cart_is_below_200_then_it_does_not_apply_and_says_why() -> None:
    template = PROGRAM.template("GOLD-30")
    assert discount(template, PROGRAM, cart(("200", None))) == Decimal(30)
    with pytest.raises(CouponNotApplicable, match="needs 200"):
        discount(template, PROGRAM, cart(("199.99", None)))


def test_given_a_category_coupon_when_the_cart_mixes_categories_then_only_matching_lines_count() -> None:
    template = PROGRAM.template("PAD-50")
    assert discount(template, PROGRAM, cart(("30", "手柄"), ("500", "主机"))) == Decimal(30)
    with pytest.raises(CouponNotApplicable):
        discount(template, PROGRAM, cart(("500", "主机")))


def test_given_an_owned_channel_coupon_when_used_on_tmall_then_it_is_refused_and_in_the_app_it_works() -> None:
    template = PROGRAM.template("APP-10")
    with pytest.raises(CouponNotApplicable, match="own app"):
        discount(template, PROGRAM, cart(("99.99", None), channel="tmall"))
    assert discount(template, PROGRAM, cart(("99.99", None), channel="miniprogram")) == Decimal("9.99")


def test_given_a_non_stackable_coupon_when_combined_then_it_is_refused() -> None:
    [coupon] = issue(PROGRAM.template("GOLD-30"), [ALICE], T0, batch="B1", secret=SECRET)
    with pytest.raises(CouponNotApplicable, match="cannot be combined"):
        redeem(
            coupon,
            PROGRAM.template("GOLD-30"),
            PROGRAM,
            customer_id=ALICE,
            cart=cart(("300", None), shipping="10"),
            order_id="APP-1",
            at=T0 + days(1),
            others=(PROGRAM.template("SHIP"),),
        )


def test_given_an_issued_coupon_when_redeemed_twice_then_only_a_retry_of_the_same_order_succeeds() -> None:
    template = PROGRAM.template("GOLD-30")
    [coupon] = issue(template, [ALICE], T0, batch="B1", secret=SECRET)
    used, amount = redeem(coupon, template, PROGRAM, customer_id=ALICE, cart=cart(("300", None)), order_id="A", at=T0)
    assert (used.status, amount) == ("redeemed", Decimal(30))
    retry, _ = redeem(used, template, PROGRAM, customer_id=ALICE, cart=cart(("300", None)), order_id="A", at=T0)
    assert retry == used
    with pytest.raises(Conflict, match="already redeemed"):
        redeem(used, template, PROGRAM, customer_id=ALICE, cart=cart(("300", None)), order_id="B", at=T0)


def test_given_someone_elses_or_an_expired_coupon_when_redeemed_then_it_is_refused() -> None:
    template = PROGRAM.template("GOLD-30")
    [coupon] = issue(template, [ALICE], T0, batch="B1", secret=SECRET)
    big = cart(("300", None))
    with pytest.raises(CouponNotApplicable, match="another member"):
        redeem(coupon, template, PROGRAM, customer_id=8, cart=big, order_id="A", at=T0)
    with pytest.raises(CouponNotApplicable, match="expired"):
        redeem(coupon, template, PROGRAM, customer_id=ALICE, cart=big, order_id="A", at=T0 + days(30))
    assert expire(coupon, T0 + days(30)).status == "expired"
    assert expire(coupon, T0 + days(29)).status == "issued"


def test_given_a_refund_when_the_template_returns_coupons_then_the_coupon_can_be_used_again() -> None:
    pads, gold = PROGRAM.template("PAD-50"), PROGRAM.template("GOLD-30")
    coupon = claim_batch_code(pads, " pad50", ALICE, T0, secret=SECRET)
    assert (coupon.batch, coupon.code) == ("PAD50", claim_batch_code(pads, "PAD50", ALICE, T0, secret=SECRET).code)
    assert claim_batch_code(pads, "PAD50", 8, T0, secret=SECRET).code != coupon.code  # one code per member
    with pytest.raises(InvalidInput, match="not a batch code"):
        claim_batch_code(pads, "GOLD", ALICE, T0, secret=SECRET)
    used, _ = redeem(coupon, pads, PROGRAM, customer_id=ALICE, cart=cart(("99", "手柄")), order_id="A", at=T0)
    assert return_on_refund(used, pads, PROGRAM, order_id="A", at=T0 + days(3)).status == "issued"
    assert return_on_refund(used, pads, PROGRAM, order_id="A", at=T0 + days(31)).status == "expired"
    [g] = issue(gold, [ALICE], T0, batch="B1", secret=SECRET)
    g_used, _ = redeem(g, gold, PROGRAM, customer_id=ALICE, cart=cart(("300", None)), order_id="B", at=T0)
    assert return_on_refund(g_used, gold, PROGRAM, order_id="B", at=T0 + days(3)).status == "redeemed"


def test_given_one_batch_code_on_two_templates_when_loaded_then_the_second_is_named() -> None:
    data = program_data()
    data["coupon_templates"][1]["batch_codes"] = ["PAD50"]
    with pytest.raises(InvalidInput) as caught:
        load_program(data)
    assert caught.value.problems == [  # type: ignore[attr-defined]
        {
            "field": "coupon_templates.3.batch_codes",  # PAD-50 comes after the template that took it
            "reason": "this batch code belongs to another template",
            "value": "PAD50",
        }
    ]
