"""Attachment bytes on disk, content-addressed: ``<root>/<sha256[:2]>/<sha256>``.

A file is written to a temporary name and renamed into place, so a reader never sees half a file
and two writers of the same content end with one copy. The root defaults to ``attachments`` beside
the SQLite database (for PostgreSQL: ``./liuyu-data/attachments``); ``LIUYU_ATTACHMENT_DIR`` moves it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from liuyu.services.attachments import DEFAULT_TYPES, AttachmentLimits


class AttachmentSettings(BaseSettings):
    """``LIUYU_ATTACHMENT_DIR``, ``LIUYU_ATTACHMENT_MAX_BYTES``, ``LIUYU_ATTACHMENT_TYPES`` (comma-separated)."""

    model_config = SettingsConfigDict(env_prefix="LIUYU_ATTACHMENT_", env_file=".env", extra="ignore")

    dir: str | None = None
    max_bytes: int = 10 * 1024 * 1024
    types: str = ",".join(sorted(DEFAULT_TYPES))

    def limits(self) -> AttachmentLimits:
        return AttachmentLimits(
            self.max_bytes, frozenset(t.strip().lower() for t in self.types.split(",") if t.strip())
        )

    def root(self, database_url: str) -> Path:
        if self.dir:
            return Path(self.dir)
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent / "attachments"
        return Path.cwd() / "liuyu-data" / "attachments"


class DirectoryBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def delete(self, digest: str) -> bool:
        """Remove a file (erasure); False when it was not there."""
        path = self.path(digest)
        if not path.exists():
            return False
        path.unlink(missing_ok=True)
        return True


def blobs_for(database_url: str, settings: AttachmentSettings | None = None) -> tuple[DirectoryBlobs, AttachmentLimits]:
    """The blob store and limits configured for this database."""
    settings = settings or AttachmentSettings()
    return DirectoryBlobs(settings.root(database_url)), settings.limits()
