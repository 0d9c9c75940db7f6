"""Readers that turn a channel file into ``RowResult``s, one per data row, in file order.

A layout says which columns a file must have and how one row (or one group of rows that form
one order) becomes events; the readers here do everything else: encodings, Excel quirks, line
numbers, and turning a ``FieldError`` into an ``InvalidInput`` that names file, line and field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liuyu.channels.importers.textfile import csv_records, inspect_file, sniff_delimiter, text_lines
from liuyu.channels.importers.values import FieldError, clean_cell, is_empty
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import Event


@dataclass(frozen=True)
class RowResult:
    """What one data row became.

    ``events`` is empty when the row was rejected (``error`` says why) and also, with no error,
    for the later rows of a multi-row order: that order's events come with its first row.
    """

    line: int
    events: tuple[Event, ...]
    error: InvalidInput | None
    raw: str


@dataclass(frozen=True)
class CsvRow:
    """One CSV record, cells cleaned and keyed by the layout's column names.

    ``problem`` marks a record that is broken as a whole (too many fields); it still takes part
    in grouping, so its order is rejected with it.
    """

    line: int
    raw: str
    cells: Mapping[str, str]
    problem: FieldError | None = None

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def has(self, column: str) -> bool:
        return not is_empty(self.cells.get(column))


CsvParse = Callable[[Sequence[CsvRow]], tuple[Event, ...]]
JsonParse = Callable[[Mapping[str, Any]], tuple[Event, ...]]


@dataclass(frozen=True)
class CsvLayout:
    """A CSV export layout.

    ``aliases`` maps header spellings seen in the wild to the column name the parser uses.
    With ``group_by``, consecutive rows holding the same values in those columns are one order.
    """

    kind: str
    fmt: str
    source: str
    required: tuple[str, ...]
    parse: CsvParse
    aliases: Mapping[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()

    def group_key(self, row: CsvRow) -> tuple[str, ...]:
        return tuple(row.get(column) for column in self.group_by)


@dataclass(frozen=True)
class JsonLayout:
    """A JSON lines layout: one object (an API response item) per line."""

    kind: str
    fmt: str
    source: str
    parse: JsonParse


def _unexpected(exc: Exception) -> FieldError:
    """Anything else one row breaks (a domain object's check, an odd JSON shape) rejects only that row."""
    return FieldError("(row)", None, f"unusable value: {exc}")


class ImportReader:
    """An open channel file; ``rows()`` reads it lazily, so any size works."""

    def __init__(self, kind: str, fmt: str, path: Path, source: str) -> None:
        self.kind = kind
        self.fmt = fmt
        self.path = path
        self.source = source
        shape = inspect_file(path)
        self.encoding = shape.encoding
        self._lines = shape.lines

    def total(self) -> int | None:
        """Data rows, counted as physical lines: exact unless a quoted cell holds a line break."""
        return self._lines

    def rows(self) -> Iterator[RowResult]:
        raise NotImplementedError

    def _where(self, line: int) -> str:
        return f"{self.path.name}:{line}"

    def _reject(self, line: int, raw: str, problem: FieldError) -> RowResult:
        error = InvalidInput(problem.reason, where=self._where(line), field=problem.field, value=problem.value)
        return RowResult(line, (), error, raw)


_QUIRKS = ("=", "\ufeff")


def _blank(cells: list[str]) -> bool:
    return not "".join(cells).strip()


def _header_names(cells: list[str], aliases: Mapping[str, str]) -> list[str]:
    names = []
    for cell in cells:
        name = clean_cell(cell)
        names.append(aliases.get(name, name))
    return names


class CsvImportReader(ImportReader):
    """Reads a CSV export through a ``CsvLayout``; checks required columns when opened."""

    def __init__(self, layout: CsvLayout, path: Path, *, source: str | None = None) -> None:
        super().__init__(layout.kind, layout.fmt, path, source or layout.source)
        self.layout = layout
        self.delimiter = sniff_delimiter(path, self.encoding)
        self.header = self._read_header()
        missing = [name for name in layout.required if name not in self.header]
        if missing:
            raise InvalidInput(
                f"missing required columns: {', '.join(missing)}",
                where=str(path),
                field=", ".join(missing),
                value=", ".join(self.header),
            )

    def _read_header(self) -> list[str]:
        for _line, _raw, cells in csv_records(self.path, self.encoding, self.delimiter):
            if not _blank(cells):
                return _header_names(cells, self.layout.aliases)
        raise InvalidInput("the file is empty: no header row", where=str(self.path))

    def total(self) -> int | None:
        return max(0, self._lines - 1)

    def rows(self) -> Iterator[RowResult]:
        group: list[CsvRow] = []
        for row in self._data_rows():
            same_order = (
                self.layout.group_by and group and self.layout.group_key(row) == self.layout.group_key(group[0])
            )
            if group and not same_order:
                yield from self._flush(group)
                group = []
            group.append(row)
        yield from self._flush(group)

    def _data_rows(self) -> Iterator[CsvRow]:
        records = csv_records(self.path, self.encoding, self.delimiter)
        header = self.header
        width = len(header)
        for _line, _raw, cells in records:
            if _blank(cells):
                continue
            break  # the header, read already
        for line, raw, cells in records:
            if _blank(cells):
                continue  # blank lines and Excel's trailing ",,,," rows carry nothing
            problem = None
            if len(cells) > width and not _blank(cells[width:]):
                reason = f"row has {len(cells)} fields but the header has {width}"
                problem = FieldError("(row)", raw, reason, line=line)
            trimmed: Iterator[str] = map(str.strip, cells)  # most cells need no more than this, done in C
            if '="' in raw or "\ufeff" in raw:
                trimmed = (clean_cell(cell) if cell[:1] in _QUIRKS else cell for cell in trimmed)
            values = dict(zip(header, trimmed, strict=False))
            if len(cells) < width:
                values.update(dict.fromkeys(header[len(cells) :], ""))
            yield CsvRow(line, raw, values, problem)

    def _flush(self, group: list[CsvRow]) -> Iterator[RowResult]:
        """Parse one order's rows; a bad row rejects the whole order, so no partial order is stored."""
        if not group:
            return
        broken = next((row.problem for row in group if row.problem is not None), None)
        if broken is not None:
            yield from self._reject_group(group, broken)
            return
        try:
            events = self.layout.parse(group)
        except FieldError as problem:
            yield from self._reject_group(group, problem)
            return
        except (ValueError, TypeError, ArithmeticError) as exc:
            yield from self._reject_group(group, _unexpected(exc))
            return
        first, *rest = group
        yield RowResult(first.line, events, None, first.raw)
        for row in rest:
            yield RowResult(row.line, (), None, row.raw)

    def _reject_group(self, group: list[CsvRow], problem: FieldError) -> Iterator[RowResult]:
        culprit = problem.line or group[0].line
        for row in group:
            if row.line == culprit:
                yield self._reject(row.line, row.raw, problem)
            else:
                reason = f"the order was rejected because of line {culprit}: {problem.reason}"
                field = ", ".join(self.layout.group_by)
                value = " ".join(self.layout.group_key(row))
                error = InvalidInput(reason, where=self._where(row.line), field=field, value=value)
                yield RowResult(row.line, (), error, row.raw)


def at_line(row: CsvRow, problem: FieldError) -> FieldError:
    """Tag a FieldError with the row it came from, for multi-row orders."""
    problem.line = row.line
    return problem


class JsonLinesImportReader(ImportReader):
    """Reads JSON lines through a ``JsonLayout``; a line that is not a JSON object is rejected."""

    def __init__(self, layout: JsonLayout, path: Path, *, source: str | None = None) -> None:
        super().__init__(layout.kind, layout.fmt, path, source or layout.source)
        self.layout = layout
        self._blank_check()

    def _blank_check(self) -> None:
        for _line, text in text_lines(self.path, self.encoding):
            if text.strip():
                return
        raise InvalidInput("the file is empty: no JSON lines", where=str(self.path))

    def rows(self) -> Iterator[RowResult]:
        for line, text in text_lines(self.path, self.encoding):
            body = text.lstrip("\ufeff").strip()
            if not body:
                continue
            try:
                item = json.loads(body)
            except json.JSONDecodeError as exc:
                yield self._reject(line, text, FieldError("(line)", body[:80], f"not valid JSON: {exc.msg}"))
                continue
            if not isinstance(item, dict):
                yield self._reject(line, text, FieldError("(line)", body[:80], "expected a JSON object"))
                continue
            try:
                events = self.layout.parse(item)
            except FieldError as problem:
                yield self._reject(line, text, problem)
                continue
            except (ValueError, TypeError, ArithmeticError) as exc:
                yield self._reject(line, text, _unexpected(exc))
                continue
            yield RowResult(line, events, None, text)
