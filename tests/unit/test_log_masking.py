"""Request lines in the access log do not carry phone numbers or emails."""

from __future__ import annotations

import logging

from liuyu.api.log_masking import PersonalDataFilter, mask_text


def test_phones_and_emails_in_a_request_line_are_masked() -> None:
    line = "GET /api/v1/customers?q=13800138000&e=alice%40example.com HTTP/1.1"
    masked = mask_text(line)
    assert "13800138000" not in masked and "138****8000" in masked
    assert "alice" not in masked and "a***%40example.com" in masked


def test_the_filter_masks_uvicorn_style_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s"',
        ("127.0.0.1", "GET", "/console/customers?q=+8613912345678"),
        None,
    )
    PersonalDataFilter().filter(record)
    assert "13912345678" not in record.getMessage() and "139****5678" in record.getMessage()
