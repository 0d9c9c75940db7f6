"""Entities in customer texts: order, phone and tracking numbers, prices, products, sizes, colors, competitors.

Numbers are read by length and prefix, then a word just before them (订单, 快递, 顺丰 …) overrides
the guess. The formats chosen (see docs/nlp.md for the sources and caveats):

=====================  ====================================================================
order, Douyin          19 digits starting with 69 or 49 (checked before Taobao)
order, Taobao/Tmall    18 or 19 digits
order, JD              11 or 12 digits that are not a mobile number
order, Pinduoduo       ``YYMMDD-`` followed by 15 digits
tracking, SF           ``SF`` + 12-13 digits
tracking, JD           ``JD`` (+ up to 2 letters) + 11-13 digits
tracking, YTO          ``YT`` + 13 digits
tracking, EMS          ``E?`` + 9 digits + ``CN`` (UPU S10); 13 digits starting 10/11/50/51/95/97/98
tracking, ZTO          12 or 14 digits starting 73, 75, 76, 77 or 78
tracking, STO          15 digits starting 77; 12 digits starting 268/368/468/568/668/868/888/900
tracking, Yunda        13 digits starting 3 or 4; 15 digits starting 43 or 46
phone                  Chinese mobiles (with or without +86 and separators), landlines 0xx-xxxxxxxx,
                       400/800 hotlines; normalized to E.164 by ``normalize_phone``
=====================  ====================================================================

Money amounts and price ranges as customers type them (两三百块, 300以内, 五百左右, 1k-2k, 一千二)

Values are yuan as ``Decimal``. The rules:

* a range ``A-B`` / ``A到B`` / ``A~B`` gives ``[A, B]``; a magnitude written only on B applies to A
  when A is smaller without it (``1-2k`` is 1000-2000);
* two adjacent numerals before a magnitude are a range: 两三百 = 200-300, 三五千 = 3000-5000;
* 以内 / 以下 / 之内 / 不超过 / 不到 give ``[0, A]``; 以上 / 起 give ``[A, None]``;
* 左右 / 上下 / 差不多 / 大概 give the band ``A ± 10%`` (五百左右 = 450-550);
* a bare number counts as money only with a currency word (元 块 rmb ¥), a magnitude
  (百 千 万 k w), a range or bound word, or a price word just before it (价 预算 花了 …),
  and never when a counter follows it (次 天 个 件 …), so 三次了 and 等了3天 are not money.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz, process

from liuyu.domain.customers.identifiers import normalize_phone
from liuyu.domain.text import Entity
from liuyu.nlp.text import clean

__all__ = ["CatalogItem", "EntityExtractor", "PriceMention", "find_numbers", "find_prices", "find_products"]

# Money and price ranges ------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_MAGNITUDE = {"百": 100, "千": 1000, "k": 1000, "K": 1000, "万": 10000, "w": 10000, "W": 10000}

BAND = Decimal("0.10")

_CN = "零〇一二两三四五六七八九十百千万"
# Arabic with thousands separators | Arabic with an optional magnitude (1.5万, 2k, 1万2) |
# Chinese numerals starting with a digit or 十, so that 千万别买 and 万一 are not numbers.
_NUM = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    r"|\d+(?:\.\d+)?(?:[百千万kKwW](?:\d(?!\d))?)?"
    rf"|[零〇一二两三四五六七八九十][{_CN}]*)"
)
_CURRENCY_BEFORE = r"(?:[¥￥]|rmb|RMB)"
_CURRENCY_AFTER = r"(?:块钱|元钱|块|元|rmb|RMB|米(?=\W|$))"
_UPPER = r"(?:以内|以下|之内|内)"
_UPPER_BEFORE = r"(?:不超过|不到|最多|低于|少于)"
_LOWER = r"(?:以上|起|多)"
_ABOUT = r"(?:左右|上下)"
_ABOUT_BEFORE = r"(?:差不多|大概|大约|大致|约)"
_COUNTER = re.compile(
    r"^\s*(?:次|天|个|件|人|年|月|日|号|点|小时|分|秒|周|星期|斤|克|公斤|kg|g|ml|毫升|升|米|cm|厘米|码|岁|楼|层|条|双|瓶|箱|盒|包|份|单|遍|台|部|本|只|张|寸|英寸|%|倍)"
)
_PRICE_WORDS = re.compile(
    r"(?:价|预算|钱|花了|付了|贵|便宜|优惠|降|补差|差价|退了?|给了?|多少|价位|售价|卖|只要|才)\s*$"
)

_EXPRESSION = re.compile(
    rf"(?P<before>{_UPPER_BEFORE}|{_ABOUT_BEFORE})?\s*(?P<cur1>{_CURRENCY_BEFORE})?\s*"
    rf"(?P<a>{_NUM})\s*(?P<cur_a>{_CURRENCY_AFTER})?"
    rf"(?:\s*(?P<dash>-|~|到|至)\s*(?P<cur2>{_CURRENCY_BEFORE})?\s*(?P<b>{_NUM}))?"
    rf"\s*(?P<cur_b>{_CURRENCY_AFTER})?(?P<cents>\d(?!\d)|[一二两三四五六七八九](?![十百千万]))?"
    rf"\s*(?P<after>{_UPPER}|{_LOWER}|{_ABOUT})?"
)


@dataclass(frozen=True, slots=True)
class PriceMention:
    """An amount (``low == high``) or a range in yuan; ``high`` is None for open ranges (300以上)."""

    text: str
    span: tuple[int, int]
    low: Decimal
    high: Decimal | None

    @property
    def is_range(self) -> bool:
        return self.low != self.high


def parse_chinese_number(text: str) -> Decimal | None:
    """一千二 → 1200, 三万五 → 35000, 十五 → 15, 两百 → 200; None when it is no number."""
    if not text or any(ch not in _CN for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text):
        # Read digit by digit, as in 一二三 → 123, only for several digits.
        return Decimal("".join(str(_CN_DIGITS[ch]) for ch in text)) if len(text) > 1 else Decimal(_CN_DIGITS[text])
    total = 0
    section = 0
    digit: int | None = None
    last_unit = 1
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            section += (1 if digit is None else digit) * unit
            digit = None
            last_unit = unit
        else:  # 万
            section += digit or 0
            total += (section or 1) * 10000
            section = 0
            digit = None
            last_unit = 10000
    if digit is not None:
        # A trailing digit after a unit is one step below it: 一千二 = 1200, 三万五 = 35000.
        section += digit * (last_unit // 10 if last_unit >= 10 and text[-2] not in "零〇" else 1)
    return Decimal(total + section)


def _parse_arabic(text: str) -> tuple[Decimal, bool] | None:
    """'1.5万' → (15000, True), '1万2' → (12000, True), '300' → (300, False)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:([百千万kKwW])(\d)?)?", text.replace(",", ""))
    if not match:
        return None
    try:
        value = Decimal(match.group(1))
    except InvalidOperation:
        return None
    unit = match.group(2)
    if not unit:
        return value, False
    magnitude = _MAGNITUDE[unit]
    value *= magnitude
    if match.group(3):
        value += Decimal(match.group(3)) * magnitude / 10
    return value, True


def _parse(text: str) -> tuple[Decimal, bool, tuple[Decimal, Decimal] | None] | None:
    """(value, has_magnitude, adjacent-numeral range or None)."""
    if text[0].isdigit():
        parsed = _parse_arabic(text)
        return None if parsed is None else (parsed[0], parsed[1], None)
    has_magnitude = any(ch in "十百千万" for ch in text)
    pair = re.fullmatch(r"([一二两三四五六七八九])([一二两三四五六七八九])([十百千万])", text)
    if pair:
        low, high = _CN_DIGITS[pair.group(1)], _CN_DIGITS[pair.group(2)]
        if high > low:
            unit = _CN_UNITS.get(pair.group(3), 10000)
            return Decimal(low * unit), True, (Decimal(low * unit), Decimal(high * unit))
    value = parse_chinese_number(text)
    return None if value is None else (value, has_magnitude, None)


def find_prices(text: str) -> list[PriceMention]:
    """Every money amount or price range in a cleaned text, by the module's rules."""
    found: list[PriceMention] = []
    for match in _EXPRESSION.finditer(text):
        mention = _mention(text, match)
        if mention is not None:
            found.append(mention)
    return found


def _mention(text: str, match: re.Match[str]) -> PriceMention | None:
    a = _parse(match.group("a"))
    if a is None:
        return None
    value_a, magnitude_a, pair = a
    currency = bool(match.group("cur1") or match.group("cur_a") or match.group("cur2") or match.group("cur_b"))
    before, after = match.group("before"), match.group("after")
    end = match.end()
    if match.group("cents") and not (match.group("cur_a") or match.group("cur_b")):
        end = match.start("cents")  # a digit after a number is a cent part only after 块/元
    if not currency and _COUNTER.match(text[end : end + 3]):
        return None
    low, high = value_a, value_a
    if pair:
        low, high = pair
    ranged = bool(pair)
    if match.group("b"):
        b = _parse(match.group("b"))
        if b is None:
            return None
        value_b, magnitude_b, pair_b = b
        if pair_b:
            value_b = pair_b[1]
        raw_b = _leading_number(match.group("b"))
        if magnitude_b and not magnitude_a and raw_b and value_a <= raw_b:
            low = value_a * (value_b / raw_b)
        high = value_b
        ranged = True
    elif match.group("cents") and (match.group("cur_a") or match.group("cur_b")):
        cents = match.group("cents")
        low = high = value_a + Decimal(_CN_DIGITS.get(cents, cents if cents.isdigit() else 0)) / 10
    price_word = bool(_PRICE_WORDS.search(text[max(0, match.start() - 6) : match.start()]))
    bound = before or after
    if not (currency or magnitude_a or ranged or bound or price_word):
        return None
    if not (currency or ranged or bound or price_word) and value_a < 100 and not match.group("a")[0].isdigit():
        return None  # 十几 or 一百 alone is too often not money
    if after in ("以内", "以下", "之内", "内") or before in ("不超过", "不到", "最多", "低于", "少于"):
        low = Decimal(0)
    elif after in ("以上", "起", "多"):
        high = None
    elif after in ("左右", "上下") or before in ("差不多", "大概", "大约", "大致", "约"):
        low, high = low * (1 - BAND), high * (1 + BAND)
    if high is not None and high < low:
        return None
    start = match.start() if (before or match.group("cur1")) else match.start("a")
    stop = end if not match.group("cents") or currency else match.start("cents")
    return PriceMention(text[start:stop].strip(), (start, stop), _tidy(low), None if high is None else _tidy(high))


def _leading_number(text: str) -> Decimal | None:
    match = re.match(r"\d+(?:\.\d+)?", text.replace(",", ""))
    return Decimal(match.group(0)) if match else None


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (450.0 → 450, 3.50 → 3.5)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


# Numbers, products and attributes ----------------------------------------------------------

CARRIERS = {
    "顺丰": "SF",
    "圆通": "YTO",
    "中通": "ZTO",
    "申通": "STO",
    "韵达": "YUNDA",
    "京东快递": "JD",
    "京东物流": "JD",
    "邮政": "EMS",
    "ems": "EMS",
    "极兔": "JTEXPRESS",
}
_CARRIER_WORD = re.compile("|".join(sorted(CARRIERS, key=len, reverse=True)), re.IGNORECASE)
_TRACKING_WORD = re.compile(r"快递单?号?|运单号?|物流单?号?|单号")
_ORDER_WORD = re.compile(r"订单号?|订单编号|order", re.IGNORECASE)

_LETTERED_TRACKING = (
    (re.compile(r"(?<![A-Za-z0-9])SF\d{12,13}(?!\d)", re.IGNORECASE), "SF"),
    (re.compile(r"(?<![A-Za-z0-9])JD[A-Z]{0,2}\d{11,13}(?!\d)", re.IGNORECASE), "JD"),
    (re.compile(r"(?<![A-Za-z0-9])YT\d{13}(?!\d)", re.IGNORECASE), "YTO"),
    (re.compile(r"(?<![A-Za-z0-9])E[A-Z]\d{9}CN(?![A-Za-z0-9])", re.IGNORECASE), "EMS"),
)
_PDD_ORDER = re.compile(r"(?<!\d)\d{6}-\d{15}(?!\d)")
_DIGITS = re.compile(r"(?<![A-Za-z0-9])\d{11,19}(?![A-Za-z0-9])")
_PHONE = re.compile(
    r"(?<![\dA-Za-z])(?:(?:\+?86|0086)[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)"
    r"|(?<![\dA-Za-z])0\d{2,3}-\d{7,8}(?!\d)"
    r"|(?<![\dA-Za-z])[48]00-?\d{3}-?\d{4}(?!\d)"
)
_MOBILE = re.compile(r"1[3-9]\d{9}")

# Letter sizes only in capitals: a lone lower-case "m" or "s" in a chat is not a size.
_SIZE_LETTERS = re.compile(r"(?<![A-Za-z])(?:[2-5]?X{1,4}L|XS|S|M|L)(?![A-Za-z])")
_SIZE_OTHER = re.compile(
    r"均码|大码|小码|加大码|\d{2}(?:\.5)?码|\d{2,3}(?:cm|厘米)"
    r"|\d+(?:\.\d+)?(?:ml|毫升|l|升|kg|g|克|斤|寸|英寸|英尺)(?![A-Za-z])",
    re.IGNORECASE,
)
_COLOR_NAMES = (
    "玫瑰金|香槟金|深空灰|午夜绿|远峰蓝|曜石黑|象牙白|米白|藏青|卡其|酒红|墨绿|雾霾蓝|奶茶色|裸色|驼色|咖啡色|"
    "黑|白|红|橙|黄|绿|青|蓝|紫|粉|灰|棕|褐|金|银|米|杏"
)
_COLOR = re.compile(
    rf"(?:深|浅|亮|哑光|磨砂|暗)?(?:{_COLOR_NAMES})色|玫瑰金|香槟金|深空灰|午夜绿|远峰蓝|曜石黑|藏青|卡其|酒红|墨绿"
)


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """A product of the workspace's catalog; ``aliases`` are other names customers use."""

    sku: str
    name: str
    aliases: tuple[str, ...] = ()


def _context_before(text: str, start: int, width: int = 10) -> str:
    return text[max(0, start - width) : start]


def _classify_digits(number: str) -> tuple[str, str] | None:
    """(entity type, platform or carrier) for a bare run of digits, by length and prefix."""
    n = len(number)
    if n == 19 and number[:2] in ("69", "49"):
        return "order_number", "douyin"
    if n in (18, 19):
        return "order_number", "taobao"
    if n == 15 and number.startswith("77"):
        return "tracking_number", "STO"
    if n == 15 and number[:2] in ("43", "46"):
        return "tracking_number", "YUNDA"
    if n in (12, 14) and number[:2] in ("73", "75", "76", "77", "78"):
        return "tracking_number", "ZTO"
    if n == 12 and number[:3] in ("268", "368", "468", "568", "668", "868", "888", "900"):
        return "tracking_number", "STO"
    if n == 13 and number[:2] in ("10", "11", "50", "51", "95", "97", "98"):
        return "tracking_number", "EMS"
    if n == 13 and number[0] in "34":
        return "tracking_number", "YUNDA"
    if n in (11, 12):
        return "order_number", "jd"
    return None


def find_numbers(text: str) -> list[Entity]:
    """Order, tracking and phone numbers in a cleaned text."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []

    def add(entity: Entity) -> None:
        found.append(entity)
        taken.append(entity.span)

    def free(start: int, end: int) -> bool:
        return not any(start < e and s < end for s, e in taken)

    for pattern, carrier in _LETTERED_TRACKING:
        for m in pattern.finditer(text):
            add(Entity("tracking_number", m.group(0), m.span(), {"carrier": carrier, "number": m.group(0).upper()}))
    for m in _PDD_ORDER.finditer(text):
        if free(*m.span()):
            add(Entity("order_number", m.group(0), m.span(), {"platform": "pinduoduo", "number": m.group(0)}))
    for m in _PHONE.finditer(text):
        compact = re.sub(r"[ -]", "", m.group(0))
        said_order = _ORDER_WORD.search(_context_before(text, m.start())) or _TRACKING_WORD.search(
            _context_before(text, m.start())
        )
        if said_order and _MOBILE.fullmatch(compact):
            continue  # "订单号13812345678": trust the customer's word, it is read as a number below
        phone = normalize_phone(m.group(0))
        if phone and free(*m.span()):
            add(Entity("phone", m.group(0), m.span(), phone))
    for m in _DIGITS.finditer(text):
        if not free(*m.span()):
            continue
        number = m.group(0)
        before = _context_before(text, m.start())
        carrier_word = _CARRIER_WORD.search(before)
        guess = _classify_digits(number)
        said_order = _ORDER_WORD.search(before)
        if carrier_word and not _ORDER_WORD.search(before[carrier_word.end() :]):
            guess = ("tracking_number", CARRIERS[carrier_word.group(0).lower()])
        elif said_order:
            if guess is None or guess[0] != "order_number":
                guess = ("order_number", "unknown")
        elif _TRACKING_WORD.search(before) and (guess is None or guess[0] != "tracking_number"):
            guess = ("tracking_number", "unknown")
        if guess is None:
            continue
        kind, source = guess
        key = "platform" if kind == "order_number" else "carrier"
        add(Entity(kind, number, m.span(), {key: source, "number": number}))
    return found


def find_products(text: str, catalog: Sequence[CatalogItem], *, min_score: float = 75.0) -> list[Entity]:
    """Catalog products named in a cleaned text, matched fuzzily (rapidfuzz partial ratio).

    Names of 3 characters or fewer must appear exactly: fuzzy matching short names finds them everywhere.
    A score of 75 lets one typo through in a 4-character name (每日坚裹 for 每日坚果).
    """
    if not text or not catalog:
        return []
    lowered = text.lower()
    names: list[str] = []
    owners: list[CatalogItem] = []
    for item in catalog:
        for name in (item.name, *item.aliases):
            cleaned = clean(name).text.lower()
            if cleaned:
                names.append(cleaned)
                owners.append(item)
    best: dict[str, Entity] = {}
    for name, score, index in process.extract(
        lowered, names, scorer=fuzz.partial_ratio, score_cutoff=min_score, limit=20
    ):
        if len(name) <= 3 and name not in lowered:
            continue
        alignment = fuzz.partial_ratio_alignment(name, lowered)
        if alignment is None:
            continue
        start, end = alignment.dest_start, alignment.dest_end
        item = owners[index]
        entity = Entity("product", text[start:end], (start, end), {"sku": item.sku, "name": item.name}, score / 100)
        if item.sku not in best or best[item.sku].score < entity.score:
            best[item.sku] = entity
    return sorted(best.values(), key=lambda e: e.span)


def _find_attributes(text: str) -> list[Entity]:
    sizes = [*_SIZE_LETTERS.finditer(text), *_SIZE_OTHER.finditer(text)]
    found = [Entity("size", m.group(0), m.span(), m.group(0).upper()) for m in sizes]
    found += [Entity("color", m.group(0), m.span(), m.group(0)) for m in _COLOR.finditer(text)]
    return found


def _find_competitors(text: str, competitors: Iterable[str]) -> list[Entity]:
    lowered = text.lower()
    found: list[Entity] = []
    for brand in competitors:
        needle = clean(brand).text.lower()
        if not needle:
            continue
        start = lowered.find(needle)
        while start != -1:
            found.append(Entity("competitor", text[start : start + len(needle)], (start, start + len(needle)), brand))
            start = lowered.find(needle, start + len(needle))
    return found


class EntityExtractor:
    """All entity finders together; products and competitors come from the caller's workspace."""

    def __init__(self, catalog: Sequence[CatalogItem] = (), competitors: Iterable[str] = ()) -> None:
        self.catalog = list(catalog)
        self.competitors = list(competitors)

    def extract(self, text: str) -> list[Entity]:
        """Entities in one cleaned text, by start offset; a span claimed by a number is not read again as a price."""
        if not text:
            return []
        entities = find_numbers(text)
        taken = [e.span for e in entities]
        for price in find_prices(text):
            if any(price.span[0] < e and s < price.span[1] for s, e in taken):
                continue
            kind = "price_range" if price.is_range or price.high is None else "money"
            value = {"low": str(price.low), "high": None if price.high is None else str(price.high), "currency": "CNY"}
            entities.append(Entity(kind, price.text, price.span, value))
        entities += find_products(text, self.catalog)
        entities += _find_attributes(text)
        entities += _find_competitors(text, self.competitors)
        return sorted(entities, key=lambda e: (e.span, e.type))

    def extract_many(self, texts: Iterable[str]) -> list[list[Entity]]:
        return [self.extract(text) for text in texts]
