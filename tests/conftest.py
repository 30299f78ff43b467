"""Fixtures: a seeded database and the real app served by uvicorn on 127.0.0.1 (a free port).

The suite runs on one engine per pass (`python -m tests` runs both, tests/__main__.py): SQLite files
(the default), or PostgreSQL with `--engine postgresql` (or CHRONICLE_TEST_ENGINE=postgresql), where
every database a test makes is a new database on the server at CHRONICLE_TEST_POSTGRES_URL, dropped
when the session ends. Without a reachable server that pass is skipped with the reason, unless
CHRONICLE_REQUIRE_POSTGRES=1 (CI), which makes it fail. Tests of SQLite itself are marked
`sqlite_only`; tests whose outcome cannot depend on the engine, `engine_neutral` (the SQLite pass only).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, make_url, text

from app.cli import SEED_FILE
from app.config import Settings
from app.db import engine_url, make_engine, make_sessionmaker
from app.loader import load_records, read_file
from app.main import create_app
from app.migrate import upgrade
from app.server import uvicorn_config

# Hypothesis draws the same examples on every run and has no deadline and no too-slow check: no test
# depends on the machine's speed or on luck. CHRONICLE_HYPOTHESIS=explore draws new examples each run
# (and more of them), for a developer hunting bugs; what it finds belongs in an @example.
hypothesis.settings.register_profile(
    "repeatable", deadline=None, derandomize=True, database=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)  # fmt: skip
hypothesis.settings.register_profile(
    "explore", deadline=None, max_examples=1000, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile(os.environ.get("CHRONICLE_HYPOTHESIS", "repeatable"))

POSTGRES_URL = os.environ.get("CHRONICLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ENGINE = "sqlite"  # set from --engine by pytest_configure
BOUND = 60.0  # seconds: far beyond what a working server needs, for waits that would otherwise hang

# httpx gives up on an answer after 5 s by default: on a busy machine a slow answer is no failure. Every
# client in the suite waits up to BOUND unless a test says otherwise (a hung server still fails).
_HTTPX_DEFAULT = httpx._config.DEFAULT_TIMEOUT_CONFIG  # the object httpx.Client() and httpx.get() default to
_HTTPX_DEFAULT.connect = _HTTPX_DEFAULT.read = _HTTPX_DEFAULT.write = _HTTPX_DEFAULT.pool = BOUND


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine", choices=("sqlite", "postgresql"), default=os.environ.get("CHRONICLE_TEST_ENGINE", "sqlite"),
        help="the database engine this pass runs on (default: sqlite)",
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    global ENGINE
    ENGINE = config.getoption("--engine")
    config.addinivalue_line("markers", "sqlite_only: tests SQLite itself (its files, pragmas, query plans)")
    config.addinivalue_line("markers", "postgresql_only: tests PostgreSQL itself (its query plans)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The long batteries first: spread over the cores (pytest-xdist), they then run beside the many short
    # tests instead of after them, alone on one core. (Tests never depend on their order.)
    items.sort(key=lambda item: item.get_closest_marker("stress") is None)
    if ENGINE != "postgresql":
        for item in items:
            if item.get_closest_marker("postgresql_only"):
                item.add_marker(pytest.mark.skip(reason="tests PostgreSQL: the --engine postgresql pass runs it"))
        return
    unreachable = _postgres_unreachable()
    if unreachable and os.environ.get("CHRONICLE_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError(f"CHRONICLE_REQUIRE_POSTGRES=1 but {unreachable}")
    for item in items:
        if unreachable:
            item.add_marker(pytest.mark.skip(reason=unreachable))
        elif item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="tests SQLite itself"))
        elif item.get_closest_marker("engine_neutral"):
            item.add_marker(pytest.mark.skip(reason="does not depend on the engine: the SQLite pass runs it"))


def _postgres_unreachable() -> str | None:
    engine = create_engine(engine_url(POSTGRES_URL))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"PostgreSQL is not reachable at {POSTGRES_URL} (set CHRONICLE_TEST_POSTGRES_URL): {exc}"
    finally:
        engine.dispose()


class PostgresDatabases:
    """Throwaway databases on the test server: each a copy of a migrated template (a file copy on
    the server, much faster than running the migrations again)."""

    def __init__(self) -> None:
        self.prefix = f"chronicle_test_{os.getpid()}"
        self.names = itertools.count()
        self.made: list[str] = []
        self.template: str | None = None
        self.seeded_template: str | None = None

    def _admin(self, statement: str) -> None:
        engine = create_engine(engine_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def new(self, *, migrated: bool = True, seeded: bool = False) -> str:
        if migrated and self.template is None:
            self.template = f"{self.prefix}_template"
            self._create(self.template, "template0")
            upgrade(self.url(self.template))
        if seeded and self.seeded_template is None:
            self.seeded_template = f"{self.prefix}_seeded"
            self._create(self.seeded_template, self.template)
            load(self.url(self.seeded_template), read_file(SEED_FILE))
        name = f"{self.prefix}_{next(self.names)}"
        self._create(name, self.seeded_template if seeded else self.template if migrated else "template0")
        return self.url(name)

    def _create(self, name: str, template: str | None) -> None:
        # C.UTF-8 sorts by code point, as SQLite does: the same order of names and the same cursors.
        self._admin(f"CREATE DATABASE {name} TEMPLATE {template} ENCODING 'UTF8' LOCALE 'C.UTF-8'")
        self.made.append(name)

    def drop_all(self) -> None:
        for name in reversed(self.made):
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


POSTGRES = PostgresDatabases()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if POSTGRES.made:
        POSTGRES.drop_all()
    for template in SQLITE.made.values():
        shutil.rmtree(template.parent, ignore_errors=True)


def database_url(path: Path) -> str:
    """A new, empty database for this pass's engine: the SQLite file at `path`, or a new database
    on the PostgreSQL server (its name does not come from `path`)."""
    return POSTGRES.new(migrated=False) if ENGINE == "postgresql" else f"sqlite:///{path}"


class SqliteTemplates:
    """A migrated and a seeded SQLite database, each made once per test process (migrating and
    loading the seed take a good part of a second) and copied for each test with SQLite's backup API
    (a consistent copy, in milliseconds)."""

    def __init__(self) -> None:
        self.made: dict[bool, Path] = {}

    def copy(self, path: Path, *, seeded: bool) -> str:
        if seeded not in self.made:
            template = Path(tempfile.mkdtemp(prefix="chronicle-test-")) / f"template-{seeded}.sqlite3"
            upgrade(f"sqlite:///{template}")
            if seeded:
                load(f"sqlite:///{template}", read_file(SEED_FILE))
            self.made[seeded] = template
        with closing(sqlite3.connect(self.made[seeded])) as source, closing(sqlite3.connect(path)) as target:
            source.backup(target)
        return f"sqlite:///{path}"


SQLITE = SqliteTemplates()


def make_database(path: Path, *, seed: bool = True) -> str:
    """A migrated database (seeded unless told not to) for this pass's engine, a copy of a template
    made once: the SQLite file at `path`, or a new database on the PostgreSQL server."""
    return POSTGRES.new(seeded=seed) if ENGINE == "postgresql" else SQLITE.copy(path, seeded=seed)


def run_sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Run one statement on the database at `url` in its own transaction; its rows (if any)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params or {})
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def load(url: str, records: list[Any]) -> None:
    """Load records into the database at `url` through the product's loader, in one transaction."""
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        load_records(session, records)
    engine.dispose()


def metric(base: str, name: str) -> float:
    """One unlabelled gauge or counter of the server at `base`, from its /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=BOUND).text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found[1])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Synchronise on what the system shows (a metric, a log line), polling: never a bare sleep.
    BOUND only stops a broken server from hanging the suite."""
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {BOUND} s"
        time.sleep(0.02)


@contextmanager
def serving(url: str) -> Iterator[httpx.Client]:
    """A client of the app served by uvicorn on the database at `url`."""
    with LiveServer(Settings(database_url=url)) as base, httpx.Client(base_url=base) as http:
        yield http


class LiveServer:
    """uvicorn serving create_app() in a thread; stops when the test session ends."""

    def __init__(self, settings: Settings, *, app: FastAPI | None = None) -> None:
        config = uvicorn_config(  # as `chronicle serve` runs it
            app or create_app(settings), settings, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + BOUND
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=BOUND)


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, seeded database shared by read-only tests (reads change nothing)."""
    return make_database(tmp_path_factory.mktemp("db") / "chronicle.sqlite3")


@pytest.fixture(scope="session")
def base_url(seeded_url: str) -> Iterator[str]:
    with LiveServer(Settings(database_url=seeded_url)) as url:
        yield url


@pytest.fixture(scope="session")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=BOUND) as http:
        yield http
