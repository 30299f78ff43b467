"""Fixtures: a seeded SQLite file and the real app served by uvicorn on 127.0.0.1 (a free port)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.cli import SEED_FILE
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.loader import load_records, read_file
from app.main import create_app
from app.migrate import upgrade


def make_database(path: Path, *, seed: bool = True) -> str:
    url = f"sqlite:///{path}"
    upgrade(url)
    if seed:
        load(url, read_file(SEED_FILE))
    return url


def load(url: str, records: list[Any]) -> None:
    """Load records into the database at `url` through the product's loader, in one transaction."""
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        load_records(session, records)
    engine.dispose()


@contextmanager
def serving(url: str) -> Iterator[httpx.Client]:
    """A client of the app served by uvicorn on the database at `url`."""
    with LiveServer(Settings(database_url=url)) as base, httpx.Client(base_url=base) as http:
        yield http


class LiveServer:
    """uvicorn serving create_app() in a thread; stops when the test session ends."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http
