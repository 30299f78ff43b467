"""One Settings object, read from the environment (prefix CHRONICLE_) with working local defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_path() -> Path:
    """`$XDG_DATA_HOME/chronicle/chronicle.sqlite3`, i.e. `~/.local/share/chronicle/chronicle.sqlite3`."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "chronicle" / "chronicle.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHRONICLE_", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{default_database_path()}",
        description="SQLAlchemy URL of the database. The default is an SQLite file in the XDG data directory.",
    )
    database_read_url: str | None = Field(
        None,
        description="A second database URL for reads only (a PostgreSQL streaming replica); writes and "
        "their answers use database_url. Reads may then lag writes by the replica's delay.",
    )
    page_size_default: int = Field(20, ge=1, le=100)
    page_size_max: int = Field(100, ge=1, le=1000)
    total_count_cap: int = Field(
        1000, ge=0, description="Totals are counted exactly up to this many matches; past it they are a lower bound."
    )
    docs_enabled: bool = True
    max_body_bytes: int = Field(
        2**20, ge=1024, description="Largest request body of a record write (bytes); past it, 413."
    )
    max_import_bytes: int = Field(
        32 * 2**20, ge=1024, description="Largest body of POST /v1/import (bytes); past it, 413."
    )
    max_query_bytes: int = Field(
        4096, ge=256, description="Longest query string (bytes, percent-encoded as sent); past it, 414."
    )
    read_requires_key: bool = Field(False, description="Reads of /v1 need an API key with the read scope.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
