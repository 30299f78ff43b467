"""Faults of the database under the real app: its disk fills up, it is read-only. What a client sees
(app/errors.py, "database failures"): out of space, a 507 problem+json; read-only, a 503 problem+json
without Retry-After; never a 500. Either way nothing is half-written and reads keep being served.

- The disk fills: SQLite's own size limit (`PRAGMA max_page_count`, set on every write connection the
  app checks out) is reached by writing until a write is refused; then the limit is raised (space
  freed) and writes work again. Where this process may mount file systems (root, as in CI), the same
  on a real full disk: a small tmpfs, filled up by another file; on PostgreSQL (a local server), a
  tablespace on a small tmpfs, filled up by imports, then grown.
- Read-only: `chronicle serve` on `sqlite:///PATH?mode=ro` (start-up checks the migration and the seed
  without writing), and, where it may mount, a read-only bind mount served with `?immutable=1`. On
  PostgreSQL: a database whose sessions are read-only (`default_transaction_read_only`, as a standby's).

PostgreSQL restarted under load is bench/faults.py: a restart would break other runs on the server.
"""

from __future__ import annotations

import contextlib
import errno
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from app.cli import SEED_FILE
from app.config import Settings
from app.errors import database_failure
from app.loader import read_file
from app.migrate import upgrade
from tests.conftest import ENGINE, POSTGRES, POSTGRES_URL, LiveServer, load, make_database, run_sql
from tests.test_editing_api import EVENT, events, make_keys
from tests.test_editing_stress import Server

PROBLEM = "application/problem+json"
MAX_PAGES = 1_073_741_823  # SQLite's default max_page_count (SQLITE_MAX_PAGE_COUNT)


def new_event(slug: str) -> dict[str, Any]:
    return {**EVENT, "slug": slug, "title": f"Event {slug}"}


def assert_problem(answer: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    for word in words:
        assert word in body["detail"], body
    return body


def write_engine(server: LiveServer) -> Engine:
    """The write engine of the app `server` serves (app.main.create_app keeps it in a sessionmaker)."""
    app = server.server.config.app
    assert isinstance(app, FastAPI)
    engine: Engine = app.state.write_sessions.kw["bind"]
    return engine


def counts(url: str) -> dict[str, int]:
    """Rows a write adds to: records, revisions, the audit trail, and the data version."""
    sql = {
        "records": "SELECT count(*) FROM records", "revisions": "SELECT count(*) FROM revisions",
        "audit": "SELECT count(*) FROM audit", "version": "SELECT max(version) FROM data_version",
    }  # fmt: skip
    return {name: int(run_sql(url, statement)[0][0]) for name, statement in sql.items()}


def assert_reads_served(http: httpx.Client) -> None:
    assert http.get("/v1/events/october-revolution").status_code == 200
    assert http.get("/v1/events", params={"year": 1929}).json()["total"]["value"] >= 1
    assert http.get("/v1/search", params={"q": "trotsky"}).status_code == 200
    assert http.get("/readyz").status_code == 200  # reads work: the replica stays in rotation


# --- the disk fills up ----------------------------------------------------------------------------------


def fill_until_refused(http: httpx.Client, prefix: str, limit: int = 500) -> tuple[list[str], httpx.Response]:
    """POST new events one at a time until one is refused: the slugs written, and the refusal."""
    written: list[str] = []
    for i in range(limit):
        answer = http.post("/v1/events", json=new_event(f"{prefix}-{i}"))
        if answer.status_code != 201:
            return written, answer
        written.append(f"{prefix}-{i}")
    pytest.fail(f"{limit} events were written and none was refused: the database never filled up")


def check_refused_while_full(http: httpx.Client, url: str, written: list[str], refused: httpx.Response) -> None:
    """The first refusal and every other kind of write: 507, nothing of them written, reads served."""
    assert_problem(refused, 507, "no space left", "nothing was written")
    assert "retry-after" not in refused.headers  # space comes back when an operator frees it, not in seconds
    before = counts(url)
    etag = http.get(f"/v1/events/{written[0]}").headers["etag"]
    tries = [
        http.post("/v1/events", json=new_event("one-too-many")),
        http.patch(f"/v1/events/{written[0]}", json={"summary": "x" * 20_000}, headers={"If-Match": etag}),
        http.put(
            f"/v1/events/{written[0]}",
            json={**new_event(written[0]), "summary": "y" * 20_000},
            headers={"If-Match": etag},
        ),
        http.post("/v1/import", json=events(200, start=5000)),  # all or nothing: none of the 200
    ]
    for answer in tries:
        assert_problem(answer, 507, "no space left")
    assert counts(url) == before  # not a record, a revision, an audit row or a version more
    assert http.get("/v1/events/one-too-many").status_code == 404
    assert http.get(f"/v1/events/{written[0]}").headers["etag"] == etag
    assert run_sql(url, "SELECT count(*) FROM records WHERE slug LIKE 'imported-5%'") == [(0,)]
    assert_reads_served(http)
    assert run_sql(url, "PRAGMA integrity_check") == [("ok",)]


def check_writes_again(http: httpx.Client, url: str, written: list[str]) -> None:
    assert http.post("/v1/events", json=new_event("one-too-many")).status_code == 201
    imported = http.post("/v1/import", json=events(200, start=5000))
    assert imported.status_code == 200 and len(imported.json()["created"]) == 200, imported.text[:500]
    for slug in [*written, "one-too-many", "imported-5199"]:
        assert http.get(f"/v1/events/{slug}").status_code == 200
    assert run_sql(url, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.sqlite_only
def test_a_full_database_refuses_writes_whole_and_recovers(tmp_path: Path) -> None:
    """SQLite's size limit: every write connection the app checks out gets `PRAGMA max_page_count`
    (a real limit of SQLite's, which answers SQLITE_FULL as on a full disk), a few pages above the
    database's size; events are written until one is refused."""
    url = make_database(tmp_path / "full.sqlite3")
    key = make_keys(url)["write"]
    limit = {"pages": MAX_PAGES}
    server = LiveServer(Settings(database_url=url))

    @event.listens_for(write_engine(server), "checkout")
    def _size_limit(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {limit['pages']}")

    headers = {"Authorization": f"Bearer {key}"}
    with server as base, httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        limit["pages"] = int(run_sql(url, "PRAGMA page_count")[0][0]) + 16  # 64 KiB to spare
        written, refused = fill_until_refused(http, "until-full")
        assert written, "the first write was refused: no room was left to fill"
        check_refused_while_full(http, url, written, refused)
        limit["pages"] = MAX_PAGES  # space freed: no restart needed
        check_writes_again(http, url, written)


@contextlib.contextmanager
def mounted(target: Path, *args: str) -> Iterator[Path]:
    """`mount *args target`, unmounted at the end; skips the test where this process may not mount."""
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (needs root and CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield target
    finally:
        if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(target)], check=False)


def fill_disk(directory: Path, spare: int) -> Path:
    """A file that takes all but about `spare` bytes of the file system `directory` is on."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):  # unbuffered: close writes nothing
        while out.write(b"\0" * 4096):
            pass
    assert filler.stat().st_size > 0
    with filler.open("r+b") as out:  # give back `spare` bytes
        out.truncate(max(filler.stat().st_size - spare, 0))
    return filler


@pytest.mark.sqlite_only
def test_a_full_disk_refuses_writes_whole_and_recovers(tmp_path: Path) -> None:
    """A real full disk: the database on a 16 MiB tmpfs, which another file fills up to 64 KiB. Deleting
    that file frees the space; the server is not restarted."""
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=16m", "tmpfs") as disk:
        url = make_database(disk / "chronicle.sqlite3")
        key = make_keys(url)["write"]
        headers = {"Authorization": f"Bearer {key}"}
        with (
            LiveServer(Settings(database_url=url)) as base,
            httpx.Client(base_url=base, headers=headers, timeout=30) as http,
        ):
            assert http.post("/v1/events", json=new_event("before-the-disk-filled")).status_code == 201
            filler = fill_disk(disk, spare=64 * 1024)
            written, refused = fill_until_refused(http, "until-full", limit=2000)
            check_refused_while_full(http, url, [*written, "before-the-disk-filled"], refused)
            filler.unlink()
            check_writes_again(http, url, written)


def postgres_here() -> str | None:
    """Why PostgreSQL's files cannot be put on a file system this test mounts (None: they can)."""
    if make_url(POSTGRES_URL).host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return f"the PostgreSQL server at {POSTGRES_URL} is not on this machine"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no `postgres` user on this machine to own a tablespace's directory"
    return None


@pytest.mark.postgresql_only
def test_a_full_postgresql_tablespace_refuses_writes_whole_and_recovers() -> None:
    """PostgreSQL's disk fills (SQLSTATE 53100, "could not extend file"): the database in a tablespace
    on an 8 MiB tmpfs, filled by imports. Growing the file system (remount) frees space."""
    if reason := postgres_here():
        pytest.skip(reason)
    name = f"{POSTGRES.prefix}_full"
    directory = Path(tempfile.mkdtemp(prefix="chronicle-tablespace-", dir="/tmp"))  # not under root's 0700 tmp_path
    try:
        with mounted(directory, "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs") as disk:
            shutil.chown(disk, "postgres", "postgres")
            try:
                POSTGRES._admin(f"CREATE TABLESPACE {name} LOCATION '{disk}'")
            except DBAPIError as exc:
                pytest.skip(f"the server cannot use {disk} for a tablespace: {str(exc).splitlines()[0]}")
            try:
                POSTGRES._admin(
                    f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' TABLESPACE {name}"
                )
                url = POSTGRES.url(name)
                upgrade(url)
                load(url, read_file(SEED_FILE))
                key = make_keys(url)["write"]
                headers = {"Authorization": f"Bearer {key}"}
                with (
                    LiveServer(Settings(database_url=url)) as base,
                    httpx.Client(base_url=base, headers=headers, timeout=60) as http,
                ):
                    for batch in range(100):
                        before = counts(url)
                        refused = http.post("/v1/import", json=events(200, start=10_000 + 200 * batch))
                        if refused.status_code != 200:
                            break
                    assert_problem(refused, 507, "no space left", "nothing was written")
                    assert "retry-after" not in refused.headers
                    assert counts(url) == before  # the import, all or nothing: nothing
                    assert_reads_served(http)
                    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
                    again = http.post("/v1/import", json=events(200, start=10_000 + 200 * batch))
                    assert again.status_code == 200 and len(again.json()["created"]) == 200, again.text[:500]
            finally:
                POSTGRES._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                POSTGRES._admin(f"DROP TABLESPACE IF EXISTS {name}")
    finally:
        directory.rmdir()


def answered(exc: BaseException) -> tuple[int, dict[str, str]] | None:
    """The status and headers app.errors answers `exc` with; None for a 500."""
    failure = database_failure(exc)
    return None if failure is None else (failure[0], failure[2])


def test_database_failures_are_told_apart() -> None:
    """app.errors.database_failure, for errors a test cannot easily cause for real (PostgreSQL's disk
    filling up) and for the chain SQLite leaves when it rolls a whole transaction back."""
    assert answered(psycopg.errors.DiskFull("could not extend file")) == (507, {})
    assert answered(psycopg.errors.ReadOnlySqlTransaction("read-only transaction")) == (503, {})
    assert answered(psycopg.errors.AdminShutdown("terminating connection")) == (503, {"Retry-After": "2"})
    assert answered(psycopg.errors.LockNotAvailable("lock timeout")) == (503, {"Retry-After": "1"})
    assert answered(psycopg.errors.UniqueViolation("duplicate key")) is None  # a bug: a 500
    assert answered(ValueError("not a database error")) is None
    # On SQLITE_FULL, SQLite rolls the whole transaction back; the rollback to the savepoint that
    # follows fails, and has the full disk as its context.
    full = sqlite3.connect(":memory:")
    full.execute("CREATE TABLE t (x)")
    full.execute("PRAGMA max_page_count = 2")  # the schema's page and the table's
    with pytest.raises(sqlite3.OperationalError, match="full") as disk:
        full.execute("INSERT INTO t SELECT zeroblob(10000)")
    savepoint = OperationalError("ROLLBACK TO SAVEPOINT sa_savepoint_1", None, sqlite3.OperationalError("no such"))
    savepoint.__context__ = disk.value
    assert answered(savepoint) == (507, {})
    assert answered(OperationalError("SELECT 1", None, sqlite3.OperationalError("no such savepoint"))) is None


# --- read-only ------------------------------------------------------------------------------------------

WRITES: list[tuple[str, str, Any]] = [  # method, path, JSON body
    ("POST", "/v1/events", new_event("not-to-be-written")),
    ("PATCH", "/v1/events/october-revolution", {"summary": "changed"}),
    ("PUT", "/v1/events/october-revolution", new_event("october-revolution")),
    ("DELETE", "/v1/events/october-revolution?unlink=true", None),
    ("POST", "/v1/import", events(50)),
]


def check_read_only(http: httpx.Client, url: str, keys: dict[str, str]) -> None:
    """Every kind of write: a 503 naming the cause, without Retry-After; nothing written; reads served."""
    before = counts(url)
    identity = {"Accept-Encoding": "identity"}
    etag = http.get("/v1/events/october-revolution", headers=identity).headers["etag"]
    for method, path, body in WRITES:
        headers = {"Authorization": f"Bearer {keys['write']}", "If-Match": etag}
        answer = http.request(method, path, headers=headers, json=body)
        assert_problem(answer, 503, "read-only", "nothing was written")
        assert "retry-after" not in answer.headers  # read-only until an operator changes it: no time to give
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    assert_problem(http.post("/v1/events/october-revolution/restore?revision=1", headers=admin), 503, "read-only")
    assert counts(url) == before  # not a record, a revision, an audit row or a version more
    assert http.get("/v1/events/not-to-be-written").status_code == 404
    assert http.get("/v1/events/october-revolution", headers=identity).headers["etag"] == etag
    assert_reads_served(http)
    assert http.get("/v1/events/october-revolution/revisions").status_code == 200
    assert http.get("/v1/export", params={"format": "ndjson"}).status_code == 200  # its own snapshot connection


def server_errors(http: httpx.Client) -> list[str]:
    """The lines of /metrics that count 500s."""
    return [line for line in http.get("/metrics").text.splitlines() if 'status="500"' in line]


@pytest.mark.sqlite_only
def test_serve_on_a_read_only_url(tmp_path: Path) -> None:
    """`chronicle serve` with `sqlite:///PATH?mode=ro`, on a database migrated and seeded before: it
    starts (the migration and the seed are checked, not written), serves reads, refuses writes."""
    url = make_database(tmp_path / "ro.sqlite3")
    keys = make_keys(url)
    server = Server(f"{url}?mode=ro", tmp_path / "server.log", {})
    try:
        server.start()
        with server.client() as http:
            check_read_only(http, url, keys)
            assert server_errors(http) == []
    finally:
        server.stop()
    output = server.output()
    assert "Traceback" not in output and "unhandled error" not in output, output[-4000:]
    assert run_sql(url, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.sqlite_only
def test_serve_from_a_read_only_file_system(tmp_path: Path) -> None:
    """The database on a read-only bind mount (a read-only volume, a snapshot), served with
    `?immutable=1`: a WAL database there has no -wal and -shm files and could not be opened otherwise."""
    source = tmp_path / "data"
    source.mkdir()
    url = make_database(source / "chronicle.sqlite3")
    keys = make_keys(url)
    assert sorted(path.name for path in source.iterdir()) == ["chronicle.sqlite3"]  # closed cleanly: no -wal
    with mounted(tmp_path / "ro", "--bind", "-o", "ro", str(source)) as ro:
        with pytest.raises(OSError, match="Read-only file system") as refused:
            (ro / "probe").touch()
        assert refused.value.errno == errno.EROFS
        server = Server(f"sqlite:///{ro / 'chronicle.sqlite3'}?immutable=1", tmp_path / "server.log", {})
        try:
            server.start()
            with server.client() as http:
                check_read_only(http, url, keys)
                assert server_errors(http) == []
        finally:
            server.stop()
    assert "Traceback" not in server.output(), server.output()[-4000:]


@pytest.mark.postgresql_only
def test_a_read_only_postgresql_database(tmp_path: Path) -> None:
    """A database whose sessions are read-only (as on a standby, or `default_transaction_read_only`):
    writes are a 503 naming the cause, reads are served."""
    assert ENGINE == "postgresql"
    url = make_database(tmp_path / "unused")
    keys = make_keys(url)
    name = url.rsplit("/", 1)[1]
    POSTGRES._admin(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    try:
        with LiveServer(Settings(database_url=url)) as base, httpx.Client(base_url=base, timeout=30) as http:
            check_read_only(http, url, keys)  # (run_sql's sessions are read-only too: it only reads here)
            assert server_errors(http) == []
    finally:
        POSTGRES._admin(f"ALTER DATABASE {name} RESET default_transaction_read_only")
