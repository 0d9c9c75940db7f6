"""Request dependencies: the container, the unit of work and who is calling."""

from __future__ import annotations

import base64
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from liuyu.bootstrap import Container
from liuyu.services.accounts import Principal, authenticate_key, session_principal
from liuyu.storage.uow import SqlUnitOfWork

SESSION_COOKIE = "liuyu_session"
_KEY_CACHE: dict[str, tuple[float, Principal | None]] = {}
_KEY_TTL = 30.0  # seconds a verified key is trusted before it is checked again (revocation delay)


def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


ContainerDep = Annotated[Container, Depends(get_container)]


def _key_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            user, _, _password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user or None
    return request.headers.get("x-api-key")


def principal_from_request(request: Request, container: Container) -> Principal | None:
    key = _key_from(request)
    now = time.monotonic()
    if key:
        cached = _KEY_CACHE.get(key)
        if cached and now - cached[0] < _KEY_TTL:
            return cached[1]
        with SqlUnitOfWork(container.engine) as uow:
            principal = authenticate_key(uow.accounts, key)
        _KEY_CACHE[key] = (now, principal)
        return principal
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with SqlUnitOfWork(container.engine) as uow:
            return session_principal(uow.accounts, token)
    return None


def current_principal(request: Request, container: ContainerDep) -> Principal:
    principal = principal_from_request(request, container)
    if principal is None:
        raise HTTPException(status_code=401, detail="a valid API key (Bearer or Basic) or a console session is needed")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def reader(principal: CurrentPrincipal) -> Principal:
    """Anyone but an ingest-only key may read."""
    if principal.role == "ingest":
        raise HTTPException(status_code=403, detail="an ingest key may only send events")
    return principal


CurrentReader = Annotated[Principal, Depends(reader)]
