"""docs/loyalty.md stays true: its example program loads, and every entry kind and bucket is described."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from liuyu.domain.loyalty.ledger import BUCKETS, KINDS
from liuyu.domain.loyalty.program import load_program

DOC = Path(__file__).resolve().parents[3] / "docs" / "loyalty.md"


def test_given_the_rule_yaml_example_in_the_docs_when_loaded_then_it_is_a_valid_program() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    example = next(b for b in blocks if b.startswith("code:"))
    program = load_program(yaml.safe_load(example))
    assert {r.kind for r in program.rules} == {
        "base_rate",
        "channel_rate",
        "category_rate",
        "campaign",
        "first_order",
        "birthday",
        "review",
    }


def test_given_the_ledger_model_when_documented_then_every_entry_kind_and_bucket_has_a_row() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in (*KINDS, *BUCKETS):
        assert f"| `{name}` |" in text, f"{name} is not described in docs/loyalty.md"
