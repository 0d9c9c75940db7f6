"""Reading rule files (routing, SLA, QA, follow-ups): pydantic checks them, the domain names the error."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from liuyu.domain.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


def parse_rules(model: type[Model], data: object, where: str = "") -> Model:
    """Validate parsed YAML/JSON; the first problem becomes an ``InvalidInput`` naming the field path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(first["msg"], where=where or model.__name__, field=path, value=first.get("input")) from exc
