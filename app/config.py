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
    max_query_parameters: int = Field(
        32, ge=1, description="Most query parameters (filters, paging, fields) in one request; past it, 400."
    )
    query_time_limit_ms: int = Field(
        5000, ge=1, description="Longest a read query may run (milliseconds); past it the query is stopped and "
        "the request answered 503 with Retry-After. An export's queries have the limit each (a page at a time).",
    )  # fmt: skip
    loop_budget_ms: int = Field(
        5, ge=0, description="How long the queries of one read may hold a worker's event loop (milliseconds); "
        "past it the read is answered in an off-loop thread instead. 0: reads never leave the loop (not advised: "
        "one slow request then stalls every other request of the worker).",
    )  # fmt: skip
    off_loop_threads: int = Field(
        4, ge=1, le=64, description="Threads per worker for reads past the loop budget and for exports; a request "
        "waits for one at most the query time limit, then 503.",
    )  # fmt: skip
    export_time_limit_seconds: int = Field(
        300, ge=1, description="Longest a CSV, NDJSON or full export may take (seconds); past it the answer is cut "
        "off (the connection closed before the end of the body, so the client cannot take it for complete).",
    )  # fmt: skip
    max_concurrent_requests: int = Field(
        64, ge=1, description="Requests one worker process handles at once; past it, 503 with Retry-After at once, "
        "instead of a queue that only grows.",
    )  # fmt: skip
    max_concurrent_per_address: int = Field(
        16, ge=1, description="Requests one client address may have in progress at once, per worker (IPv6: per "
        "/64 network); past it, 429 with Retry-After at once. Streamed answers count until they end.",
    )  # fmt: skip
    header_timeout_seconds: float = Field(
        10, gt=0, description="A request's headers must arrive within this time (and its body never pause longer); "
        "past it, 408 and the connection is closed.",
    )  # fmt: skip
    send_timeout_seconds: float = Field(
        30, gt=0, description="An answer whose client reads nothing for this long is abandoned: the connection is "
        "aborted and the request's work stopped.",
    )  # fmt: skip
    public_url: str | None = Field(
        None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*[^/?#\s])?$",
        description="The API's public address, as clients reach it (https://history.example.org), without a "
        "trailing slash: JSON-LD's @id and url are made from it. Unset, they are relative (/v1/events/...), "
        "never taken from the request's Host header.",
    )  # fmt: skip
    read_requires_key: bool = Field(False, description="Reads of /v1 need an API key with the read scope.")
    rate_limit_per_key: int = Field(
        0, ge=0, description="Requests per window from one API key (0: no limit); past it, 429 with Retry-After."
    )
    rate_limit_per_address: int = Field(
        0, ge=0, description="Requests per window without a key, from one client address (0: no limit)."
    )
    rate_limit_window_seconds: int = Field(60, ge=1, le=86400, description="The rate limits' window (seconds).")
    redis_url: str | None = Field(
        None, description="Redis, for rate-limit counters shared by every worker and replica (redis://host:port/db). "
        "Without it each worker process counts on its own.",
    )  # fmt: skip
    redis_prefix: str = Field("chronicle", description="Prefix of Chronicle's keys in Redis.")
    forwarded_allow_ips: str = Field(
        "", description="Addresses (comma-separated; networks in CIDR form, or *) of the proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed. Empty: none; the client is the socket's peer.",
    )  # fmt: skip


@lru_cache
def get_settings() -> Settings:
    return Settings()
