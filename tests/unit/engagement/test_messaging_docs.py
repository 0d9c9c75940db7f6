"""docs/messaging.md stays true: every reason code is explained, and its examples are accepted."""

from __future__ import annotations

import json
import re
from pathlib import Path

from liuyu.domain.engagement.guardrails import REASONS, GuardrailSettings
from liuyu.services import messaging
from liuyu.services.messaging_setup import check_http_config

DOC = (Path(__file__).resolve().parents[3] / "docs" / "messaging.md").read_text(encoding="utf-8")


def test_every_reason_a_send_can_be_skipped_or_deferred_for_is_documented() -> None:
    setup_reasons = (
        messaging.UNKNOWN_CUSTOMER,
        messaging.NO_TEMPLATE,
        messaging.NO_PROVIDER,
        messaging.NO_ADDRESS,
        messaging.TEMPLATE_ERROR,
    )
    missing = [code for code in (*REASONS, *setup_reasons) if f"`{code}`" not in DOC]
    assert missing == []


def test_the_provider_examples_are_valid_http_settings() -> None:
    configs = re.findall(r"--kind http --name \S+ --config '(.*?)'", DOC, flags=re.S)
    assert len(configs) == 2
    for config in configs:
        check_http_config(json.loads(config))


def test_the_guardrail_settings_example_is_the_default() -> None:
    example = re.search(r"```json\n(\{\"caps\".*?)```", DOC, flags=re.S)
    assert example is not None
    assert GuardrailSettings.from_settings(json.loads(example.group(1))) == GuardrailSettings()
