"""One error tree for the domain.

LiuyuError
├── InvalidInput        bad data from outside: names what and where
├── NotFound            a thing the caller named does not exist (in its workspace)
├── Conflict            the change contradicts stored state (e.g. merge already undone)
└── PermissionDenied    the caller's role may not do this
"""

from __future__ import annotations


class LiuyuError(Exception):
    """Base of every error liuyu raises on purpose."""


class InvalidInput(LiuyuError, ValueError):
    """Bad input; ``where`` names the item (line, field, batch index) and ``value`` what was seen."""

    def __init__(self, reason: str, *, where: str = "", field: str = "", value: object = None) -> None:
        self.reason = reason
        self.where = where
        self.field = field
        self.value = value
        parts = [p for p in (where, field and f"field {field!r}") if p]
        shown = "" if value is None else f" (value {str(value)[:80]!r})"
        super().__init__(f"{', '.join(parts)}: {reason}{shown}" if parts else f"{reason}{shown}")

    def as_dict(self) -> dict[str, object]:
        return {
            "where": self.where,
            "field": self.field,
            "value": None if self.value is None else str(self.value)[:200],
            "reason": self.reason,
        }


class NotFound(LiuyuError, LookupError):
    """The named thing does not exist in this workspace."""


class Conflict(LiuyuError):
    """The request contradicts stored state."""


class PermissionDenied(LiuyuError):
    """The caller's role does not allow this."""
