"""Identifiers and their normalization.

Phone numbers are compared in E.164. Masked values (``138****1234``, ``张**``) and platform
ciphertext are kept as delivered and flagged, because a merge on them would be a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

#: Identifiers that belong to one person: they merge customers.
STRONG_KINDS = frozenset({"phone", "email", "unionid", "member_no"})

#: Platform- and device-scoped identifiers: they attach to a customer, they never join two
#: customers that already hold strong identifiers.
PLATFORM_KINDS = frozenset(
    {
        "tmall_open_uid",
        "tmall_oaid",
        "tmall_nick",
        "jd_open_id",
        "jd_xid",
        "jd_pin",
        "douyin_open_id",
        "wecom_external_userid",
        "wechat_openid",
        "app_user_id",
        "device_id",
        "anonymous_id",
        "user_id",
    }
)

#: Identifiers that are too coarse to join two platform-only customers on their own.
DEVICE_KINDS = frozenset({"device_id", "anonymous_id"})

KINDS = STRONG_KINDS | PLATFORM_KINDS

#: Kinds a platform shows masked (``138****1234``, ``t**1``); opaque tokens such as JD's xid may
#: contain ``*`` of their own and are never read as masks.
MASKABLE_KINDS = frozenset({"phone", "email", "member_no", "tmall_nick", "jd_pin"})

_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STRIP_PHONE = re.compile(r"[\s\-()（）.]")


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier of a person as a channel delivered it.

    ``masked`` values are stored for display and search but never used to join customers.
    ``verified`` means the channel confirmed ownership (an SMS login, a member registration).
    """

    kind: str
    value: str
    masked: bool = False
    verified: bool = False

    @property
    def strong(self) -> bool:
        return self.kind in STRONG_KINDS

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)


def looks_masked(value: str) -> bool:
    """True for values a platform masked: any asterisk or a run of mask characters."""
    return "*" in value or "＊" in value or "●" in value or "•" in value


def looks_ciphertext(value: str) -> bool:
    """True for platform ciphertext (Douyin ``#…#``/``~…~`` envelopes, long base64 blobs)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "#~$":
        return True
    return (
        len(value) >= 32
        and " " not in value
        and not value.isdigit()
        and "@" not in value
        and (value.endswith("=") or re.fullmatch(r"[A-Za-z0-9+/=_-]{40,}", value) is not None)
    )


def normalize_phone(raw: str) -> str | None:
    """A phone number in E.164, or None when it cannot be one. Chinese mobiles take the fast path."""
    text = _STRIP_PHONE.sub("", raw.strip()).translate(_FULLWIDTH_DIGITS)
    if not text:
        return None
    match = _CN_MOBILE.match(text)
    if match:
        return "+86" + match.group(1)
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def make_identifier(kind: str, raw: object, *, verified: bool = False) -> Identifier | None:
    """Normalize one raw value into an Identifier; None for empty values.

    Raises ValueError for a kind liuyu does not know or a value that cannot be that kind.
    """
    if raw is None:
        return None
    value = str(raw).strip()
    if not value or value in {"-", "null", "None", "NULL", "0001-01-01 00:00:00"}:
        return None
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    if kind in MASKABLE_KINDS and looks_masked(value):
        return Identifier(kind, value, masked=True)
    if kind == "phone":
        phone = normalize_phone(value)
        if phone is None and looks_ciphertext(value):
            return Identifier(kind, value, masked=True)
        if phone is None:
            raise ValueError(f"not a phone number: {value!r}")
        return Identifier("phone", phone, verified=verified)
    if kind == "email":
        email = value.lower()
        if not _EMAIL.match(email):
            raise ValueError(f"not an email address: {value!r}")
        return Identifier("email", email, verified=verified)
    return Identifier(kind, value, verified=verified)


def mask_value(kind: str, value: str) -> str:
    """How an identifier is shown to roles that may not see personal data."""
    if not value or looks_masked(value):
        return value
    if kind == "phone":
        digits = value[3:] if value.startswith("+86") else value
        return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"
    if kind == "email":
        name, _, domain = value.partition("@")
        return (name[:1] + "***@" + domain) if domain else "***"
    if kind in {"name", "receiver_name"}:
        return value[:1] + "*" * max(1, len(value) - 1)
    if len(value) <= 6:
        return value[:1] + "***"
    return value[:3] + "***" + value[-2:]


def mask_name(name: str | None) -> str | None:
    """张三丰 → 张**; names already masked stay as they are."""
    if not name:
        return name
    return mask_value("name", name)
