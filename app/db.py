"""Database access, decided once here (see research/perf-anchors.md and DESIGN.md "The read path").

- Writes (seed, import, editors) use a SQLAlchemy engine and ORM sessions. On SQLite every write
  transaction starts with BEGIN IMMEDIATE, so concurrent writers queue on the busy timeout instead
  of failing with "database is locked" when a read turns into a write.
- Reads use one plain driver connection per worker process (sqlite3, or psycopg on PostgreSQL),
  owned by the event loop: list and detail queries are indexed and take tens of microseconds on
  SQLite, so a thread hand-off would cost more than the query. Statements are built with
  SQLAlchemy Core once per filter shape and compiled to the engine's SQL text (`compiled`), then
  executed with bound parameters. This connection is never shared with the engine's pool or with
  code in the threadpool.
- On PostgreSQL every write transaction first takes one advisory lock (WRITE_LOCK_KEY), so writers
  queue as they do on SQLite, across every replica.
- A read query runs for at most CHRONICLE_QUERY_TIME_LIMIT_MS (SQLite: a progress handler that
  interrupts it; PostgreSQL: statement_timeout); past it the request is answered 503 with
  Retry-After (QueryTooSlow). The connection stays usable. Exports are not limited.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import psycopg
import psycopg.errors
from psycopg.types.string import TextLoader
from sqlalchemy import Dialect, Engine, create_engine, event, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

from app.errors import Problem

SQLITE_BUSY_TIMEOUT_MS = 5000
PROGRESS_STEPS = 10_000  # SQLite VM steps between two looks at the clock (each look ~0.1 us of Python)


class QueryTooSlow(Problem):
    """A read query ran past the time limit and was stopped: 503, retry later (or ask for less)."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(
            503, f"the query ran longer than the {limit_ms:,} ms limit and was stopped; retry later, or narrow "
            "the request (a smaller range, fewer filters, a smaller page)",
            headers={"Retry-After": "5"},
        )  # fmt: skip


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ValueError(f"{database_url!r}: not an SQLite file (sqlite:///PATH); PostgreSQL URLs are postgresql://...")
    return Path(url.database)


# SQLite's own open options that an SQLite URL may carry (docs/deploy.md, "A read-only database"):
# sqlite:///PATH?mode=ro opens the file read-only; ?immutable=1 also skips locking, for a file on a
# read-only file system (a WAL database there cannot be opened otherwise unless its -wal and -shm files are present).
SQLITE_OPEN_OPTIONS = ("mode", "immutable")


def sqlite_uri(database_url: str) -> tuple[str, dict[str, str]] | None:
    """The file: URI of the SQLite database and the URL's open options, or None if it has none."""
    url = make_url(database_url)
    options = {name: str(url.query[name]) for name in SQLITE_OPEN_OPTIONS if name in url.query}
    if not options:
        return None
    return sqlite_path(database_url).absolute().as_uri(), options  # file:///..., with ? # % escaped


# Every write transaction on PostgreSQL takes this advisory lock first, as SQLite's BEGIN IMMEDIATE
# takes the write lock: writers from every replica queue, so the loader's checks (slugs free, new ids,
# the data version) see no concurrent writer. Readers never wait for it.
WRITE_LOCK_KEY = 0x4368726F6E69636C  # "Chronicl"


def engine_url(database_url: str) -> URL:
    """The URL with its driver: psycopg 3 for PostgreSQL (postgresql:// means postgresql+psycopg://)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    uri = sqlite_uri(database_url) if url.get_backend_name() == "sqlite" else None
    if uri is not None:  # pysqlite's URI form: the database is a file: URI; uri=true passes the options on to it
        return url.set(database=uri[0]).update_query_dict({"uri": "true"})
    return url


def make_engine(database_url: str) -> Engine:
    """The write engine. SQLite: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE. PostgreSQL: UTC
    sessions, and every transaction takes the write lock (WRITE_LOCK_KEY)."""
    url = engine_url(database_url)
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, connect_args={"options": "-c TimeZone=UTC"})

        @event.listens_for(engine, "begin")
        def _take_the_write_lock(connection: Any) -> None:
            # As SQLite's busy timeout: a writer that waits this long gives up (is_busy, a 503).
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

        return engine
    if url.get_backend_name() != "sqlite":
        raise ValueError(f"{url.get_backend_name()}: Chronicle runs on SQLite or PostgreSQL")
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


def is_busy(exc: DBAPIError) -> bool:
    """Whether a write failed for want of the write lock (then: retry later), on either engine."""
    if getattr(exc.orig, "sqlstate", None) == "55P03":  # PostgreSQL: lock_not_available
        return True
    return "database is locked" in str(exc.orig) or "busy" in str(exc.orig)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- the read path --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledSQL:
    """SQL text plus the values of literals the statement carries (SQLite's `OFFSET 0`, say)."""

    text: str
    defaults: dict[str, Any]

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **params} if self.defaults else dict(params)


_NO_PARAMS: Mapping[str, Any] = {}


class ReadConnection:
    """One read connection per worker process, used by code on the event loop (see the module's doc).

    Queries pass SQL text (named `:parameters`) or Core statements through `compiled`; the engine's
    own SQL for one concern (JSON, full text) comes from app.dialects, chosen by `dialect`.
    """

    dialect: ClassVar[str]  # "sqlite" or "postgresql": the key of app.dialects' tables
    _sql_dialect: ClassVar[Dialect]
    _compiled: ClassVar[dict[Hashable, CompiledSQL]]

    def compiled(self, key: Hashable, build: Callable[[], ClauseElement]) -> CompiledSQL:
        """The statement `build()` makes, compiled for this engine once per `key` (the filter shape)."""
        found = self._compiled.get(key)
        if found is None:
            statement = build().compile(dialect=self._sql_dialect)
            defaults = {name: value for name, value in statement.params.items() if value is not None}
            found = self._compiled[key] = CompiledSQL(str(statement), defaults)
        return found

    def all(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def one(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def for_export(self) -> ReadConnection:
        """Another connection, for one long read (an export) off the event loop."""
        raise NotImplementedError

    def begin_snapshot(self) -> None:
        """Start a read transaction: what follows sees one snapshot of the data (an export's)."""
        raise NotImplementedError


def read_connection(database_url: str, *, time_limit_ms: int | None = None) -> ReadConnection:
    """The read connection; each query stopped after `time_limit_ms` if one is given."""
    url = engine_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresReads(url, time_limit_ms=time_limit_ms)
    uri = sqlite_uri(database_url)
    return SQLiteReads(
        sqlite_path(database_url),
        uri=None if uri is None else f"{uri[0]}?{urlencode(uri[1])}",
        time_limit_ms=time_limit_ms,
    )


class SQLiteReads(ReadConnection):
    """A read-only sqlite3 connection: queries take tens of microseconds, less than a thread hand-off."""

    dialect = "sqlite"
    _sql_dialect = sqlite_dialect.dialect(paramstyle="named")
    _compiled: ClassVar[dict[Hashable, CompiledSQL]] = {}

    def __init__(
        self,
        path: Path,
        *,
        uri: str | None = None,
        mmap_bytes: int = 256 * 2**20,
        cache_kib: int = 32_000,
        time_limit_ms: int | None = None,
    ) -> None:
        self.path = path
        self.uri = uri  # a file: URI with open options (sqlite_uri), or None
        self.mmap_bytes = mmap_bytes  # the file mapped, not copied: fast, but counted in the process's RSS
        self.cache_kib = cache_kib
        self.time_limit_ms = time_limit_ms
        self._deadline = math.inf  # the running query's, on time.monotonic()'s clock
        self._connection: sqlite3.Connection | None = None

    def for_export(self) -> SQLiteReads:
        """No mapping and a small page cache, so that reading the whole database keeps the process's
        memory (RSS, mapped pages included) flat."""
        return SQLiteReads(self.path, uri=self.uri, mmap_bytes=0, cache_kib=8_000)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise FileNotFoundError(f"database file {self.path} does not exist: run `chronicle db upgrade`")
        target = self.uri or self.path
        connection = sqlite3.connect(target, uri=self.uri is not None, check_same_thread=False, cached_statements=256)
        connection.execute("PRAGMA query_only = ON")
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute(f"PRAGMA mmap_size = {self.mmap_bytes}")
        connection.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        if self.time_limit_ms is not None:
            connection.set_progress_handler(self._past_deadline, PROGRESS_STEPS)
        return connection

    def _past_deadline(self) -> bool:
        return time.monotonic() > self._deadline  # True: SQLite stops the statement ("interrupted")

    def open(self) -> None:
        _ = self.connection

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def all(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple[Any, ...]]:
        query, values = (sql.text, sql.bind(params)) if isinstance(sql, CompiledSQL) else (sql, params)
        if self.time_limit_ms is None:
            return self.connection.execute(query, values).fetchall()
        self._deadline = time.monotonic() + self.time_limit_ms / 1000
        try:
            return self.connection.execute(query, values).fetchall()
        except sqlite3.OperationalError as exc:
            if str(exc) == "interrupted":
                raise QueryTooSlow(self.time_limit_ms) from None
            raise
        finally:
            self._deadline = math.inf

    def begin_snapshot(self) -> None:
        self.connection.execute("BEGIN")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresReads(ReadConnection):
    """A psycopg connection in autocommit mode (each statement its own snapshot), read-only, UTC.

    Like SQLite's, it is used on the event loop: an indexed query on a nearby server answers in a
    fraction of a millisecond. psycopg prepares a statement on the server after its fifth use.
    Timestamps and JSON come back as the server's text (app.queries.records.timestamp parses the
    former; the latter is embedded in answers as it is).
    """

    dialect = "postgresql"
    _sql_dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]  # pyformat: %(name)s, as psycopg takes them
    _compiled: ClassVar[dict[Hashable, CompiledSQL]] = {}
    _texts: ClassVar[dict[str, str]] = {}  # SQL text with :name parameters -> the same in psycopg's %(name)s style

    def __init__(self, url: URL, *, time_limit_ms: int | None = None) -> None:
        self.url = url
        self.time_limit_ms = time_limit_ms
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None

    def for_export(self) -> PostgresReads:
        return PostgresReads(self.url)

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        # No parallel workers and no JIT: both start up in milliseconds, for queries that take a
        # fraction of one (a year's page at 1M events: 16 ms of CPU with two workers, by measurement).
        options = "-c TimeZone=UTC -c default_transaction_read_only=on -c max_parallel_workers_per_gather=0 -c jit=off"
        if self.time_limit_ms is not None:
            options += f" -c statement_timeout={self.time_limit_ms}"
        # connect_timeout: a server whose packets are dropped must not hold the event loop for TCP's minutes.
        connection = psycopg.connect(conninfo, autocommit=True, options=options, connect_timeout=2)
        for type_name in ("timestamptz", "json", "jsonb"):
            connection.adapters.register_loader(type_name, TextLoader)
        return connection

    def open(self) -> None:
        _ = self.connection

    @property
    def connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
        return self._connection

    def _text(self, sql: str) -> str:
        found = self._texts.get(sql)
        if found is None:
            found = self._texts[sql] = str(text(sql).compile(dialect=self._sql_dialect))
        return found

    def all(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple[Any, ...]]:
        if isinstance(sql, CompiledSQL):
            query, values = sql.text, sql.bind(params)
        else:
            query, values = self._text(sql), dict(params)
        try:
            return self.connection.execute(query, values).fetchall()
        except psycopg.errors.QueryCanceled:
            if self.time_limit_ms is None:
                raise
            raise QueryTooSlow(self.time_limit_ms) from None  # the connection is still good
        except psycopg.OperationalError:
            # The server went away (a restart, a failover): the next request connects again.
            self.close()
            raise

    def begin_snapshot(self) -> None:
        # psycopg opens the transaction at the next statement, with these settings: one snapshot.
        connection = self.connection
        connection.autocommit = False
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
