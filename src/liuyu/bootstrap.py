"""The composition root: the one place that picks real adapters and wires them together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from liuyu.config import Settings, get_settings
from liuyu.storage.db import make_engine


@dataclass
class Container:
    settings: Settings
    engine: Engine


def build(settings: Settings | None = None, *, engine: Engine | None = None) -> Container:
    settings = settings or get_settings()
    return Container(settings=settings, engine=engine or make_engine(settings.database_url))
