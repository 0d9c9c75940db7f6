"""Reading channel files as text: encoding detection and physical lines.

Chinese back-ends export UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8") or GB18030 (Excel on a
Chinese Windows). We decide once per file, before the first row, so a bad byte fails upfront
instead of half-way through an import.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from liuyu.domain.errors import InvalidInput

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class FileShape:
    encoding: str  # "utf-8", "utf-8-sig" or "gb18030"
    lines: int  # physical lines, the last one counted even without a final newline


def _decodes_as(path: Path, encoding: str) -> int | None:
    """Number of lines when the whole file decodes strictly in ``encoding``, else None."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return None
            lines += chunk.count(b"\n")
            last = chunk
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    if last and not last.endswith(b"\n"):
        lines += 1
    return lines


def inspect_file(path: Path) -> FileShape:
    """Detect the encoding (BOM, then strict UTF-8, then GB18030) and count lines in one pass each."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise InvalidInput(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from exc
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput("UTF-16 files are not supported; save as UTF-8 or GB18030", where=str(path))
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise InvalidInput("this is an Excel workbook, not text; save it as CSV (UTF-8) first", where=str(path))
    candidates = ("utf-8-sig",) if head.startswith(codecs.BOM_UTF8) else ("utf-8", "gb18030")
    for encoding in candidates:
        lines = _decodes_as(path, encoding)
        if lines is not None:
            return FileShape(encoding, lines)
    raise InvalidInput("the file is neither UTF-8 nor GB18030 text", where=str(path))


class _LineTap:
    """Hands lines to csv.reader and remembers them, so each record knows its lines and raw text."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pending: list[str] = []
        self.consumed = 0

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._pending.append(line)
        self.consumed += 1
        return line

    def take(self) -> tuple[int, str]:
        first = self.consumed - len(self._pending) + 1
        raw = "".join(self._pending).rstrip("\r\n")
        self._pending = []
        return first, raw


def sniff_delimiter(path: Path, encoding: str) -> str:
    """Tab when the first non-blank line has tabs and no commas (some back-ends export TSV as .csv)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        for line in handle:
            if line.strip():
                return "\t" if "\t" in line and "," not in line else ","
    return ","


def csv_records(path: Path, encoding: str, delimiter: str = ",") -> Iterator[tuple[int, str, list[str]]]:
    """(first physical line, raw text, cells) per CSV record; quoted newlines keep their record whole."""
    with path.open("r", encoding=encoding, newline="") as handle:
        tap = _LineTap(iter(handle))
        for cells in csv.reader(tap, delimiter=delimiter):
            line, raw = tap.take()
            yield line, raw, cells


def text_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(physical line, text without its line break) for JSON lines files."""
    with path.open("r", encoding=encoding, newline="") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\r\n")
