"""Cleaning every text gets before any model sees it.

The rule, in order: HTML tags are dropped and entities unescaped; control characters become
spaces; full-width ASCII (``１２３``, ``ＡＢＣ``, ``！``) becomes half-width; traditional Chinese
becomes simplified (zhconv); runs of whitespace collapse to one space. The result is then cut
to its first ``MAX_CHARS`` characters and flagged ``truncated``. Entity spans refer to the
cleaned text, so callers show the cleaned text beside them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import zhconv

#: Texts longer than this after cleaning keep only their first MAX_CHARS characters.
#: Customer messages and reviews are far shorter; a 100 KB paste is almost always a log dump.
MAX_CHARS = 2000

#: Raw input beyond this is cut before cleaning, so a huge paste cannot cost time.
_RAW_LIMIT = MAX_CHARS * 8

_TAG = re.compile(r"<[^>]{0,500}>")
_SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")

# Full-width ASCII block U+FF01..U+FF5E maps to U+0021..U+007E; the ideographic space to a space.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH[0x3000] = 0x20


@dataclass(frozen=True, slots=True)
class CleanText:
    """A cleaned text, with what cleaning did to it."""

    text: str
    truncated: bool
    script: str  # "zh-Hans", "zh-Hant", "latin", "mixed", "other" or "empty"
    language: str  # "zh", "en", "other" or "unknown"


def to_half_width(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms."""
    return text.translate(_WIDTH)


def _drop_controls(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _control_replacement(ch) for ch in text)


def _control_replacement(ch: str) -> str:
    # Unprintable characters split words when they are whitespace, and vanish otherwise
    # (zero-width joiners inside emoji, BOMs, stray C0/C1 controls).
    return " " if ch.isspace() else ""


def detect_script(text: str) -> tuple[str, str]:
    """The script and language of an already cleaned text, judged from its letters."""
    if not text.strip():
        return "empty", "unknown"
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    if han == 0 and latin == 0:
        return "other", "unknown"
    if han and latin > 2 * han:
        return "mixed", "en"
    if han:
        return ("zh-Hans", "zh") if latin <= han else ("mixed", "zh")
    return "latin", "en"


def clean(raw: str | None) -> CleanText:
    """Clean one text by the module's rule; never raises on any ``str`` (or ``None``)."""
    if not raw:
        return CleanText("", False, "empty", "unknown")
    if not isinstance(raw, str):
        raw = str(raw)
    cut = len(raw) > _RAW_LIMIT
    text = raw[:_RAW_LIMIT]
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _drop_controls(text)
    text = to_half_width(text)
    simplified = zhconv.convert(text, "zh-cn")
    was_traditional = simplified != text
    text = _SPACE.sub(" ", simplified).strip()
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        cut = True
    script, language = detect_script(text)
    if was_traditional and script == "zh-Hans":
        script = "zh-Hant"
    return CleanText(text, cut, script, language)


def clean_for_model(raw: str | None) -> str:
    """The text the sentiment model trains and predicts on: cleaned and lower-cased."""
    return clean(raw).text.lower()
