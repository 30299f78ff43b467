"""No request stalls the others (app.isolation, app.server, app.limits): a read that runs past the
loop's budget is answered off the event loop, and stopped when its client leaves; exports are cut
off at their time limit; slow clients cannot hold a worker's connections or its request slots.

A runaway read is made by a route these tests add: a query that never ends by itself (an endless
recursive CTE on SQLite, pg_sleep on PostgreSQL), so nothing here depends on the machine's speed. A
wait for something the server does (a thread freed, a connection closed) polls for that state, with
a generous bound that only a broken server reaches.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response

from app.config import Settings
from app.db import Cancelled, OverBudget, QueryTooSlow, ReadConnection, read_connection
from app.isolation import OffLoop, read_db, read_endpoint
from app.main import create_app
from app.routers.formats import ExportStream
from tests.conftest import BOUND, LiveServer, make_database, metric, wait_until

pytestmark = pytest.mark.stress  # a battery: `-m "not stress"` leaves it out (pyproject.toml, markers)

RUNAWAY_SQL = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(3600)",
}


def runaway(db: ReadConnection) -> None:
    db.all(RUNAWAY_SQL[db.dialect])


def with_test_routes(settings: Settings) -> FastAPI:
    """The app, plus routes whose reads never end by themselves."""
    app = create_app(settings)

    @read_endpoint
    def runaway_read(request: Request) -> Response:
        runaway(read_db(request))
        return Response("never")

    @read_endpoint
    def runaway_export(request: Request) -> Response:
        """An export whose first chunk comes at once and whose second never does."""
        db = read_db(request).for_export()

        def chunks() -> Iterator[bytes]:
            yield b"first\n"
            runaway(db)
            yield b"never\n"

        return ExportStream(request, db, chunks(), media_type="text/plain", headers={})

    @read_endpoint
    def endless_export(request: Request) -> Response:
        """An export that would never end: only its time limit stops it."""
        db = read_db(request).for_export()
        return ExportStream(request, db, iter(lambda: b"x" * 1000, None), media_type="text/plain", headers={})

    app.add_api_route("/test/runaway", runaway_read)
    app.add_api_route("/test/runaway-export", runaway_export)
    app.add_api_route("/test/endless-export", endless_export)
    return app


@contextmanager
def serving_app(app: FastAPI, settings: Settings) -> Iterator[str]:
    with LiveServer(settings, app=app) as base:
        yield base


def send_request(
    base: str, path: str, *, source: str = "127.0.0.1", receive_buffer: int | None = None
) -> socket.socket:
    """A GET sent on a raw socket (left open: the caller reads, or does not)."""
    host, port = base.removeprefix("http://").split(":")
    connection = socket.socket()
    if receive_buffer is not None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.bind((source, 0))
    connection.connect((host, int(port)))
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return connection


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or resets it)."""
    connection.settimeout(BOUND)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.fixture
def database(tmp_path: Path) -> str:
    return make_database(tmp_path / "isolation.sqlite3")


def test_the_loop_budget_stops_a_read_s_queries_together(seeded_url: str) -> None:
    db = read_connection(seeded_url, time_limit_ms=2_000, budget_ms=50)
    try:
        db.start_budget()  # a read starts (app.isolation.read_endpoint)
        with pytest.raises(OverBudget):  # the budget, not the time limit, stops it
            runaway(db)
        with pytest.raises(OverBudget):  # the read's budget is spent: its next query does not start
            db.one("SELECT count(*) FROM records")
        db.end_budget()
        assert db.one("SELECT count(*) FROM records") is not None  # the connection still serves
        # Outside a read (a write's key check), only the time limit applies: no refusal for a busy loop.
        with pytest.raises(QueryTooSlow):
            runaway(db)
    finally:
        db.close()


class StoppedInsideSQLite:
    """A connection whose statement fails as SQLite tells an interrupt that landed while FTS5 was
    building its virtual table (seen under load: a 500 instead of the read moving off the loop)."""

    def __init__(self, db: ReadConnection, *, deadline_passes: bool) -> None:
        self.db, self.deadline_passes = db, deadline_passes

    def execute(self, *_args: object) -> None:
        if self.deadline_passes:
            self.db._deadline = 0.0  # type: ignore[attr-defined]  # the budget ran out meanwhile
        raise sqlite3.OperationalError("vtable constructor failed: events_fts")


@pytest.mark.sqlite_only
def test_an_interrupt_told_as_another_error_is_still_the_budget(seeded_url: str) -> None:
    db = read_connection(seeded_url, time_limit_ms=60_000, budget_ms=50)
    try:
        db.start_budget()
        db._connection = StoppedInsideSQLite(db, deadline_passes=True)  # type: ignore[attr-defined]
        with pytest.raises(OverBudget):
            db.all("SELECT rowid FROM events_fts WHERE events_fts MATCH 'exile'")
        db.end_budget()
        db._connection = StoppedInsideSQLite(db, deadline_passes=False)  # type: ignore[attr-defined]
        with pytest.raises(sqlite3.OperationalError, match="vtable constructor failed"):  # a real failure stays one
            db.all("SELECT rowid FROM events_fts WHERE events_fts MATCH 'exile'")
    finally:
        db._connection = None  # type: ignore[attr-defined]
        db.close()


def test_work_queued_as_the_app_stops_still_runs(seeded_url: str) -> None:
    """An export's clean-up, which closes its connection, is queued as its answer ends: an app
    stopping just then runs it, never drops it (a psycopg connection was left open to the garbage
    collector, seen once as a ResourceWarning)."""
    off_loop = OffLoop(read_connection(seeded_url), threads=1, wait_seconds=BOUND)
    executor = off_loop.executor
    ran: list[str] = []

    def busy_until_the_app_stops() -> None:
        wait_until(lambda: executor._shutdown, "stopping")
        with executor._shutdown_lock:  # shutdown has dealt with the queue
            pass

    executor.submit(busy_until_the_app_stops)
    executor.submit(lambda: ran.append("clean-up"))
    off_loop.close()
    assert ran == ["clean-up"]


def test_an_interrupt_that_comes_as_the_statement_starts_still_stops_it(seeded_url: str) -> None:
    """The race of a client leaving an export: the interrupt comes after the read checked for one and
    before its statement reached the database, where there was nothing yet to stop. The watchdog
    interrupts again while the statement runs. (Seen on PostgreSQL: an export's thread held 60 s.)"""
    db = read_connection(seeded_url, time_limit_ms=600_000).for_export()
    stopped: list[BaseException] = []
    db.open()
    db.interrupt()  # nothing runs yet: this one finds nothing to stop

    def statement_that_missed_the_check() -> None:  # as all() runs it, its check for an interrupt passed
        db._deadline = time.monotonic() + 600  # type: ignore[attr-defined]
        try:
            db.connection.execute(RUNAWAY_SQL[db.dialect])  # type: ignore[attr-defined]
        except Exception as exc:
            stopped.append(exc)

    try:
        worker = threading.Thread(target=statement_that_missed_the_check)
        worker.start()
        worker.join(timeout=BOUND)
        assert not worker.is_alive(), "the statement ran on, interrupt or not"
        assert [type(exc).__name__ for exc in stopped] in (["OperationalError"], ["QueryCanceled"])
    finally:
        db.close()


def test_interrupt_stops_a_query_from_another_thread(seeded_url: str) -> None:
    db = read_connection(seeded_url, time_limit_ms=600_000).for_thread()
    stopped: list[BaseException] = []

    def run() -> None:
        try:
            runaway(db)
        except BaseException as exc:
            stopped.append(exc)

    try:
        worker = threading.Thread(target=run)
        worker.start()
        while worker.is_alive() and not stopped:
            db.interrupt()  # (until the query has started: an interrupt before it is kept, too)
            worker.join(timeout=0.05)
        worker.join(timeout=BOUND)
        assert [type(exc) for exc in stopped] == [Cancelled]
        with pytest.raises(Cancelled):  # and every query after, until reset
            db.one("SELECT 1")
        db.reset_interrupt()
        assert db.one("SELECT 1") == (1,)
    finally:
        db.close()


def test_a_runaway_read_leaves_the_event_loop_and_others_are_answered(database: str) -> None:
    settings = Settings(database_url=database, query_time_limit_ms=600_000)
    with serving_app(with_test_routes(settings), settings) as base:
        stuck = send_request(base, "/test/runaway")
        wait_until(lambda: metric(base, "chronicle_off_loop_threads_busy") == 1, "running off the loop")
        assert metric(base, "chronicle_off_loop_reads") == 1  # the loop's budget stopped it, a thread took it
        # The loop is free: other requests are answered while the runaway query runs.
        assert httpx.get(f"{base}/healthz", timeout=BOUND).status_code == 200
        answer = httpx.get(f"{base}/v1/events", params={"year": 1929, "limit": 2}, timeout=BOUND)
        assert answer.status_code == 200 and answer.json()["items"][0]["slug"] == "trotskys-exile"
        # Its client leaves: the query is interrupted and the thread freed.
        stuck.close()
        wait_until(lambda: metric(base, "chronicle_off_loop_threads_busy") == 0, "freed")
        assert metric(base, "chronicle_off_loop_cancelled") == 1
        assert 'status="499"' in httpx.get(f"{base}/metrics", timeout=BOUND).text


def test_a_read_past_the_query_time_limit_is_a_503_with_retry_after(database: str) -> None:
    settings = Settings(database_url=database, query_time_limit_ms=300)
    with serving_app(with_test_routes(settings), settings) as base:
        answer = httpx.get(f"{base}/test/runaway", timeout=BOUND)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert answer.headers["content-type"] == "application/problem+json"
        assert "300 ms limit" in answer.json()["detail"]
        wait_until(lambda: metric(base, "chronicle_off_loop_threads_busy") == 0, "freed")


def test_reads_wait_for_a_free_thread_and_are_refused_past_the_time_limit(database: str) -> None:
    settings = Settings(database_url=database, query_time_limit_ms=1000, off_loop_threads=1)
    with serving_app(with_test_routes(settings), settings) as base:
        first = send_request(base, "/test/runaway")
        wait_until(lambda: metric(base, "chronicle_off_loop_threads_busy") == 1, "running off the loop")
        # The one thread is busy for the first read's time limit; a second waits, then is answered:
        # 503 either way (its own query runs away too), never a hang.
        second = httpx.get(f"{base}/test/runaway", timeout=BOUND)
        assert second.status_code == 503 and "retry-after" in second.headers
        assert read_until_closed(first).startswith(b"HTTP/1.1 503")
        first.close()


def test_an_export_stops_when_its_client_leaves(database: str) -> None:
    settings = Settings(database_url=database, query_time_limit_ms=600_000)
    with serving_app(with_test_routes(settings), settings) as base:
        reader = send_request(base, "/test/runaway-export")
        reader.settimeout(BOUND)
        assert reader.recv(65536).startswith(b"HTTP/1.1 200")  # the first chunk came
        wait_until(lambda: metric(base, "chronicle_off_loop_threads_busy") == 1, "reading the second chunk")
        reader.close()
        wait_until(lambda: metric(base, "chronicle_off_loop_threads_busy") == 0, "freed")


def read_whole_answer(url: str) -> None:
    with httpx.stream("GET", url, timeout=BOUND) as answer:
        assert answer.status_code == 200
        for _ in answer.iter_bytes():
            pass


def test_an_export_past_its_time_limit_is_cut_off_never_passed_off_as_complete(database: str) -> None:
    settings = Settings(database_url=database, export_time_limit_seconds=1)
    with serving_app(with_test_routes(settings), settings) as base:
        with pytest.raises(httpx.RemoteProtocolError):  # the chunked body never ends: incomplete
            read_whole_answer(f"{base}/test/endless-export")
        assert httpx.get(f"{base}/healthz", timeout=BOUND).status_code == 200
    settings = Settings(database_url=database, query_time_limit_ms=300)
    with serving_app(with_test_routes(settings), settings) as base:
        # The second chunk's query runs past its limit after the answer started: cut off as well.
        cut_off = pytest.raises(httpx.RemoteProtocolError)
        with cut_off:
            read_whole_answer(f"{base}/test/runaway-export")


def test_slow_clients_hold_neither_connections_nor_request_slots(database: str) -> None:
    """Slowloris (headers that never end) and slow readers (an export never read), from 127.0.0.2:
    the server closes them after its timeouts, refuses those past the address's limit at once, and
    answers every request from 127.0.0.1 meanwhile - although the slow readers outnumber the
    server's request slots."""
    settings = Settings(
        database_url=database, header_timeout_seconds=1, send_timeout_seconds=1, max_concurrent_requests=4,
        max_concurrent_per_address=6,
    )  # fmt: skip
    with serving_app(with_test_routes(settings), settings) as base:
        host, port = base.removeprefix("http://").split(":")
        slowloris = []
        for _ in range(10):
            connection = socket.create_connection((host, int(port)), source_address=("127.0.0.2", 0))
            connection.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n")  # ... and nothing more
            slowloris.append(connection)
        readers = [
            send_request(
                base, "/v1/events?format=ndjson&include=people,places,works", source="127.0.0.2", receive_buffer=4096
            )
            for _ in range(10)
        ]
        statuses = []
        for reader in readers:  # each answer has started (its status line is out), and is read no further
            reader.settimeout(BOUND)
            statuses.append(reader.recv(12))
        answers = [httpx.get(f"{base}/v1/events", params={"year": 1929}, timeout=BOUND) for _ in range(20)]
        assert [answer.status_code for answer in answers] == [200] * 20
        for connection in slowloris:  # closed, with a 408 that says why
            assert read_until_closed(connection).startswith(b"HTTP/1.1 408")
            connection.close()
        for reader in readers:  # each closed by the server: refused, or abandoned past the send timeout
            read_until_closed(reader)
        for reader in readers:
            reader.close()
        assert statuses.count(b"HTTP/1.1 200") <= 6  # the address's limit; the others refused at once:
        assert set(statuses) <= {b"HTTP/1.1 200", b"HTTP/1.1 429", b"HTTP/1.1 503"}  # (503: 4 at work)
        assert httpx.get(f"{base}/v1/events", params={"year": 1929}, timeout=BOUND).status_code == 200


def test_head_is_answered_wherever_get_is(client: httpx.Client) -> None:
    for path in (
        "/v1/events?year=1929", "/v1/events/october-revolution", "/v1/events?format=csv", "/v1/people/leon-trotsky",
        "/v1/search?q=exile", "/v1/on-this-day/11-07", "/v1/years/1929", "/v1/timeline", "/v1/export",
        "/v1/events/october-revolution/revisions", "/v1/changes", "/v1/events/no-such-event", "/openapi.json",
        "/healthz",
    ):  # fmt: skip
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        ignored = {"date", "x-request-id", "transfer-encoding"}  # a HEAD has no body to frame
        assert {k: v for k, v in head.headers.items() if k not in ignored} == {
            k: v for k, v in get.headers.items() if k not in ignored
        }, path
    refused = client.head("/v1/import")
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "HEAD"}
    assert client.options("/v1/events", headers=preflight).status_code == 200
