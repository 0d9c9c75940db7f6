"""Workspaces, users and keys. Passwords are hashed with argon2; API keys with SHA-256.

API keys are long random secrets, so a fast hash is enough and keeps per-request authentication
cheap; passwords are short and human-chosen, so they get argon2's deliberate slowness.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from liuyu.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied

ROLES = ("admin", "operator", "agent", "supervisor", "analyst", "ingest")
#: Roles that may see personal data (phones, emails, addresses) unmasked.
PII_ROLES = frozenset({"admin", "supervisor"})
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (console) or an API key (integrations)."""

    workspace_id: int
    role: str
    actor: str
    source: str | None = None
    user_id: int | None = None
    locale: str = "zh_CN"

    @property
    def sees_pii(self) -> bool:
        return self.role in PII_ROLES

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise PermissionDenied(f"role {self.role!r} may not do this (needs one of {', '.join(roles)})")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role; use one of {', '.join(ROLES)}", field="role", value=role)
    return role


def create_workspace(accounts: Any, slug: str, name: str | None = None, *, now: datetime | None = None) -> int:
    if not _SLUG.match(slug):
        raise InvalidInput("a workspace name is 2-63 lowercase letters, digits, - or _", field="workspace", value=slug)
    if accounts.workspace_by_slug(slug):
        raise Conflict(f"workspace {slug!r} exists already")
    return int(accounts.create_workspace(slug, name or slug, now or datetime.now(UTC)))


def workspace_id(accounts: Any, slug: str) -> int:
    row = accounts.workspace_by_slug(slug)
    if row is None:
        raise NotFound(f"no workspace {slug!r}")
    return int(row["id"])


def create_user(
    accounts: Any, workspace: int, email: str, password: str, role: str, *, name: str = "", now: datetime | None = None
) -> int:
    if len(password) < 8:
        raise InvalidInput("a password needs at least 8 characters", field="password")
    return int(
        accounts.create_user(
            workspace, email.lower(), name, hash_password(password), check_role(role), now or datetime.now(UTC)
        )
    )


def create_api_key(
    accounts: Any, workspace: int, source: str, role: str = "ingest", *, name: str = "", now: datetime | None = None
) -> str:
    """A new key, shown once: ``ly_<prefix>_<secret>``; only its hash is stored."""
    if not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", source):
        raise InvalidInput("a source is 1-64 letters, digits or _ . : -", field="source", value=source)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    key = f"ly_{prefix}_{secret}"
    accounts.create_key(workspace, prefix, hash_secret(key), source, check_role(role), name, now or datetime.now(UTC))
    return key


def authenticate_key(accounts: Any, key: str) -> Principal | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "ly":
        return None
    row = accounts.key_by_prefix(parts[1])
    if row is None or not secrets.compare_digest(row["key_hash"], hash_secret(key)):
        return None
    return Principal(
        workspace_id=row["workspace_id"], role=row["role"], actor=f"key:{row['prefix']}", source=row["source"]
    )


def login(accounts: Any, email: str, password: str, *, hours: int = 12, now: datetime | None = None) -> str | None:
    """A session token for a valid email and password, or None."""
    now = now or datetime.now(UTC)
    for user in accounts.users_by_email(email.lower()):
        try:
            _hasher.verify(user["password_hash"], password)
        except (VerificationError, InvalidHashError):
            continue
        token = secrets.token_urlsafe(32)
        accounts.create_session(hash_secret(token), user["id"], now, now + timedelta(hours=hours))
        return token
    return None


def session_principal(accounts: Any, token: str, *, now: datetime | None = None) -> Principal | None:
    now = now or datetime.now(UTC)
    session = accounts.session(hash_secret(token))
    if session is None or session["expires_at"] <= now:
        return None
    user = accounts.user(session["user_id"])
    if user is None or user["disabled_at"] is not None:
        return None
    return Principal(
        workspace_id=user["workspace_id"],
        role=user["role"],
        actor=f"user:{user['email']}",
        user_id=user["id"],
        locale=user["locale"],
    )
