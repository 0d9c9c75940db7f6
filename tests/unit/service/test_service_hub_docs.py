"""docs/service_hub.md stays true: every YAML example validates against the model it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from liuyu.domain.service.assignment import AssignmentPolicy
from liuyu.domain.service.calendar import BusinessCalendar
from liuyu.domain.service.followup import FollowupRules
from liuyu.domain.service.qa import QaRubric
from liuyu.domain.service.routing import RoutingTable
from liuyu.domain.service.rules import parse_rules
from liuyu.domain.service.sla import SlaPolicy
from liuyu.domain.service.ticket import TicketCategory

DOC = Path(__file__).resolve().parents[3] / "docs" / "service_hub.md"
MODELS = {
    "AssignmentPolicy": AssignmentPolicy,
    "FollowupRules": FollowupRules,
    "QaRubric": QaRubric,
    "RoutingTable": RoutingTable,
    "SlaPolicy": SlaPolicy,
    "TicketCategory": TicketCategory,
}


def yaml_examples() -> list[tuple[str, str]]:
    blocks = re.findall(r"```yaml\n# (\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return [(name, body) for name, body in blocks]


def test_given_the_service_hub_doc_when_read_then_every_rule_format_has_an_example():
    assert {name for name, _ in yaml_examples()} == {*MODELS, "BusinessCalendar"}


@pytest.mark.parametrize(("name", "body"), yaml_examples(), ids=[name for name, _ in yaml_examples()])
def test_given_a_yaml_example_in_the_doc_when_loaded_then_its_model_accepts_it(name, body):
    data = yaml.safe_load(body)
    if name == "BusinessCalendar":
        assert BusinessCalendar.from_config(**data).weekly
    else:
        parsed = parse_rules(MODELS[name], data)
        assert parsed.model_dump(exclude_unset=True).keys() == data.keys()
