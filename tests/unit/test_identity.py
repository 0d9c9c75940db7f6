"""Identity resolution rules, on plain data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from liuyu.domain.customers.identifiers import Identifier, make_identifier
from liuyu.domain.customers.identity import IdentityGraph, ResolvedEvent

T0 = datetime(2026, 11, 11, tzinfo=UTC)


def ident(kind: str, value: str, verified: bool = False) -> Identifier:
    made = make_identifier(kind, value, verified=verified)
    assert made is not None
    return made


def graph() -> IdentityGraph:
    ids = itertools.count(1)
    return IdentityGraph(new_customer_id=lambda _seq: next(ids))


def ev(seq: int, *ids: Identifier) -> ResolvedEvent:
    return ResolvedEvent(seq=seq, identifiers=ids, occurred_at=T0, source="test", external_id=str(seq))


def test_the_same_phone_in_two_formats_is_one_customer() -> None:
    g = graph()
    out = g.resolve([ev(1, ident("phone", "138 0013 8000")), ev(2, ident("phone", "+86-13800138000"))])
    assert out.assignments[1] == out.assignments[2]
    assert len(out.new_customers) == 1


def test_a_platform_only_buyer_attaches_to_the_customer_with_a_phone() -> None:
    g = graph()
    out = g.resolve(
        [
            ev(1, ident("tmall_open_uid", "AAH-黑武士")),
            ev(2, ident("phone", "13800138000")),
            ev(3, ident("tmall_open_uid", "AAH-黑武士"), ident("phone", "13800138000")),
        ]
    )
    assert len({out.assignments[s] for s in (1, 2, 3)}) == 1
    assert [m.rule for m in out.merges] == ["attached_tmall_open_uid"]


def test_masked_values_never_merge() -> None:
    g = graph()
    out = g.resolve(
        [
            ev(1, ident("tmall_open_uid", "A1"), ident("phone", "138****1234")),
            ev(2, ident("jd_pin", "jd-zhang"), ident("phone", "138****1234")),
        ]
    )
    assert out.assignments[1] != out.assignments[2]
    assert not out.merges
    assert len(out.masked) == 2


def test_two_different_verified_phones_are_never_merged_automatically() -> None:
    g = graph()
    out = g.resolve(
        [
            ev(1, ident("phone", "13800138000", verified=True), ident("member_no", "GOLD-ALICE")),
            ev(2, ident("phone", "13900139000", verified=True), ident("email", "alice@example.com")),
            ev(3, ident("member_no", "GOLD-ALICE"), ident("email", "alice@example.com")),
        ]
    )
    assert out.assignments[1] != out.assignments[2]
    assert not out.merges
    assert out.conflicts and out.conflicts[0].reason == "different verified phones"


def test_a_merge_records_rule_and_evidence() -> None:
    g = graph()
    out = g.resolve(
        [
            ev(1, ident("wechat_openid", "o-1"), ident("unionid", "u-1")),
            ev(2, ident("email", "bob@example.com")),
            ev(3, ident("unionid", "u-1"), ident("email", "bob@example.com")),
        ]
    )
    assert len(out.merges) == 1
    merge = out.merges[0]
    assert merge.winner == out.assignments[1] and merge.rule == "shared_email"
    assert merge.evidence["event"] == {"seq": 3, "source": "test", "external_id": "3"}


def test_device_ids_do_not_join_two_platform_customers() -> None:
    g = graph()
    out = g.resolve(
        [
            ev(1, ident("app_user_id", "u1"), ident("device_id", "d1")),
            ev(2, ident("app_user_id", "u2"), ident("device_id", "d1")),
        ]
    )
    assert out.assignments[1] != out.assignments[2]


def test_separated_customers_stay_apart_on_replay() -> None:
    ids = itertools.count(1)
    g = IdentityGraph(new_customer_id=lambda _seq: next(ids), separations=[(1, 2)])
    out = g.resolve(
        [
            ev(1, ident("phone", "13800138000")),
            ev(2, ident("email", "carol@example.com")),
            ev(3, ident("phone", "13800138000"), ident("email", "carol@example.com")),
        ]
    )
    assert out.assignments[1] != out.assignments[2]
    assert out.conflicts[0].reason == "separated by an operator"


def test_opaque_platform_tokens_with_an_asterisk_are_not_masks() -> None:
    xid = make_identifier("jd_xid", "o*AAQ7ma8d-Vq0")
    assert xid is not None and not xid.masked
    phone = make_identifier("phone", "138****1234")
    assert phone is not None and phone.masked


def test_absurd_amounts_are_refused_as_money() -> None:
    import pytest

    from liuyu.domain.orders import parse_money

    with pytest.raises(ValueError):
        parse_money("1e30")
