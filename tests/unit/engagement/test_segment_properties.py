"""Any tree the builder can make survives the trip to text and to JSON unchanged."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from liuyu.domain.engagement.segment import (
    COMPARISONS,
    KEYWORDS,
    And,
    Call,
    Compare,
    InList,
    Node,
    Not,
    Or,
    from_json,
    parse,
    to_json,
    to_text,
)

names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
texts = st.text(alphabet="坚果已投诉上海 abc'\"-_1", max_size=8)
numbers = st.integers(-(10**9), 10**9) | st.decimals(
    min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False
).map(lambda d: d if d != d.to_integral_value() else d + Decimal("0.5"))
values = texts | numbers | st.booleans()
tests = st.one_of(
    st.builds(Compare, names, st.sampled_from(COMPARISONS), values),
    st.builds(InList, names, st.lists(values, min_size=1, max_size=3).map(tuple), st.booleans()),
    st.builds(Call, names, st.lists(values, min_size=1, max_size=3).map(tuple)),
)


def _flatten(kind: type[And] | type[Or], parts: list[Node]) -> Node:
    # "a and (b and c)" reads back as one And of three: build the flat form the parser gives.
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.operands if isinstance(part, kind) else (part,))
    return kind(tuple(flat))


trees = st.recursive(
    tests,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: _flatten(And, parts)),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: _flatten(Or, parts)),
    ),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(trees)
def test_text_written_from_a_tree_reads_back_as_the_same_tree(tree: Node) -> None:
    assert parse(to_text(tree)) == tree


@settings(max_examples=100, deadline=None)
@given(trees)
def test_the_json_form_reads_back_as_the_same_tree(tree: Node) -> None:
    assert from_json(json.loads(json.dumps(to_json(tree)))) == tree
