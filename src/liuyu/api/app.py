"""The FastAPI application: API routes, the console, and one error format."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from liuyu.api import log_masking
from liuyu.api.openapi import add_ingestion_bodies
from liuyu.api.routes import conversations as conversation_routes
from liuyu.api.routes import customers, events, suggestions
from liuyu.api.routes import journeys as journey_routes
from liuyu.api.routes import knowledge as knowledge_routes
from liuyu.api.routes import loyalty as loyalty_routes
from liuyu.api.routes import messaging as messaging_routes
from liuyu.api.routes import playbooks as playbook_routes
from liuyu.api.routes import segments as segment_routes
from liuyu.api.routes import service_quality as service_quality_routes
from liuyu.api.routes import tags as tag_routes
from liuyu.api.routes import tickets as ticket_routes
from liuyu.api.routes import value as value_routes
from liuyu.api.routes import webhooks as webhook_routes
from liuyu.api.routes import worker as worker_routes
from liuyu.bootstrap import Container, build
from liuyu.domain.errors import Conflict, InvalidInput, LiuyuError, NotFound, PermissionDenied

STATUS = {InvalidInput: 400, NotFound: 404, Conflict: 409, PermissionDenied: 403}


def create_app(container: Container | None = None) -> FastAPI:
    app = FastAPI(
        title="liuyu",
        version="0.1.0",
        description="Customer micro-circulation platform: events, identities, customers.",
    )
    app.state.container = container or build()
    log_masking.install()

    @app.exception_handler(LiuyuError)
    async def liuyu_error(_request: Request, exc: LiuyuError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, InvalidInput):
            body["error"] = exc.as_dict()
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(events.router)
    app.include_router(events.segment)
    app.include_router(customers.router)
    app.include_router(suggestions.router)
    app.include_router(loyalty_routes.router)
    app.include_router(segment_routes.router)
    app.include_router(journey_routes.router)
    app.include_router(playbook_routes.router)
    app.include_router(tag_routes.router)
    app.include_router(value_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(conversation_routes.router)
    app.include_router(messaging_routes.router)
    app.include_router(knowledge_routes.router)
    app.include_router(service_quality_routes.router)
    app.include_router(ticket_routes.router)
    app.include_router(worker_routes.router)
    add_ingestion_bodies(app)
    from liuyu.console.routes import mount_console

    mount_console(app)
    return app
