"""Operations: /healthz, /readyz, /metrics, request ids and JSON request logs, `chronicle db backup`."""

from __future__ import annotations

import json
import logging
import signal
import socket
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.migrate import WrongCollation, downgrade, head_revision, upgrade
from tests.conftest import (
    ENGINE,
    POSTGRES,
    LiveServer,
    database_url,
    make_database,
    metric,
    run_sql,
    serving,
    wait_until,
)  # fmt: skip
from tests.test_editing_api import events, make_keys
from tests.test_editing_stress import Server


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "migration": head_revision()}


def test_not_ready_on_a_database_behind_the_code(tmp_path: Path) -> None:
    url = make_database(tmp_path / "old.sqlite3", seed=False)
    downgrade(url, "0008")
    with serving(url) as http:
        answer = http.get("/readyz")
        assert http.get("/healthz").status_code == 200  # alive, but not to be sent traffic
    assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"
    assert "0008" in answer.json()["detail"] and answer.headers["retry-after"]


def test_request_ids_are_echoed_or_made(client: httpx.Client) -> None:
    mine = client.get("/v1/events", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    made = client.get("/v1/events/no-such-event", headers={"X-Request-ID": "not ok\\"})
    assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32  # a bad one is replaced


def test_metrics_count_requests_by_route_template(client: httpx.Client) -> None:
    client.get("/v1/events/october-revolution")
    client.get("/v1/events/no-such-event")
    text = client.get("/metrics").text
    assert 'chronicle_requests_total{method="GET",route="/v1/events/{slug}",status="200"}' in text
    assert 'chronicle_requests_total{method="GET",route="/v1/events/{slug}",status="404"}' in text
    assert "october-revolution" not in text  # templates, never raw paths
    assert 'chronicle_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/events/{slug}"}' in text
    assert 'chronicle_db_pool_connections{state="checked_out"}' in text


def test_one_json_line_per_request(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("chronicle.access")
    logger.addHandler(caplog.handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # as app.operations.install_json_log sets it (another test may have changed it)
    try:
        client.get("/v1/people", params={"name_prefix": "leon"}, headers={"X-Request-ID": "trace-1"})
        # The line is written once the answer has gone: wait for it.
        wait_until(lambda: any("trace-1" in r.getMessage() for r in caplog.records), "logged")
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "chronicle.access"]
    line = next(line for line in lines if line["request_id"] == "trace-1")
    assert (line["method"], line["path"], line["route"], line["status"]) == ("GET", "/v1/people", "/v1/people", 200)
    assert line["ms"] > 0


@pytest.mark.sqlite_only  # SQLite's online backup API; PostgreSQL's is pg_dump (docs/deploy.md)
def test_backup_is_a_consistent_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_database(tmp_path / "live.sqlite3")
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["db", "backup", str(tmp_path / "copy.sqlite3")])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    copy = f"sqlite:///{tmp_path / 'copy.sqlite3'}"
    for table in ("records", "revisions", "events_fts"):
        assert run_sql(copy, f"SELECT count(*) FROM {table}") == run_sql(url, f"SELECT count(*) FROM {table}")
    assert run_sql(copy, "PRAGMA integrity_check") == [("ok",)]
    again = CliRunner().invoke(
        main, ["db", "backup", str(tmp_path / "copy.sqlite3")], env={"CHRONICLE_DATABASE_URL": url}
    )
    assert again.exit_code != 0 and "exists" in again.output  # never overwrites


def test_backup_of_postgresql_points_to_pg_dump(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if ENGINE != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", make_database(tmp_path / "x", seed=False))
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["db", "backup", str(tmp_path / "out")])
    get_settings.cache_clear()
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_reads_from_the_read_url_and_writes_answer_from_the_primary(tmp_path: Path) -> None:
    """A replica that has not caught up yet (here: another database that never will): reads come
    from it, while a write checks its key on the primary and answers from the primary."""
    primary = make_database(tmp_path / "primary.sqlite3")
    replica = make_database(tmp_path / "replica.sqlite3")
    key = make_keys(primary)["write"]
    settings = Settings(database_url=primary, database_read_url=replica)
    event = {"slug": "only-on-the-primary", "title": "T", "kind": "meeting", "date": "1932-11-27",
             "citations": [{"source": "the-exile-of-leon-trotsky"}]}  # fmt: skip
    with LiveServer(settings) as base, httpx.Client(base_url=base) as http:
        created = http.post("/v1/events", json=event, headers={"Authorization": f"Bearer {key}"})
        assert created.status_code == 201 and created.json()["slug"] == "only-on-the-primary"
        assert http.get("/v1/events/only-on-the-primary").status_code == 404  # the replica lags


def test_a_postgresql_database_must_sort_by_code_point() -> None:
    if ENGINE != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    name = f"{POSTGRES.prefix}_icu"
    POSTGRES._admin(
        f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
        "LOCALE 'C.UTF-8'"
    )
    POSTGRES.made.append(name)
    with pytest.raises(WrongCollation, match="code-point order"):
        upgrade(POSTGRES.url(name))


def test_a_lost_database_connection_is_a_503_then_recovers(client: httpx.Client, seeded_url: str) -> None:
    """The server ends the API's session (as a PostgreSQL restart or failover does): that request is a
    503 to retry, and the next one connects again."""
    if ENGINE != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    assert client.get("/v1/events/october-revolution").status_code == 200
    database = seeded_url.rsplit("/", 1)[1]
    run_sql(
        POSTGRES.url("postgres"),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()",
        {"name": database},
    )
    lost = client.get("/v1/events/october-revolution")
    assert lost.status_code == 503 and lost.headers["retry-after"], lost.text
    assert lost.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/events/october-revolution").status_code == 200


def test_sigterm_lets_a_request_in_flight_finish(tmp_path: Path) -> None:
    """An import whose body is still arriving when the server gets SIGTERM is read, written and
    answered; then the server exits cleanly."""
    server = Server(database_url(tmp_path / "term.sqlite3"), tmp_path / "server.log", {})
    server.start()
    try:
        key = server.create_key("terminator")
        body = json.dumps(events(20)).encode()
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            head = (
                f"POST /v1/import HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            connection.sendall(head.encode() + body[: len(body) // 2])
            at_work = lambda: metric(server.base_url, "chronicle_requests_at_work") == 1  # noqa: E731
            wait_until(at_work, "at work on the import")
            server.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            connection.sendall(body[len(body) // 2 :])
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status_line = answer.split(b"\r\n", 1)[0]
        assert b" 200 " in status_line or b" 201 " in status_line, answer[:500]
        # uvicorn re-raises the signal once it has shut down: the exit status says "ended by SIGTERM".
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)  # type: ignore[union-attr]
    finally:
        server.stop()
    assert run_sql(server.url, "SELECT count(*) FROM records WHERE slug LIKE 'imported-%'") == [(20,)]
