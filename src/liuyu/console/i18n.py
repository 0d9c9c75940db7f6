"""Console translations from Babel ``.po`` catalogs: msgids are English, zh_CN is the default locale."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
CATALOGS = Path(__file__).parent / "locales"


@lru_cache(maxsize=8)
def _messages(locale: str) -> dict[str, str]:
    path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


def gettext_for(locale: str):  # type: ignore[no-untyped-def]
    messages = _messages(locale if locale in LOCALES else DEFAULT_LOCALE)

    def gettext(text: str) -> str:
        return messages.get(text, text)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    return gettext, ngettext


def local_time(moment: datetime | None, locale: str, tz: str = "Asia/Shanghai") -> str:
    """Times are stored in UTC and shown in the workspace's zone."""
    if moment is None:
        return "-"
    return format_datetime(moment.astimezone(ZoneInfo(tz)), "yyyy-MM-dd HH:mm", locale=locale)
