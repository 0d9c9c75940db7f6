"""The importers' entry point: which kinds and formats exist, and ``open_import`` to read one file.

Kinds and formats (``IMPORT_KINDS``)::

    orders            tmall, jd, douyin, pos (CSV exports); top, jos, doudian (API JSON lines)
    wechat-followers  wechat (official-account CSV); wecom (external contacts, JSON lines)
    app-logins        app (CSV)
    events            generic (CSV or JSON lines with a YAML mapping)
"""

from __future__ import annotations

from pathlib import Path

from liuyu.channels.importers import app, douyin, jd, pos, tmall, wechat
from liuyu.channels.importers.generic import generic_layout
from liuyu.channels.importers.reading import (
    CsvImportReader,
    CsvLayout,
    ImportReader,
    JsonLayout,
    JsonLinesImportReader,
    RowResult,
)
from liuyu.domain.errors import InvalidInput

__all__ = ["IMPORT_KINDS", "ImportReader", "RowResult", "open_import"]

LAYOUTS: dict[tuple[str, str], CsvLayout | JsonLayout] = {
    (layout.kind, layout.fmt): layout
    for layout in (
        tmall.REPORT,
        jd.EXPORT,
        douyin.EXPORT,
        pos.RECEIPTS,
        tmall.TOP,
        jd.JOS,
        douyin.DOUDIAN,
        wechat.FOLLOWERS,
        wechat.WECOM,
        app.LOGINS,
    )
}

IMPORT_KINDS: dict[str, tuple[str, ...]] = {
    "orders": ("tmall", "jd", "douyin", "pos", "top", "jos", "doudian"),
    "wechat-followers": ("wechat", "wecom"),
    "app-logins": ("app",),
    "events": ("generic",),
}

#: The format used when none is named; None means the kind needs one.
DEFAULT_FORMATS: dict[str, str | None] = {
    "orders": None,
    "wechat-followers": "wechat",
    "app-logins": "app",
    "events": "generic",
}

_JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


def _format_for(kind: str, fmt: str | None, path: Path) -> str:
    if kind not in IMPORT_KINDS:
        raise InvalidInput(f"unknown import kind; use one of {', '.join(IMPORT_KINDS)}", where=str(path), value=kind)
    if fmt is None:
        if kind == "wechat-followers" and path.suffix.lower() in _JSON_SUFFIXES:
            return "wecom"
        default = DEFAULT_FORMATS[kind]
        if default is None:
            formats = ", ".join(IMPORT_KINDS[kind])
            raise InvalidInput(f"name the format of this {kind} file: one of {formats}", where=str(path))
        return default
    if fmt not in IMPORT_KINDS[kind]:
        formats = ", ".join(IMPORT_KINDS[kind])
        raise InvalidInput(f"unknown format for {kind}; use one of {formats}", where=str(path), value=fmt)
    return fmt


def open_import(kind: str, fmt: str | None, path: Path, *, mapping: Path | None = None) -> ImportReader:
    """Open a channel file for reading; InvalidInput (naming the file) when it cannot be read as asked."""
    path = Path(path)
    fmt = _format_for(kind, fmt, path)
    if not path.is_file():
        raise InvalidInput("no such file", where=str(path))
    if fmt == "generic":
        if mapping is None:
            raise InvalidInput("generic files need a mapping file (--mapping map.yaml)", where=str(path))
        layout, source = generic_layout(path, Path(mapping))
    else:
        layout = LAYOUTS[(kind, fmt)]
        source = layout.source
    if isinstance(layout, JsonLayout):
        return JsonLinesImportReader(layout, path, source=source)
    return CsvImportReader(layout, path, source=source)
