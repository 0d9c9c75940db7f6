"""Generic CSV / JSON lines files described by a YAML mapping: one row becomes one event.

A mapping value is a column name (a dotted path in JSON lines) or ``const:VALUE``. See
docs/importers.md for an example; the mapping is checked with pydantic before the first row,
and a bad key is named in the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from liuyu.channels.importers.reading import CsvLayout, CsvRow, JsonLayout
from liuyu.channels.importers.values import (
    SHANGHAI,
    FieldError,
    identifier,
    is_empty,
    local_time,
    money,
    order_number,
    present,
    quantity,
    required,
    text_or_none,
    unique,
    unix_time,
)
from liuyu.domain.customers.identifiers import KINDS
from liuyu.domain.errors import InvalidInput
from liuyu.domain.eventlog import CHANNELS, EVENT_TYPES, MAX_EXTERNAL_ID, ORDER_EVENT_TYPES, Event
from liuyu.domain.orders import ORDER_STATUSES, STATUS_OF_EVENT, ZERO, Order, OrderLine

CONST = "const:"
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


def _const(spec: str | None) -> str | None:
    return spec[len(CONST) :] if spec is not None and spec.startswith(CONST) else None


class OrderMapping(BaseModel):
    """Where the order snapshot of an ``order_*`` event comes from."""

    model_config = ConfigDict(extra="forbid")

    order_id: str
    status: str | None = None
    status_map: dict[str, str] = {}
    platform: str | None = None
    total: str | None = None
    paid: str | None = None
    refunded: str | None = None
    placed_at: str | None = None
    paid_at: str | None = None
    store_id: str | None = None
    title: str | None = None
    quantity: str | None = None
    sku: str | None = None

    @field_validator("status_map")
    @classmethod
    def _known_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({s for s in value.values() if s not in ORDER_STATUSES})
        if unknown:
            raise ValueError(f"unknown order status {', '.join(unknown)}; use one of {', '.join(ORDER_STATUSES)}")
        return value


class EventMapping(BaseModel):
    """A generic file's mapping (YAML): column (or ``const:VALUE``) for every event field."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    external_id: str
    type: str
    name: str | None = None
    occurred_at: str
    time_format: str | None = None
    timezone: str = "Asia/Shanghai"
    channel: str = "const:other"
    money_unit: Literal["yuan", "fen"] = "yuan"
    identifiers: dict[str, str] = {}
    verified: list[str] = []
    traits: dict[str, str] = {}
    properties: dict[str, str] = {}
    order: OrderMapping | None = None

    @field_validator("identifiers")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - KINDS)
        if unknown:
            raise ValueError(f"unknown identifier kind {', '.join(unknown)}; use one of {', '.join(sorted(KINDS))}")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        const = _const(value)
        if const is not None and const not in EVENT_TYPES:
            raise ValueError(f"unknown event type {const!r}; use one of {', '.join(sorted(EVENT_TYPES))}")
        return value

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, value: str) -> str:
        const = _const(value)
        if const is not None and const not in CHANNELS:
            raise ValueError(f"unknown channel {const!r}; use one of {', '.join(sorted(CHANNELS))}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_of(value)
        return value

    @model_validator(mode="after")
    def _order_for_order_events(self) -> EventMapping:
        const = _const(self.type)
        if const in ORDER_EVENT_TYPES and self.order is None:
            raise ValueError(f"type {const} needs an 'order' section")
        unknown = sorted(set(self.verified) - set(self.identifiers))
        if unknown:
            raise ValueError(f"verified names kinds not mapped under identifiers: {', '.join(unknown)}")
        return self

    def columns(self) -> list[str]:
        """Every column the mapping reads (constants excluded)."""
        specs: list[str | None] = [self.external_id, self.type, self.name, self.occurred_at, self.channel]
        specs += list(self.identifiers.values()) + list(self.traits.values()) + list(self.properties.values())
        if self.order is not None:
            specs += [value for key, value in self.order if key != "status_map" and isinstance(value, str)]
        return [s for s in dict.fromkeys(specs) if s is not None and _const(s) is None]


def zone_of(name: str) -> tzinfo:
    """The time zone; Asia/Shanghai and UTC work without a tz database."""
    if name in {"Asia/Shanghai", "PRC", "Asia/Chongqing"}:
        return SHANGHAI
    if name.upper() in {"UTC", "Z"}:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def load_mapping(path: Path) -> EventMapping:
    """Read and check a mapping file; InvalidInput names the file and the bad key."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InvalidInput(f"cannot read the mapping file: {exc.strerror or exc}", where=str(path)) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the mapping file is not valid YAML: {exc}", where=str(path)) from exc
    if not isinstance(document, dict):
        raise InvalidInput("the mapping file must be a YAML mapping of field: column", where=str(path))
    try:
        return EventMapping.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(mapping)"
        reason = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(reason, where=str(path), field=key, value=first.get("input")) from exc


Getter = Callable[[str], object]


class GenericParser:
    """Builds one event from one row through an ``EventMapping``."""

    def __init__(self, mapping: EventMapping, source: str) -> None:
        self.mapping = mapping
        self.source = source
        self.zone = zone_of(mapping.timezone)

    def _time(self, value: object, field: str) -> datetime | None:
        fmt = self.mapping.time_format
        if fmt in {"unix", "unix_ms"}:
            return unix_time(value, field)
        return local_time(value, field, zone=self.zone, fmt=fmt)

    def _money(self, get: Getter, spec: str | None) -> Any:
        return None if spec is None else money(get(spec), spec, unit=self.mapping.money_unit)

    def event(self, get: Getter) -> Event:
        m = self.mapping
        external_id = order_number(get(m.external_id), m.external_id)
        if len(external_id) > MAX_EXTERNAL_ID:
            raise FieldError(m.external_id, external_id, f"external id longer than {MAX_EXTERNAL_ID} characters")
        raw_type = str(required(get(m.type), m.type))
        event_type = raw_type if raw_type in EVENT_TYPES else "custom"
        if event_type in ORDER_EVENT_TYPES and m.order is None:
            raise FieldError(m.type, raw_type, "order events need an 'order' section in the mapping")
        occurred_at = self._time(required(get(m.occurred_at), m.occurred_at), m.occurred_at)
        assert occurred_at is not None
        channel = str(required(get(m.channel), m.channel))
        if channel not in CHANNELS:
            raise FieldError(m.channel, channel, f"unknown channel; use one of {', '.join(sorted(CHANNELS))}")
        ids = unique(
            *(identifier(kind, get(spec), spec, verified=kind in m.verified) for kind, spec in m.identifiers.items())
        )
        order = None
        if m.order is not None and (event_type in ORDER_EVENT_TYPES or not is_empty(get(m.order.order_id))):
            order = self._order(get, event_type, occurred_at, channel)
        return Event(
            source=self.source,
            external_id=external_id,
            type=event_type,
            occurred_at=occurred_at,
            channel=channel,
            identifiers=ids,
            traits=present({name: get(spec) for name, spec in m.traits.items()}),
            properties=present({name: get(spec) for name, spec in m.properties.items()}),
            order=order,
            name=text_or_none(get(m.name)) if m.name else (raw_type if event_type == "custom" else None),
        )

    def _order(self, get: Getter, event_type: str, occurred_at: datetime, channel: str) -> Order:
        spec = self.mapping.order
        assert spec is not None
        raw_status = text_or_none(get(spec.status)) if spec.status else None
        status = STATUS_OF_EVENT.get(event_type) if raw_status is None else spec.status_map.get(raw_status, raw_status)
        if status not in ORDER_STATUSES:
            raise FieldError(spec.status or "type", raw_status, "unknown order status; map it under order.status_map")
        lines: tuple[OrderLine, ...] = ()
        if spec.title is not None:
            lines = (
                OrderLine(
                    title=str(get(spec.title) or "(untitled)"),
                    quantity=quantity(get(spec.quantity), spec.quantity) if spec.quantity else 1,
                    sku=text_or_none(get(spec.sku)) if spec.sku else None,
                ),
            )
        return Order(
            platform=str(get(spec.platform) if spec.platform else channel),
            order_id=order_number(get(spec.order_id), spec.order_id),
            status=status,
            total=self._money(get, spec.total) or ZERO,
            paid=self._money(get, spec.paid),
            refunded=self._money(get, spec.refunded) or ZERO,
            placed_at=(self._time(get(spec.placed_at), spec.placed_at) if spec.placed_at else None) or occurred_at,
            paid_at=self._time(get(spec.paid_at), spec.paid_at) if spec.paid_at else None,
            store_id=text_or_none(get(spec.store_id)) if spec.store_id else None,
            raw_status=raw_status,
            lines=lines,
        )


def _csv_getter(row: CsvRow) -> Getter:
    def get(spec: str) -> object:
        const = _const(spec)
        return const if const is not None else row.get(spec)

    return get


def _json_getter(item: Mapping[str, Any]) -> Getter:
    def get(spec: str) -> object:
        const = _const(spec)
        if const is not None:
            return const
        current: object = item
        for part in spec.split("."):
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
        return current

    return get


def generic_layout(path: Path, mapping_path: Path) -> tuple[CsvLayout | JsonLayout, str]:
    """The layout for ``path`` under the mapping, and the event-log source name."""
    mapping = load_mapping(mapping_path)
    source = f"file:{mapping.source or mapping_path.stem}"
    parser = GenericParser(mapping, source)
    if path.suffix.lower() in JSON_SUFFIXES:
        return JsonLayout("events", "generic", source, lambda item: (parser.event(_json_getter(item)),)), source

    def parse_rows(rows: Sequence[CsvRow]) -> tuple[Event, ...]:
        (row,) = rows
        return (parser.event(_csv_getter(row)),)

    return CsvLayout("events", "generic", source, tuple(mapping.columns()), parse_rows), source
