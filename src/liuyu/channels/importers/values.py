"""Parsing single values the way channels write them: Excel quirks, local times, yuan and fen.

Every parser raises ``FieldError`` naming the field, so the reader can turn it into an
``InvalidInput`` with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from liuyu.domain.customers.identifiers import Identifier, looks_ciphertext, looks_masked, make_identifier
from liuyu.domain.orders import parse_money

#: China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for
#: every export and needs no tz database on the user's machine.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

#: Values exports write for "nothing here".
EMPTY = frozenset({"", "-", "--", "null", "NULL", "None", "none", "N/A", "无", "0001-01-01 00:00:00"})

_PLAIN_YUAN = re.compile(r"\d{1,12}(?:\.\d{1,2})?")
_CENT = Decimal("0.01")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_LOCAL_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d%H%M%S",
)


#: Sanity limits: larger figures are mangled cells, not sales.
MAX_MONEY = Decimal("1000000000000")
MAX_QUANTITY = 1_000_000_000


class FieldError(Exception):
    """One field of one row is unusable; the reader adds file and line."""

    def __init__(self, field: str, value: object, reason: str, *, line: int | None = None) -> None:
        super().__init__(f"{field}: {reason} ({value!r})")
        self.field = field
        self.value = value
        self.reason = reason
        self.line = line  # set for multi-row orders, to name the row at fault


def clean_cell(text: str) -> str:
    """Undo what Excel and back-ends wrap around cells: ``="123"``, tab prefixes, padding."""
    text = text.strip()
    if text[:2] == '="' and text[-1:] == '"' and len(text) >= 3:
        return text[2:-1].strip()
    if text[:1] == "\ufeff":
        return text[1:].strip()
    return text


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in EMPTY)


def text_or_none(value: object) -> str | None:
    if is_empty(value):
        return None
    return str(value).strip()


def order_number(value: object, field: str) -> str:
    """Order numbers are text; a float or ``1.23457E+17`` means Excel already lost digits."""
    if isinstance(value, float) or (isinstance(value, str) and _SCIENTIFIC.match(value.strip())):
        raise FieldError(field, value, "order number was mangled into scientific notation; re-export it as text")
    if isinstance(value, bool) or is_empty(value):
        raise FieldError(field, value, "order number is missing")
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        raise FieldError(field, value, "order number was turned into a decimal number; re-export it as text")
    return text


def money(value: object, field: str, *, unit: str = "yuan") -> Decimal | None:
    """Decimal yuan from '¥1,299.00', '1299' or fen integers; None when empty."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise FieldError(field, value, "not an amount of money")
    if unit == "yuan" and isinstance(value, str) and _PLAIN_YUAN.fullmatch(value):
        return Decimal(value).quantize(_CENT)  # the common "1299.00", without parse_money's clean-up
    try:
        amount = parse_money(value, unit=unit)
    except ValueError as exc:
        raise FieldError(field, value, str(exc)) from exc
    except ArithmeticError as exc:  # parse_money's quantize overflows on absurd amounts
        raise FieldError(field, value, "amount of money out of range") from exc
    if amount is None or amount > MAX_MONEY:
        raise FieldError(field, value, "amount of money out of range")
    return amount.copy_abs() if amount == 0 else amount  # no "-0.00"


def quantity(value: object, field: str, *, default: int | None = 1) -> int:
    """A whole, non-negative count; thousands separators and '2.0' are fine."""
    if is_empty(value):
        if default is None:
            raise FieldError(field, value, "quantity is missing")
        return default
    text = str(value).strip().replace(",", "")
    try:
        number = Decimal(text)
    except ArithmeticError as exc:
        raise FieldError(field, value, "not a whole number") from exc
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise FieldError(field, value, "not a whole, non-negative number")
    if number > MAX_QUANTITY:
        raise FieldError(field, value, "quantity out of range")
    return int(number)


def local_time(value: object, field: str, *, zone: tzinfo = SHANGHAI, fmt: str | None = None) -> datetime | None:
    """A local time string (Asia/Shanghai unless told) as an aware UTC datetime; None when empty.

    Digits-only values of 10 or 13 digits are read as Unix seconds or milliseconds, since some
    exports mix both.
    """
    if is_empty(value):
        return None
    text = str(value).strip()
    if fmt is not None:
        formats: tuple[str, ...] = (fmt,)
    elif text.isdigit() and len(text) in (10, 13):
        return unix_time(text, field)
    else:
        formats = _LOCAL_FORMATS
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":
            try:  # the common "2024-03-01 10:15:30", parsed in C
                parsed = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    for candidate in formats:
        try:
            parsed = datetime.strptime(text, candidate)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        expected = fmt or "YYYY-MM-DD HH:MM:SS"
        raise FieldError(field, value, f"not a time (expected {expected})") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def unix_time(value: object, field: str) -> datetime | None:
    """Unix seconds or milliseconds (told apart by size) as UTC; 0 and empty mean none."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise FieldError(field, value, "not a Unix time")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError as exc:
        raise FieldError(field, value, "not a Unix time in seconds or milliseconds") from exc
    if number == 0:
        return None
    if number < 0:
        raise FieldError(field, value, "negative Unix time")
    seconds = number / 1000 if number >= 100_000_000_000 else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise FieldError(field, value, "Unix time out of range") from exc


def identifier(kind: str, value: object, field: str, *, verified: bool = False) -> Identifier | None:
    """make_identifier, with the field named on error; masks stay masked."""
    if is_empty(value):
        return None
    try:
        return make_identifier(kind, value, verified=verified)
    except ValueError as exc:
        raise FieldError(field, value, str(exc)) from exc


def ciphertext(kind: str, value: object) -> Identifier | None:
    """Platform ciphertext is kept as issued and flagged masked: it never joins customers."""
    if is_empty(value):
        return None
    return Identifier(kind, str(value).strip(), masked=True)


def unique(*found: Identifier | None) -> tuple[Identifier, ...]:
    """Identifiers without the empty ones and without repeats, in first-seen order."""
    seen: dict[tuple[str, str], Identifier] = {}
    for item in found:
        if item is not None and item.key not in seen:
            seen[item.key] = item
    return tuple(seen.values())


def required(value: object, field: str) -> object:
    """The value itself; a FieldError when it is empty."""
    if is_empty(value):
        raise FieldError(field, value, "required value is missing")
    return value


def platform_phone(value: object, field: str) -> Identifier | None:
    """A phone field of a platform API object: a real number, a mask, or else ciphertext.

    These fields are masked or encrypted by design, so a value that is no phone number is kept
    as ciphertext rather than rejecting the order.
    """
    try:
        return identifier("phone", value, field)
    except FieldError:
        return ciphertext("phone", value)


def normalized_status(text: str) -> str:
    """Status text without the spaces and punctuation exports put between its halves."""
    return "".join(ch for ch in text if ch not in " \t，,、/；;：:（）()")


def looks_cipher(value: str) -> bool:
    """Platform ciphertext rather than a readable (or masked) value."""
    return not looks_masked(value) and looks_ciphertext(value)


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that hold something, for traits and properties."""
    return {key: value for key, value in values.items() if not is_empty(value) and value != [] and value != {}}
