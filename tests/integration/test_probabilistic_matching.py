"""Look-alike customers become merge suggestions for review, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select, update

from liuyu.jobs.identity_suggestions import suggest_merges
from liuyu.matching.customers import (
    CustomerRecord,
    customer_model,
    normalize_address,
    normalize_name,
    prepare_customers,
    visible_phone_digits,
)
from liuyu.matching.probabilistic import score_pairs
from liuyu.matching.synthetic import synthetic_customers
from liuyu.storage import tables as t

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
WORKSPACE = 1

# (id, name, province, city, address, birthday)
PEOPLE = [
    (1, "李秀英", "浙江省", "杭州市", "浙江省杭州市西湖区文三路12号黄龙花园3幢502室", "1985-03-14"),
    (2, "李秀英", "浙江省", "杭州市", "杭州 西湖区 文三路十二号黄龙花园3栋502室", None),
    (3, "王伟", "上海市", "上海市", "上海市浦东新区张杨路500号时代广场1801室", "1990-07-01"),
    (4, "王伟", "上海市", "上海市", "上海市闵行区七莘路3388号万科城21号楼1102室", "1978-11-23"),
    (5, "陈静", "广东省", "深圳市", "广东省深圳市南山区科技园科苑路15号", "1992-02-02"),
    (6, "赵磊", "四川省", "成都市", "四川省成都市武侯区人民南路四段27号", "1988-08-08"),
]
# (customer id, kind, value): each masked phone of the look-alike pair shows the same digits
IDENTIFIERS = [(1, "tmall_nick", "t**1"), (2, "jd_pin", "j***8"), (3, "tmall_nick", "w**9"), (4, "jd_pin", "w***x")]
MASKED = [(1, "phone", "138****5678"), (2, "phone", "138****5678"), (3, "phone", "139****0001")]


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(t.workspaces), [{"id": WORKSPACE, "slug": "heiwushi", "name": "黑武士", "created_at": NOW}])
        conn.execute(
            insert(t.customers),
            [
                {
                    "id": cid,
                    "workspace_id": WORKSPACE,
                    "anchor_seq": cid,
                    "name": name,
                    "province": province,
                    "city": city,
                    "address": address,
                    "birthday": birthday,
                }
                for cid, name, province, city, address, birthday in PEOPLE
            ],
        )
        conn.execute(
            insert(t.identifiers),
            [
                {"workspace_id": WORKSPACE, "kind": kind, "value": value, "customer_id": cid, "first_seq": cid}
                for cid, kind, value in IDENTIFIERS
            ],
        )
        conn.execute(
            insert(t.masked_identifiers),
            [
                {"workspace_id": WORKSPACE, "customer_id": cid, "kind": kind, "value": value}
                for cid, kind, value in MASKED
            ],
        )


def _suggestions(engine: Engine) -> list[dict[str, object]]:
    s = t.merge_suggestions
    with engine.connect() as conn:
        rows = conn.execute(select(s).where(s.c.workspace_id == WORKSPACE).order_by(s.c.customer_a, s.c.customer_b))
        return [dict(row) for row in rows.mappings()]


def test_a_tmall_and_a_jd_buyer_at_one_address_become_one_pending_suggestion(engine: Engine) -> None:
    _seed(engine)

    produced = suggest_merges(engine, WORKSPACE)

    rows = _suggestions(engine)
    assert produced == 1
    assert [(row["customer_a"], row["customer_b"], row["status"]) for row in rows] == [(1, 2, "pending")]
    evidence = rows[0]["evidence"]
    assert evidence["fields"]["name"]["level"] == "exact"
    assert evidence["fields"]["address"]["level"] == "same after normalizing"
    assert evidence["fields"]["phone"]["level"] == "same visible digits"
    assert evidence["platforms"] == {"a": ["tmall"], "b": ["jd"]}
    assert rows[0]["probability"] >= 0.9


def test_namesakes_in_one_city_with_different_homes_are_not_suggested(engine: Engine) -> None:
    _seed(engine)

    suggest_merges(engine, WORKSPACE)

    pairs = {(row["customer_a"], row["customer_b"]) for row in _suggestions(engine)}
    assert (3, 4) not in pairs


def test_the_job_never_merges_anyone(engine: Engine) -> None:
    _seed(engine)

    suggest_merges(engine, WORKSPACE)

    with engine.connect() as conn:
        merged = conn.execute(select(t.customers.c.id).where(t.customers.c.merged_into.is_not(None))).all()
        merges = conn.execute(select(t.merges)).all()
    assert merged == [] and merges == []


def test_running_twice_keeps_one_suggestion_and_leaves_a_rejected_one_alone(engine: Engine) -> None:
    _seed(engine)
    suggest_merges(engine, WORKSPACE)
    s = t.merge_suggestions
    with engine.begin() as conn:
        conn.execute(update(s).values(status="rejected", decided_at=NOW, decided_by="ops@heiwushi"))

    produced = suggest_merges(engine, WORKSPACE)

    rows = _suggestions(engine)
    assert produced == 0
    assert [(row["status"], row["decided_by"]) for row in rows] == [("rejected", "ops@heiwushi")]


def test_merged_away_and_erased_customers_are_not_suggested(engine: Engine) -> None:
    _seed(engine)
    with engine.begin() as conn:
        conn.execute(update(t.customers).where(t.customers.c.id == 2).values(merged_into=1))

    suggest_merges(engine, WORKSPACE)

    assert _suggestions(engine) == []


def test_a_stricter_threshold_withdraws_pending_suggestions_it_no_longer_supports(engine: Engine) -> None:
    _seed(engine)
    suggest_merges(engine, WORKSPACE)

    suggest_merges(engine, WORKSPACE, threshold=1.0)

    assert _suggestions(engine) == []


def test_addresses_written_two_ways_normalize_to_the_same_text() -> None:
    assert normalize_address("浙江省杭州市西湖区文三路12号3幢", "浙江省", "杭州市") == normalize_address(
        "杭州 西湖 文三路十二号3栋", "浙江", "杭州市"
    )


def test_masked_names_keep_their_surname_and_masked_phones_their_visible_digits() -> None:
    assert normalize_name("张**") == (None, "张")
    assert visible_phone_digits("138****1234") == visible_phone_digits("+8613800001234") == "1381234"


@pytest.mark.slow
def test_the_model_trained_without_labels_finds_most_synthetic_look_alikes_and_few_wrong_ones() -> None:
    people = synthetic_customers(3000, seed=11)

    pairs = score_pairs(prepare_customers(people.customers), customer_model(), threshold=0.9)

    predicted = {(min(p.left, p.right), max(p.left, p.right)) for p in pairs}
    correct = len(predicted & people.true_pairs)
    assert correct / len(predicted) >= 0.95
    assert correct / len(people.true_pairs) >= 0.75


def test_a_workspace_of_strangers_with_nothing_to_learn_from_gets_no_suggestions() -> None:
    strangers = [
        CustomerRecord(i, f"顾客{i}", "浙江省", "杭州市", f"文三路{i}号", None, phones=[f"138****{i:04d}"])
        for i in range(1, 401)
    ]

    assert score_pairs(prepare_customers(strangers), customer_model(), threshold=0.5) == []
