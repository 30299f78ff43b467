"""Database access, decided once here (see research/perf-anchors.md and DESIGN.md "The read path").

- Writes (seed, import, editors) use a SQLAlchemy engine and ORM sessions. On SQLite every write
  transaction starts with BEGIN IMMEDIATE, so concurrent writers queue on the busy timeout instead
  of failing with "database is locked" when a read turns into a write.
- Reads use one plain driver connection per worker process (sqlite3, or psycopg on PostgreSQL),
  owned by the event loop: list and detail queries are indexed and take tens of microseconds on
  SQLite, so a thread hand-off would cost more than the query. Statements are built with
  SQLAlchemy Core once per filter shape and compiled to the engine's SQL text (`compiled`), then
  executed with bound parameters. This connection is never shared with the engine's pool or with
  code in the threadpool. A request whose queries hold the loop past a small budget
  (CHRONICLE_LOOP_BUDGET_MS) is answered again off the loop, in a thread with connections of its
  own (app.isolation).
- On PostgreSQL every write transaction first takes one advisory lock (WRITE_LOCK_KEY), so writers
  queue as they do on SQLite, across every replica.
- A read query runs for at most CHRONICLE_QUERY_TIME_LIMIT_MS (SQLite: a watchdog thread that
  interrupts it; PostgreSQL: statement_timeout); past it the request is answered 503 with
  Retry-After (QueryTooSlow). The connection stays usable. An export's queries have the same limit,
  each page, and the export as a whole CHRONICLE_EXPORT_TIME_LIMIT_SECONDS.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
import weakref
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

from app.domain_errors import QueryTooSlow as QueryTooSlow  # raised here; app.errors answers it (503)

SQLITE_BUSY_TIMEOUT_MS = 5000
PROGRESS_STEPS = 10_000  # SQLite VM steps between two looks at the clock (each look ~0.1 us of Python)


class OverBudget(Exception):
    """A read on the event loop ran past the loop's budget (CHRONICLE_LOOP_BUDGET_MS) and was stopped:
    app.isolation answers the request again off the loop. Never reaches a client."""


class Cancelled(Exception):
    """A read was stopped because no one waits for its answer any more (the client went away)."""


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
    """One read connection: the event loop's (one per worker process, see the module's doc), or one
    of a thread's (app.isolation) or of an export's.

    Queries pass SQL text (named `:parameters`) or Core statements through `compiled`; the engine's
    own SQL for one concern (JSON, full text) comes from app.dialects, chosen by `dialect`.

    Limits: every query stops after `time_limit_ms` (QueryTooSlow: a 503). The event loop's
    connection also has a `budget_ms`: the queries of one read (between `start_budget` and
    `end_budget`: app.isolation.read_endpoint) may hold the loop that long together; past it the query
    stops with OverBudget, and app.isolation answers the read off the loop. Queries outside a read's
    budget (a write's key check, readiness) have the time limit only: a busy machine must not turn
    them into refusals. `interrupt()`, from any thread, stops the running query and every later one
    with Cancelled, until `reset_interrupt()`.
    """

    dialect: ClassVar[str]  # "sqlite" or "postgresql": the key of app.dialects' tables
    _sql_dialect: ClassVar[Dialect]
    _compiled: ClassVar[dict[Hashable, CompiledSQL]]

    def __init__(self, *, time_limit_ms: int | None, budget_ms: int | None) -> None:
        self.time_limit_ms = time_limit_ms
        self.budget_ms = budget_ms
        self._budget_until: float | None = None  # the current request's budget ends (time.monotonic())
        self._interrupted = False
        self.cursor_key: bytes | None = None  # the database's, once read (app.routers.common.cursor_key)

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

    def start_budget(self) -> None:
        """A request starts: its queries together may run for `budget_ms`."""
        if self.budget_ms is not None:
            self._budget_until = time.monotonic() + self.budget_ms / 1000

    def end_budget(self) -> None:
        self._budget_until = None

    def _budget_end(self, now: float) -> float:
        """When the running query must stop for the request's budget (inf outside one); OverBudget if
        it has ended."""
        until = self._budget_until
        if until is None:
            return math.inf
        if now >= until:
            raise OverBudget
        return until

    def stop_if_past(self, now: float) -> None:
        """From the Watchdog's thread: stop the running query if it is past its deadline."""

    def interrupt(self) -> None:
        """Stop the running query and those that follow (Cancelled); safe from any thread."""
        raise NotImplementedError

    def reset_interrupt(self) -> None:
        self._interrupted = False

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def for_thread(self) -> ReadConnection:
        """Another connection to the same database with the same time limit and no budget, for a
        thread off the event loop (app.isolation)."""
        raise NotImplementedError

    def for_export(self) -> ReadConnection:
        """Another connection, for one long read (an export) off the event loop."""
        raise NotImplementedError

    def begin_snapshot(self) -> None:
        """Start a read transaction: what follows sees one snapshot of the data (an export's)."""
        raise NotImplementedError


def read_connection(
    database_url: str, *, time_limit_ms: int | None = None, budget_ms: int | None = None
) -> ReadConnection:
    """The read connection; each query stopped after `time_limit_ms`, and the queries of a request
    on the event loop after `budget_ms` (see ReadConnection), if they are given."""
    url = engine_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresReads(url, time_limit_ms=time_limit_ms, budget_ms=budget_ms)
    uri = sqlite_uri(database_url)
    return SQLiteReads(
        sqlite_path(database_url),
        uri=None if uri is None else f"{uri[0]}?{urlencode(uri[1])}",
        time_limit_ms=time_limit_ms,
        budget_ms=budget_ms,
    )


class Watchdog:
    """Stops SQLite queries that run past their deadline: one daemon thread per process that looks,
    every TICK seconds, at the deadline of the query each registered connection is running, and
    calls sqlite3_interrupt on those past it.

    A progress handler (a Python callback every N virtual-machine steps) is not enough: FTS5 reads a
    term's whole list of matches within one step, so `ma* OR an* OR co* OR pa*` held the event
    loop 160 ms past a 5 ms budget (and a single common word 15 ms) before the handler ran again;
    sqlite3_interrupt stopped the same queries within 6-9 ms (a 2 ms tick; 10 ms now). Off the loop
    it is the only clock: a handler there would take the GIL every 10,000 steps from the loop. The
    thread holds the GIL only for its look (a few microseconds)."""

    # A query overruns its deadline by at most this much (plus SQLite's reaction) where the event loop's
    # progress handler cannot stop it (FTS5). Each look takes the GIL: every 2 ms cost a busy worker
    # ~5 % of its CPU (in-process, Q1-Q6), every 10 ms nothing measurable.
    TICK = 0.010

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[ReadConnection] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def watch(self, connection: ReadConnection) -> None:
        with self.lock:
            self.connections.add(connection)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="chronicle-query-watchdog", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            for connection in list(self.connections):
                with contextlib.suppress(Exception):  # closed meanwhile (ProgrammingError): nothing to stop
                    connection.stop_if_past(now)


WATCHDOG = Watchdog()


class SQLiteReads(ReadConnection):
    """A read-only sqlite3 connection: queries take tens of microseconds, less than a thread hand-off.

    The time limit and the budget are one deadline, which the Watchdog enforces; sqlite3 releases the
    GIL while a statement runs, so a query in a thread leaves the event loop free."""

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
        budget_ms: int | None = None,
    ) -> None:
        super().__init__(time_limit_ms=time_limit_ms, budget_ms=budget_ms)
        self.path = path
        self.uri = uri  # a file: URI with open options (sqlite_uri), or None
        self.mmap_bytes = mmap_bytes  # the file mapped, not copied: fast, but counted in the process's RSS
        self.cache_kib = cache_kib
        self._deadline = math.inf  # the running query's, on time.monotonic()'s clock
        self._connection: sqlite3.Connection | None = None

    def for_thread(self) -> SQLiteReads:
        return SQLiteReads(self.path, uri=self.uri, time_limit_ms=self.time_limit_ms)

    def for_export(self) -> SQLiteReads:
        """No mapping and a small page cache, so that reading the whole database keeps the process's
        memory (RSS, mapped pages included) flat."""
        return SQLiteReads(self.path, uri=self.uri, mmap_bytes=0, cache_kib=8_000, time_limit_ms=self.time_limit_ms)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise FileNotFoundError(f"database file {self.path} does not exist: run `chronicle db upgrade`")
        target = self.uri or self.path
        connection = sqlite3.connect(target, uri=self.uri is not None, check_same_thread=False, cached_statements=256)
        connection.execute("PRAGMA query_only = ON")
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute(f"PRAGMA mmap_size = {self.mmap_bytes}")
        connection.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        if self.time_limit_ms is not None or self.budget_ms is not None:
            WATCHDOG.watch(self)
        if self.budget_ms is not None:
            # The event loop's connection: its budget is milliseconds, so it also looks at the clock
            # itself every PROGRESS_STEPS steps (in its own thread: no GIL to wait for). The
            # watchdog stops what runs without steps (FTS5 reading a term's matches).
            connection.set_progress_handler(self._past_deadline, PROGRESS_STEPS)
        return connection

    def _past_deadline(self) -> bool:
        return time.monotonic() > self._deadline  # True: SQLite stops the statement ("interrupted")

    def stop_if_past(self, now: float) -> None:
        """Interrupts the running query if it is past its deadline, or if it was interrupted: an
        interrupt that came as the query was starting found nothing to stop. (Should it have just
        ended, SQLite clears the interrupt when the next statement starts.)"""
        connection = self._connection
        running = self._deadline < math.inf  # all() sets a deadline for the statement it runs
        if connection is not None and (now > self._deadline or (self._interrupted and running)):
            connection.interrupt()

    def open(self) -> None:
        _ = self.connection

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def all(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple[Any, ...]]:
        query, values = (sql.text, sql.bind(params)) if isinstance(sql, CompiledSQL) else (sql, params)
        if self._interrupted:
            raise Cancelled
        connection = self.connection
        now = time.monotonic()
        limit_end = now + self.time_limit_ms / 1000 if self.time_limit_ms is not None else math.inf
        self._deadline = min(limit_end, self._budget_end(now))
        try:
            return connection.execute(query, values).fetchall()
        except sqlite3.OperationalError as exc:
            # An interrupt that lands inside SQLite's own machinery is told otherwise: while FTS5 builds
            # its virtual table (a connection's first full-text read), "vtable constructor failed".
            stopped = str(exc) == "interrupted" or self._interrupted or time.monotonic() > self._deadline
            if not stopped:
                raise
            if self._interrupted:
                raise Cancelled from None
            if self.time_limit_ms is not None and time.monotonic() >= limit_end:
                raise QueryTooSlow(self.time_limit_ms) from None
            raise OverBudget from None
        finally:
            self._deadline = math.inf

    def interrupt(self) -> None:
        self._interrupted = True
        WATCHDOG.watch(self)  # it interrupts again should this one come before the statement (stop_if_past)
        if self._connection is not None:
            self._connection.interrupt()

    def begin_snapshot(self) -> None:
        self.connection.execute("BEGIN")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresReads(ReadConnection):
    """A psycopg connection in autocommit mode (each statement its own snapshot), read-only, UTC.

    Like SQLite's, the loop's is used on the event loop: an indexed query on a nearby server answers
    in a fraction of a millisecond. psycopg prepares a statement on the server after its fifth use.
    Timestamps and JSON come back as the server's text (app.queries.records.timestamp parses the
    former; the latter is embedded in answers as it is).

    The server stops a query past the connection's statement_timeout, the time limit; on the event
    loop the Watchdog cancels one past the read's budget (a cancel request: a round trip to the
    server, from the watchdog's thread).
    """

    dialect = "postgresql"
    _sql_dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]  # pyformat: %(name)s, as psycopg takes them
    _compiled: ClassVar[dict[Hashable, CompiledSQL]] = {}
    _texts: ClassVar[dict[str, str]] = {}  # SQL text with :name parameters -> the same in psycopg's %(name)s style
    # Times each server was found gone (a restart, a failover) by any connection of this process: the
    # others then connect again before their next query instead of failing it too.
    _server_losses: ClassVar[dict[str, int]] = {}

    def __init__(self, url: URL, *, time_limit_ms: int | None = None, budget_ms: int | None = None) -> None:
        super().__init__(time_limit_ms=time_limit_ms, budget_ms=budget_ms)
        self.url = url
        self._server = url.render_as_string(hide_password=True)
        self._losses_seen = 0
        self._deadline = math.inf  # the running query's budget, on time.monotonic()'s clock
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None

    def for_thread(self) -> PostgresReads:
        return PostgresReads(self.url, time_limit_ms=self.time_limit_ms)

    def for_export(self) -> PostgresReads:
        return PostgresReads(self.url, time_limit_ms=self.time_limit_ms)

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        self._losses_seen = self._server_losses.get(self._server, 0)
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
        if self.budget_ms is not None:
            WATCHDOG.watch(self)
        return connection

    def stop_if_past(self, now: float) -> None:
        connection = self._connection
        if connection is None or connection.closed:
            return
        if now > self._deadline:
            self._deadline = math.inf  # one cancel request is enough
            connection.cancel_safe(timeout=2)
        elif self._interrupted and connection.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
            # A cancel that came as the statement was being sent found nothing to stop: again, until it ends.
            connection.cancel_safe(timeout=2)

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
        if self._interrupted:
            raise Cancelled
        if self._connection is not None and self._server_losses.get(self._server, 0) != self._losses_seen:
            self.close()  # another connection found the server gone since this one connected
        if self._connection is None or self._connection.closed:  # connecting again (a failover) is not
            started = time.monotonic()  # the read's time: its budget is moved on by as much
            _ = self.connection
            if self._budget_until is not None:
                self._budget_until += time.monotonic() - started
        connection = self.connection
        budget_end = self._budget_end(time.monotonic())
        self._deadline = budget_end
        try:
            try:
                return connection.execute(query, values).fetchall()
            except psycopg.errors.QueryCanceled as exc:
                # The connection is still good: the server stopped this one statement.
                if self._interrupted:
                    raise Cancelled from None
                if "statement timeout" in str(exc) and self.time_limit_ms is not None:
                    raise QueryTooSlow(self.time_limit_ms) from None
                if time.monotonic() >= budget_end:
                    raise OverBudget from None
                # A cancel the watchdog sent for the statement before, which ended as it was sent: a
                # cancel request stops whatever the server runs when it arrives. This one runs again.
                self._deadline = math.inf
                return connection.execute(query, values).fetchall()
        except psycopg.OperationalError as exc:
            if isinstance(exc, psycopg.errors.QueryCanceled):
                raise  # (cancelled twice in a row: a 503 to retry; the connection is good)
            # The server went away (a restart, a failover): this request fails (503), the next one
            # connects again - on every connection of this process.
            self._server_losses[self._server] = self._server_losses.get(self._server, 0) + 1
            self.close()
            raise
        finally:
            self._deadline = math.inf

    def interrupt(self) -> None:
        """Asks the server to cancel the running statement: a round trip to the server, so call it
        from a thread, not from the event loop."""
        self._interrupted = True
        WATCHDOG.watch(self)  # it cancels again should this one come before the statement (stop_if_past)
        connection = self._connection
        if connection is not None and not connection.closed:
            connection.cancel_safe(timeout=2)

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


# --- reads inside a write's transaction ----------------------------------------------------------------


class _SQLiteInTransaction(SQLiteReads):
    """Reads on a write session's own sqlite3 connection: they see what the transaction wrote."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        ReadConnection.__init__(self, time_limit_ms=None, budget_ms=None)
        self._deadline = math.inf
        self._connection = connection

    def close(self) -> None:
        self._connection = None  # the session's: it closes it


class _PostgresInTransaction(PostgresReads):
    """Reads on a write session's own psycopg connection, in its transaction; timestamps and JSON
    come back as text, as on PostgresReads (loaders registered on each cursor, not the connection)."""

    def __init__(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        ReadConnection.__init__(self, time_limit_ms=None, budget_ms=None)
        self._session_connection = connection

    def all(self, sql: str | CompiledSQL, params: Mapping[str, Any] = _NO_PARAMS) -> list[tuple[Any, ...]]:
        if isinstance(sql, CompiledSQL):
            query, values = sql.text, sql.bind(params)
        else:
            query, values = self._text(sql), dict(params)
        with self._session_connection.cursor() as cursor:
            for type_name in ("timestamptz", "json", "jsonb"):
                cursor.adapters.register_loader(type_name, TextLoader)
            return cursor.execute(query, values).fetchall()

    def close(self) -> None:
        pass  # the session's connection: it closes it


def transaction_reads(session: Session) -> ReadConnection:
    """The read path's interface over a write session's connection, inside its transaction: the answer
    to a write is read from the state that write produced, before it commits - never from a later
    state another writer made (nor from a replica that has not caught up)."""
    driver_connection = session.connection().connection.driver_connection
    if isinstance(driver_connection, sqlite3.Connection):
        return _SQLiteInTransaction(driver_connection)
    assert isinstance(driver_connection, psycopg.Connection)
    return _PostgresInTransaction(driver_connection)
