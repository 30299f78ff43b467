"""Database access, decided once here (see research/perf-anchors.md and DESIGN.md "The read path").

- Writes (seed, import, editors) use a SQLAlchemy engine and ORM sessions. On SQLite every write
  transaction starts with BEGIN IMMEDIATE, so concurrent writers queue on the busy timeout instead
  of failing with "database is locked" when a read turns into a write.
- Reads use one plain sqlite3 connection per worker process, owned by the event loop: list and detail
  queries are indexed and take tens of microseconds, so a thread hand-off would cost more than the
  query. Statements are built with SQLAlchemy Core once per filter shape and compiled to SQL text
  (`compiled`), then executed with bound parameters. This connection is never shared with the
  engine's pool or with code in the threadpool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

SQLITE_BUSY_TIMEOUT_MS = 5000


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ValueError(
            f"{database_url!r}: this version of Chronicle serves SQLite files only (sqlite:///PATH); "
            "PostgreSQL support is planned"
        )
    return Path(url.database)


def make_engine(database_url: str) -> Engine:
    """The write engine. For SQLite: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url)
    path = sqlite_path(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode; durable at checkpoints
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- the read path --------------------------------------------------------------------------------

_READ_DIALECT = sqlite_dialect.dialect(paramstyle="named")


@dataclass(frozen=True, slots=True)
class CompiledSQL:
    """SQL text plus the values of literals the statement carries (SQLite's `OFFSET 0`, say)."""

    text: str
    defaults: dict[str, Any]

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **params} if self.defaults else dict(params)


_SQL_CACHE: dict[Hashable, CompiledSQL] = {}


def compiled(key: Hashable, build: Callable[[], ClauseElement]) -> CompiledSQL:
    """The statement `build()` makes, compiled once per `key` (the filter shape)."""
    found = _SQL_CACHE.get(key)
    if found is None:
        statement = build().compile(dialect=_READ_DIALECT)
        defaults = {name: value for name, value in statement.params.items() if value is not None}
        found = _SQL_CACHE[key] = CompiledSQL(str(statement), defaults)
    return found


_NO_PARAMS: Mapping[str, Any] = {}


class ReadConnection:
    """A read-only SQLite connection for code running on the event loop."""

    def __init__(self, path: Path, *, mmap_bytes: int = 256 * 2**20, cache_kib: int = 32_000) -> None:
        self.path = path
        self.mmap_bytes = mmap_bytes  # the file mapped, not copied: fast, but counted in the process's RSS
        self.cache_kib = cache_kib
        self._connection: sqlite3.Connection | None = None

    def for_export(self) -> ReadConnection:
        """Another connection for a long export: no mapping and a small page cache, so that reading
        the whole database keeps the process's memory (RSS, mapped pages included) flat."""
        return ReadConnection(self.path, mmap_bytes=0, cache_kib=8_000)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise FileNotFoundError(f"database file {self.path} does not exist: run `chronicle db upgrade`")
        connection = sqlite3.connect(self.path, check_same_thread=False, cached_statements=256)
        connection.execute("PRAGMA query_only = ON")
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute(f"PRAGMA mmap_size = {self.mmap_bytes}")
        connection.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        return connection

    def open(self) -> None:
        _ = self.connection

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def all(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple[Any, ...]]:
        if isinstance(sql, CompiledSQL):
            return self.connection.execute(sql.text, sql.bind(params)).fetchall()
        return self.connection.execute(sql, params).fetchall()

    def one(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
