"""The look-alike model for Chinese customers: who may be one person without a shared strong id.

A Tmall buyer and a JD buyer with the same receiver name, city and address, or two masked
phones with the same visible digits (``138****1234``), are likely one person; marketplaces
mask the very identifiers that would prove it. This module turns customer rows into the
columns the model compares and describes the model; scoring is in probabilistic.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from liuyu.matching.probabilistic import LinkageModel

_MASK_CHARS = "*＊●•"
_PUNCTUATION = re.compile(r"[\s,，。.、;；:：'\"“”‘’()（）\[\]【】#＃\-—_/\\|]+")
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千]+")
_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}
_ADMIN_SUFFIX = re.compile(r"(省|市|自治区|特别行政区|壮族|回族|维吾尔|区|县)")
_VISIBLE_PHONE = re.compile(r"^(?:\+?86)?(1\d{2})[*＊●•]{3,5}(\d{4})$")
_FULL_PHONE = re.compile(r"^(?:\+?86)?(1\d{2})\d{4}(\d{4})$")
_PLATFORM_OF_KIND = {
    "tmall": "tmall",
    "jd": "jd",
    "douyin": "douyin",
    "wecom": "wecom",
    "wechat": "wechat",
    "unionid": "wechat",
    "app": "app",
    "member": "store",
}


@dataclass(slots=True)
class CustomerRecord:
    """What the look-alike model knows of one live customer, as stored."""

    customer_id: int
    name: str | None = None
    province: str | None = None
    city: str | None = None
    address: str | None = None
    birthday: str | None = None
    phones: list[str] = field(default_factory=list)  # full or masked, as delivered
    platforms: set[str] = field(default_factory=set)


def platform_of_kind(kind: str) -> str | None:
    """The channel an identifier kind comes from (``jd_pin`` → ``jd``); None for phone, email…"""
    return _PLATFORM_OF_KIND.get(kind.split("_")[0])


def clean_text(value: str | None) -> str | None:
    """NFKC (full-width digits and letters become ASCII), no spaces or punctuation; None if empty."""
    if value is None:
        return None
    text = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", str(value))).lower()
    return text or None


def is_masked(value: str) -> bool:
    return any(char in value for char in _MASK_CHARS)


def normalize_name(raw: str | None) -> tuple[str | None, str | None]:
    """(full name, surname). A masked name (``张**``) keeps only its surname."""
    if raw is None:
        return None, None
    text = "".join(unicodedata.normalize("NFKC", raw).split())
    if not text:
        return None, None
    if is_masked(text):
        visible = text.strip(_MASK_CHARS + "*")
        return None, (visible[0] if visible and not is_masked(visible[0]) else None)
    return text, text[0]


def _numeral_to_int(text: str) -> int:
    """``十二`` → 12, ``二十三`` → 23, ``一百零五`` → 105, ``三〇二`` → 302."""
    if not any(char in _UNIT for char in text):
        return int("".join(str(_DIGIT[char]) for char in text))
    total, digit = 0, 0
    for char in text:
        if char in _UNIT:
            total += (digit or 1) * _UNIT[char]
            digit = 0
        else:
            digit = _DIGIT[char]
    return total + digit


def normalize_address(address: str | None, province: str | None = None, city: str | None = None) -> str | None:
    """An address reduced to what tells two homes apart.

    Drops the province and city (compared on their own), the administrative suffixes
    省/市/区/县, spaces and punctuation, and writes Chinese numerals as digits, so that
    ``浙江省杭州市西湖区文三路十二号3幢`` and ``杭州 西湖 文三路12号3栋`` become the same text.
    """
    text = clean_text(address)
    if text is None:
        return None
    for place in (province, city):
        place_text = clean_text(place)
        if not place_text:
            continue
        for variant in (place_text, _ADMIN_SUFFIX.sub("", place_text)):
            if variant and text.startswith(variant):
                text = text[len(variant) :]
                break
    text = _ADMIN_SUFFIX.sub("", text).replace("号楼", "栋").replace("幢", "栋").replace("座", "栋")
    text = _CN_NUMERAL.sub(lambda match: str(_numeral_to_int(match.group())), text)
    return text or None


def visible_phone_digits(phone: str) -> str | None:
    """The digits a marketplace leaves visible: first 3 and last 4 (``138****1234`` → ``1381234``)."""
    text = "".join(unicodedata.normalize("NFKC", phone).split()).replace("-", "")
    match = _VISIBLE_PHONE.match(text) or _FULL_PHONE.match(text)
    return match.group(1) + match.group(2) if match else None


def _place(value: str | None) -> str | None:
    text = clean_text(value)
    return _ADMIN_SUFFIX.sub("", text) or text if text else None


def prepare_customers(records: Iterable[CustomerRecord]) -> dict[str, list[Any]]:
    """The columns the model compares, one entry per customer (a dict of columns for Splink)."""
    columns: dict[str, list[Any]] = {
        "unique_id": [],
        "name": [],
        "surname": [],
        "province": [],
        "city": [],
        "address_norm": [],
        "birthday": [],
        "phone_visible": [],
    }
    for record in records:
        name, surname = normalize_name(record.name)
        province, city = _place(record.province), _place(record.city)
        address = normalize_address(record.address, record.province, record.city)
        visible = sorted({digits for phone in record.phones if (digits := visible_phone_digits(phone))})
        columns["unique_id"].append(record.customer_id)
        columns["name"].append(name)
        columns["surname"].append(surname)
        columns["province"].append(province)
        columns["city"].append(city)
        columns["address_norm"].append(address)
        columns["birthday"].append(_birthday(record.birthday))
        columns["phone_visible"].append(visible[0] if visible else None)
    return columns


def _birthday(value: str | None) -> str | None:
    text = clean_text(value)
    if not text:
        return None
    digits = re.sub(r"\D", "", text)
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if len(digits) == 8 else None


def customer_model() -> LinkageModel:
    """Name, place, address, birthday and visible phone digits, with priors for small workspaces.

    The priors (m: how often a true pair reaches a level, u: how often two strangers do) are
    guesses for Chinese retail data; with enough customers EM and random sampling replace them.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import block_on

    def level(sql: str, label: str, m: float, u: float) -> Any:
        return cll.CustomLevel(sql, label_for_charts=label).configure(m_probability=m, u_probability=u)

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.CustomLevel(
                "(name_l IS NULL AND surname_l IS NULL) OR (name_r IS NULL AND surname_r IS NULL)", "missing"
            ).configure(is_null_level=True),
            level("name_l = name_r", "exact", 0.80, 0.002),
            level(
                "surname_l = surname_r AND length(name_l) = length(name_r) AND levenshtein(name_l, name_r) = 1",
                "one character apart",
                0.08,
                0.002,
            ),
            level(
                "surname_l = surname_r AND (name_l IS NULL OR name_r IS NULL)", "same surname, one masked", 0.10, 0.05
            ),
            level("ELSE", "different", 0.02, 0.946),
        ],
    )
    place = cl.CustomComparison(
        output_column_name="place",
        comparison_levels=[
            cll.CustomLevel(
                "(city_l IS NULL AND province_l IS NULL) OR (city_r IS NULL AND province_r IS NULL)", "missing"
            ).configure(is_null_level=True),
            level("city_l = city_r", "same city", 0.85, 0.05),
            level("province_l = province_r", "same province", 0.08, 0.10),
            level("ELSE", "elsewhere", 0.07, 0.85),
        ],
    )
    # jaccard() compares character sets and is cheap; it gates the costlier levenshtein().
    similar = "jaccard(address_norm_l, address_norm_r)"
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel("address_norm_l IS NULL OR address_norm_r IS NULL", "missing").configure(
                is_null_level=True
            ),
            level("address_norm_l = address_norm_r", "same after normalizing", 0.55, 0.0001),
            level(
                f"{similar} >= 0.7 AND levenshtein(address_norm_l, address_norm_r) <= 3",
                "at most 3 characters apart",
                0.20,
                0.0001,
            ),
            level(f"{similar} >= 0.8", "mostly the same characters", 0.08, 0.0002),
            level(f"{similar} >= 0.6", "partly the same characters", 0.07, 0.015),
            level("ELSE", "different", 0.10, 0.9846),
        ],
    )
    birthday = cl.CustomComparison(
        output_column_name="birthday",
        comparison_levels=[
            cll.CustomLevel("birthday_l IS NULL OR birthday_r IS NULL", "missing").configure(is_null_level=True),
            level("birthday_l = birthday_r", "same day", 0.85, 0.0001),
            level("levenshtein(birthday_l, birthday_r) = 1", "one digit apart", 0.07, 0.002),
            level("substr(birthday_l, 1, 4) = substr(birthday_r, 1, 4)", "same year", 0.03, 0.03),
            level("ELSE", "different", 0.05, 0.9679),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.CustomLevel("phone_visible_l IS NULL OR phone_visible_r IS NULL", "missing").configure(
                is_null_level=True
            ),
            level("phone_visible_l = phone_visible_r", "same visible digits", 0.90, 0.0002),
            level("ELSE", "different visible digits", 0.10, 0.9998),
        ],
    )
    return LinkageModel(
        link_type="dedupe_only",
        comparisons=[name, place, address, birthday, phone],
        prediction_rules=[
            block_on("name", "city"),
            block_on("phone_visible"),
            block_on("address_norm", "city"),
            block_on("surname", "birthday", "city"),
        ],
        training_rules=[block_on("name", "city"), block_on("phone_visible")],
        deterministic_rules=[
            block_on("name", "phone_visible"),
            block_on("name", "address_norm"),
            block_on("name", "birthday", "city"),
        ],
        deterministic_recall=0.7,
    )


def records_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[CustomerRecord]:
    """CustomerRecords from plain dicts with the same keys (``phones`` and ``platforms`` optional)."""
    return [
        CustomerRecord(
            customer_id=row["customer_id"],
            name=row.get("name"),
            province=row.get("province"),
            city=row.get("city"),
            address=row.get("address"),
            birthday=row.get("birthday"),
            phones=list(row.get("phones") or []),
            platforms=set(row.get("platforms") or []),
        )
        for row in rows
    ]
