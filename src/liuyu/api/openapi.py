"""Request bodies of the ingestion endpoints in the OpenAPI spec.

Those endpoints read the raw body so that one bad item does not reject a whole batch; FastAPI
cannot infer their schema, so it is added here from the same pydantic models that check items.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from liuyu.api.schemas.events import MAX_BATCH, EventIn

REF = "#/components/schemas/{model}"


def _schema(model: type) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = TypeAdapter(model).json_schema(ref_template=REF)
    defs = schema.pop("$defs", {})
    return schema, defs


def add_ingestion_bodies(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = original()
        event, defs = _schema(EventIn)
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs)
        components["EventIn"] = event
        liuyu_body = {
            "oneOf": [
                {"$ref": REF.format(model="EventIn")},
                {
                    "type": "object",
                    "required": ["batch"],
                    "properties": {
                        "batch": {
                            "type": "array",
                            "maxItems": MAX_BATCH,
                            "items": {"$ref": REF.format(model="EventIn")},
                        }
                    },
                },
            ]
        }
        segment_message = {
            "type": "object",
            "required": ["messageId"],
            "properties": {
                "type": {"type": "string", "enum": ["identify", "track", "page", "screen", "alias", "group"]},
                "messageId": {"type": "string"},
                "userId": {"type": "string"},
                "anonymousId": {"type": "string"},
                "event": {"type": "string"},
                "timestamp": {"type": "string", "format": "date-time"},
                "traits": {"type": "object"},
                "properties": {"type": "object"},
                "context": {"type": "object"},
            },
        }
        bodies = {
            "/api/v1/events": liuyu_body,
            "/v1/batch": {
                "type": "object",
                "required": ["batch"],
                "properties": {"batch": {"type": "array", "maxItems": MAX_BATCH, "items": segment_message}},
            },
        }
        for path, operations in spec.get("paths", {}).items():
            body = bodies.get(path, segment_message if path.startswith("/v1/") else None)
            if body is not None and "post" in operations:
                operations["post"]["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                }
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
