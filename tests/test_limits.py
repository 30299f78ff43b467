"""Resource limits and rate limits (OWASP API4): query parameters, query time, requests in flight,
requests per window per key and per client address (in memory, and in Redis across workers),
forwarded headers believed only from configured proxies; CORS without credentials; docs that can be
switched off; a 405 that lists every method of its path."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from app.config import Settings
from app.db import QueryTooSlow, read_connection
from app.errors import problem_for
from app.ratelimit import MemoryCounter
from tests.conftest import BOUND, ENGINE, LiveServer, make_database, metric, wait_until
from tests.test_editing_api import events, make_keys
from tests.test_editing_stress import CHRONICLE, free_port

REDIS_URL = os.environ.get("CHRONICLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUNAWAY_SQL = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def assert_problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = answer.json()
    assert body["status"] == status and body["detail"]
    return body


@contextmanager
def chronicle_serve(url: str, log: Path, settings: dict[str, str], *, workers: int = 1) -> Iterator[str]:
    """`chronicle serve` as an operator runs it, with only these settings; ready once /healthz
    answers (a probe of /v1 would count against the rate limits under test)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHRONICLE_")}
    env.update({"CHRONICLE_DATABASE_URL": url, **settings})
    port = free_port()
    command = [str(CHRONICLE), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


# Resource limits


def test_too_many_query_parameters_is_a_400(seeded_url: str) -> None:
    with LiveServer(Settings(database_url=seeded_url, max_query_parameters=3)) as base:
        assert httpx.get(f"{base}/v1/events?year=1929&limit=5&fields=slug").status_code == 200
        body = assert_problem(httpx.get(f"{base}/v1/events?year=1929&limit=5&fields=slug&kind=exile"), 400)
        assert "4 parameters; at most 3" in str(body["detail"])


def test_a_runaway_query_is_stopped_at_the_time_limit(seeded_url: str) -> None:
    db = read_connection(seeded_url, time_limit_ms=100)
    try:
        with pytest.raises(QueryTooSlow) as stopped:  # (it would never end by itself)
            db.all(RUNAWAY_SQL)
        answer = problem_for(stopped.value)
        assert answer.status == 503 and answer.headers == {"Retry-After": "5"}
        assert db.one("SELECT count(*) FROM records") is not None  # the connection still serves
    finally:
        db.close()


def test_past_the_concurrency_limit_a_request_is_turned_away_at_once(tmp_path: Path) -> None:
    url = make_database(tmp_path / "busy.sqlite3")
    key = make_keys(url)["write"]
    body = b"".join(json.dumps(event).encode() + b"\n" for event in events(5))  # NDJSON, sent in two parts
    rest_may_go = threading.Event()

    def held_body() -> Iterator[bytes]:
        yield body[:10]
        assert rest_may_go.wait(BOUND)  # the import is in flight, the rest of its body held back
        yield body[10:]

    with LiveServer(Settings(database_url=url, max_concurrent_requests=1)) as base:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
        held: list[httpx.Response] = []
        upload = threading.Thread(
            target=lambda: held.append(
                httpx.post(f"{base}/v1/import", content=held_body(), headers=headers, timeout=BOUND)
            )
        )
        upload.start()
        try:
            wait_until(lambda: metric(base, "chronicle_requests_at_work") == 1, "at work on the import")
            turned_away = httpx.get(f"{base}/v1/events")
            assert_problem(turned_away, 503)
            assert turned_away.headers["retry-after"] == "1"
            assert httpx.get(f"{base}/healthz").status_code == 200  # a busy server is alive
        finally:
            rest_may_go.set()
            upload.join()
        assert held[0].status_code == 200, held[0].text
        assert httpx.get(f"{base}/v1/events").status_code == 200


# Rate limits


def database_fingerprint(url: str) -> str:
    """The SQLite file and its WAL, byte for byte."""
    path = Path(url.removeprefix("sqlite:///"))
    digest = hashlib.sha256()
    for part in (path, path.with_name(path.name + "-wal")):
        digest.update(part.read_bytes() if part.exists() else b"")
    return digest.hexdigest()


def test_the_rate_limit_per_address_and_per_key(tmp_path: Path) -> None:
    url = make_database(tmp_path / "limited.sqlite3")
    key = make_keys(url)["read"]
    settings = Settings(
        database_url=url, rate_limit_per_address=5, rate_limit_per_key=3, rate_limit_window_seconds=3600
    )
    with LiveServer(settings) as base, httpx.Client(base_url=base) as http:
        if ENGINE == "sqlite":
            before = database_fingerprint(url)
        answers = [http.get("/v1/events", params={"year": 1929}) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
        assert answers[0].headers["ratelimit-limit"] == "5"
        assert answers[0].headers["ratelimit-policy"] == "5;w=3600"
        assert 0 < int(answers[0].headers["ratelimit-reset"]) <= 3600

        refused = http.get("/v1/events")
        body = assert_problem(refused, 429)
        assert "client address made more than 5 requests in 3600 s" in str(body["detail"])
        assert int(refused.headers["retry-after"]) == int(refused.headers["ratelimit-reset"]) > 0
        assert refused.headers["ratelimit-remaining"] == "0"
        assert http.get("/healthz").status_code == 200  # not counted: operations and docs
        assert http.get("/openapi.json").status_code == 200

        # A key has its own quota, whatever its address has used.
        keyed = [http.get("/v1/events", headers={"Authorization": f"Bearer {key}"}) for _ in range(4)]
        assert [a.status_code for a in keyed] == [200, 200, 200, 429]
        assert keyed[0].headers["ratelimit-limit"] == "3"
        assert "this API key" in keyed[3].json()["detail"]
        if ENGINE == "sqlite":  # reads, counted or refused, wrote nothing to the database
            assert database_fingerprint(url) == before


def test_a_made_up_key_counts_against_the_client_address(tmp_path: Path) -> None:
    """A new junk bearer per request used to get a fresh counter each time: no limit at all."""
    url = make_database(tmp_path / "junk-keys.sqlite3")
    keys = make_keys(url)
    settings = Settings(
        database_url=url, rate_limit_per_address=3, rate_limit_per_key=100, rate_limit_window_seconds=3600
    )
    with LiveServer(settings) as base, httpx.Client(base_url=base) as http:
        junk = [http.get("/v1/events", headers={"Authorization": f"Bearer chr_made-up-{n}"}) for n in range(4)]
        assert [a.status_code for a in junk] == [200, 200, 200, 429]
        assert [a.headers["ratelimit-limit"] for a in junk] == ["3"] * 4
        assert "this client address" in junk[3].json()["detail"]
        assert http.get("/v1/events").status_code == 429  # the same address's quota
        revoke = subprocess.run(
            [str(CHRONICLE), "keys", "revoke", "read-editor"], env={**os.environ, "CHRONICLE_DATABASE_URL": url},
            check=True, capture_output=True,
        )  # fmt: skip
        assert revoke.returncode == 0
        revoked = http.get("/v1/events", headers={"Authorization": f"Bearer {keys['read']}"})
        assert revoked.status_code == 429 and revoked.headers["ratelimit-limit"] == "3"  # not live: the address's
        live = http.get("/v1/events", headers={"Authorization": f"Bearer {keys['write']}"})
        assert live.status_code == 200 and live.headers["ratelimit-limit"] == "100"  # a live key: its own quota


def test_the_in_memory_counters_stay_bounded() -> None:
    async def hits() -> None:
        counter = MemoryCounter()
        counter.MAX_BUCKETS = 1000
        for _ in range(10):
            await counter.hit("address:busy", 0, 60)
        for n in range(5000):  # a client rotating through addresses within one window
            await counter.hit(f"address:10.0.{n // 256}.{n % 256}", 0, 60)
            assert len(counter.counts) <= counter.MAX_BUCKETS
        assert await counter.hit("address:busy", 0, 60) == 11  # the busiest are kept, with their counts

    asyncio.run(hits())


def redis_unreachable() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_URL} ({exc}); CI starts one"
    return None


@pytest.fixture
def redis_url() -> str:
    reason = redis_unreachable()
    if reason is not None:
        if os.environ.get("CHRONICLE_REQUIRE_REDIS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL


@pytest.mark.sqlite_only  # the counters are in Redis, whatever the database
def test_the_rate_limit_is_exact_across_two_workers_with_redis(tmp_path: Path, redis_url: str) -> None:
    """N allowed per window, the rest 429 with Retry-After, however the two workers share them."""
    allowed = 40
    url = make_database(tmp_path / "shared.sqlite3")
    prefix = f"chronicle-test-{uuid.uuid4().hex}"  # this test's counters only
    settings = {
        "CHRONICLE_REDIS_URL": redis_url, "CHRONICLE_REDIS_PREFIX": prefix,
        "CHRONICLE_RATE_LIMIT_PER_ADDRESS": str(allowed), "CHRONICLE_RATE_LIMIT_WINDOW_SECONDS": "86400",
    }  # fmt: skip
    with chronicle_serve(url, tmp_path / "serve.log", settings, workers=2) as base:
        probe = httpx.get(f"{base}/v1/events")  # one of the N; it also says how long the window has left
        # Too close to the window's end (a chance of 1 in 720 with a day-long window): use the next one.
        if int(probe.headers["ratelimit-reset"]) < 120:
            time.sleep(int(probe.headers["ratelimit-reset"]) + 1)
            probe = httpx.get(f"{base}/v1/events")
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda _: httpx.get(f"{base}/v1/events", timeout=30), range(3 * allowed)))
    statuses = Counter([probe.status_code] + [answer.status_code for answer in answers])
    assert statuses == {200: allowed, 429: 2 * allowed + 1}
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(int(answer.headers["retry-after"]) > 0 for answer in refused)
    assert all(answer.headers["content-type"] == "application/problem+json" for answer in refused)
    redis.Redis.from_url(redis_url).delete(*redis.Redis.from_url(redis_url).keys(f"{prefix}:*"))


@pytest.mark.sqlite_only
def test_forwarded_addresses_are_believed_only_from_configured_proxies(tmp_path: Path) -> None:
    url = make_database(tmp_path / "proxied.sqlite3")
    limit = {"CHRONICLE_RATE_LIMIT_PER_ADDRESS": "2", "CHRONICLE_RATE_LIMIT_WINDOW_SECONDS": "3600"}

    def statuses(base: str) -> list[int]:
        return [
            httpx.get(f"{base}/v1/events", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(4)
        ]

    # By default no proxy is believed: four "addresses" are one client, over its limit of 2.
    with chronicle_serve(url, tmp_path / "direct.log", limit) as base:
        assert statuses(base) == [200, 200, 429, 429]
    # Behind a configured proxy, each forwarded address has its own quota.
    with chronicle_serve(
        url, tmp_path / "proxied.log", {**limit, "CHRONICLE_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    ) as base:
        assert statuses(base) == [200, 200, 200, 200]
    assert '"client": "203.0.113.3"' in (tmp_path / "proxied.log").read_text()


# Headers and configuration


def test_cors_never_reflects_an_origin_with_credentials(client: httpx.Client) -> None:
    origin = {"Origin": "https://attacker.example"}
    simple = client.get("/v1/events", headers={**origin, "Cookie": "session=1"})
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in simple.headers
    preflight = client.options("/v1/events", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers


def test_the_docs_can_be_switched_off(seeded_url: str) -> None:
    with LiveServer(Settings(database_url=seeded_url, docs_enabled=False)) as base:
        assert httpx.get(f"{base}/docs").status_code == 404
        assert httpx.get(f"{base}/redoc").status_code == 404
        assert httpx.get(f"{base}/static/docs/swagger-ui-bundle.js").status_code == 404
        assert httpx.get(f"{base}/v1/events").status_code == 200


def test_a_405_lists_every_method_of_its_path(client: httpx.Client) -> None:
    answer = client.delete("/v1/events")
    assert_problem(answer, 405)
    assert answer.headers["allow"] == "GET, HEAD, POST"  # HEAD wherever GET is (app.methods)
    assert client.post("/v1/events/october-revolution").headers["allow"] == "DELETE, GET, HEAD, PATCH, PUT"


def test_every_operation_documents_the_limits(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"414", "429", "503"} <= operation["responses"].keys(), (method, path)
            assert ("507" in operation["responses"]) == (method in ("post", "put", "patch", "delete"))
