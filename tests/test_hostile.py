"""Hostile input against the real app: malformed, oversized, out-of-range and traversing requests to
every endpoint, reads and writes. Each must be refused with a 4xx problem+json (RFC 9457: status,
title and detail) - never a 5xx, never another body - and must change nothing in the database: a
fingerprint of every table but `audit` and `api_keys` (a refused write is audited by design; a key
notes its last use) is taken before and after each request. A full-text query and If-None-Match on
a read may also answer 200 (or 304): odd text to search for, or a validator that names nothing, is
not an error.

One seeded database and one server serve the module. The records written to are the module's own
(`hostile-*`, loaded before the server starts), and every write carries the record's current ETag
and an otherwise valid body, so that a hostile part that gets through is written - and seen.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.client
import itertools
import json
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, inspect, text

import app
from app import registry
from app.config import Settings
from app.db import make_engine
from tests.conftest import LiveServer, load, make_database
from tests.test_editing_api import make_keys
from tests.test_editing_stress import free_port

pytestmark = pytest.mark.hostile  # a battery: `-m "not hostile"` leaves it out (pyproject.toml, markers)

PROBLEM = "application/problem+json"
APP_DIR = Path(app.__file__).resolve().parent
REFUSED = range(400, 500)
NOT_FINGERPRINTED = {"audit", "api_keys"}
BIG = "1" + "0" * 400  # an integer no engine holds; as a float, infinity
CITED = [{"source": "the-exile-of-leon-trotsky"}]
TYPES = {record_type.collection: name for name, record_type in registry.TYPES.items()}  # "people": "person"
# A valid record of each type (slug aside); each hostile case changes one thing in it.
BASE: dict[str, dict[str, Any]] = {
    "events": {
        "title": "A hostile event", "kind": "lecture", "date": "1932-11-27",
        "people": [{"person": "leon-trotsky", "role": "subject"}], "places": [{"place": "berlin"}], "tags": ["exile"],
        "citations": CITED,
    },
    "people": {
        "name": "A hostile person", "aliases": [{"name": "Hostile", "kind": "pseudonym"}], "born": "1900",
        "birth_place": "berlin", "citations": CITED,
    },
    "places": {
        "name": "A hostile place", "kind": "city", "latitude": 48.85, "longitude": 2.35, "parent": "france",
        "names": [{"name": "Old hostile place", "from_year": 1800, "to_year": 1900}], "citations": CITED,
    },
    "works": {
        "title": "A hostile work", "kind": "book", "creators": [{"person": "leon-trotsky"}], "published": "1930",
        "subjects": ["exile"], "language": "en", "citations": CITED,
    },
    "sources": {
        "title": "A hostile source", "kind": "article", "url": "https://example.org/hostile", "author": "Nobody",
    },
    "organisations": {
        "name": "A hostile party", "kind": "party", "founded": "1903", "dissolved": "1991", "seat": "moscow",
        "predecessors": ["left-opposition"], "names": [{"name": "Враждебная партия", "language": "ru"}],
        "citations": CITED,
    },
}  # fmt: skip
# The module's own records: one per kind of write, so that a delete that got through spoils no other test.
PATCHED, REPLACED, DELETED = "hostile-patched", "hostile-replaced", "hostile-deleted"
PATCH_PATH, PUT_PATH, DELETE_PATH = (f"/v1/events/{slug}" for slug in (PATCHED, REPLACED, DELETED))
_slugs = itertools.count(1)


def new_slug() -> str:
    return f"hostile-new-{next(_slugs)}"


def document(collection: str, slug: str, **changes: Any) -> dict[str, Any]:
    return {"slug": slug, **BASE[collection], **changes}


def change() -> bytes:
    """A valid merge patch that changes the record: one that got through would be written."""
    return dumps({"summary": f"Changed, {next(_slugs)} times."})


def replacement() -> bytes:
    """A valid new version of REPLACED that differs from the one before."""
    return dumps(document("events", REPLACED, summary=f"Replaced, {next(_slugs)} times."))


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- what is sent, what comes back, and what a refusal must look like -----------------------------------


@dataclass(frozen=True)
class Answer:
    request: str  # the request, as a report names it
    status: int  # 0: no answer (the connection failed)
    content_type: str | None
    body: bytes
    complete: bool = True  # False: the connection closed in the middle of the body


def describe(method: str, path: str, headers: dict[str, str], body: bytes | None, chunked: bool = False) -> str:
    shown = {
        name: value if len(value) < 80 else f"{value[:60]}... ({len(value)} chars)" for name, value in headers.items()
    }
    shown.pop("Authorization", None)
    where = path if len(path) < 200 else f"{path[:150]}... ({len(path)} chars)"
    sent = "" if body is None else f" body={body[:160]!r}" + (f"... ({len(body):,} bytes)" if len(body) > 160 else "")
    return f"{method} {where} headers={shown}{' (chunked)' if chunked else ''}{sent}"


class ServerErrors(logging.Handler):
    """What the app logs as unexpected (app.errors: the 500s), each as its exception and the last line of
    app/ it passed through."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            self.seen.append(record.getMessage())
            return
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(APP_DIR))]
        where = ""
        if frames:
            last = frames[-1]
            where = f" at {Path(last.filename).relative_to(APP_DIR.parent)}:{last.lineno} ({last.name})"
        first_line = (str(exc).splitlines() or [""])[0]
        self.seen.append(f"{type(exc).__name__}: {first_line}{where}")


def problem_faults(answer: Answer) -> list[str]:
    if answer.content_type != PROBLEM:
        return [f"Content-Type {answer.content_type}, not {PROBLEM}"]
    try:
        body = json.loads(answer.body)
    except ValueError:
        return ["the body is not JSON"]
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    faults = [] if body.get("status") == answer.status else [f"body status {body.get('status')!r}"]
    faults += [f"no {name}" for name in ("title", "detail") if not isinstance(body.get(name), str) or not body[name]]
    return faults


RECORDS = "SELECT id, type, slug, revision, content_hash, created_at, updated_at, deleted_at FROM records ORDER BY id"


def changes(before: tuple[Any, ...], after: tuple[Any, ...]) -> str:
    """What differs between two fingerprints, in words."""
    found = [f"{b[0]}: {b[1]} -> {a[1]} rows" for b, a in zip(before[0], after[0], strict=True) if a != b]
    if after[1] != before[1]:
        found.append(f"data version {before[1][0]} -> {after[1][0]}")
    if after[2] != before[2]:
        found.append(f"last revision {before[2]} -> {after[2]}")
    records = sorted(set(after[3]) - set(before[3]))
    found += [f"record {row[1]}/{row[2]} at revision {row[3]}" + (" (deleted)" if row[7] else "") for row in records]
    return ", ".join(found)


CAPPED_SERVER = """
import resource, sys
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import uvicorn
from app.config import Settings
from app.main import create_app
app = create_app(Settings(database_url=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""
MEMORY_CAP = 2**30  # the server needs about a quarter of it


class CappedServer:
    """The app in a process of its own with `MEMORY_CAP` bytes of address space, for requests that may
    make it use memory without bound: there they fail, instead of taking this machine's memory. It is
    started with the module (it takes seconds to import) and waited for when first used."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {name: value for name, value in os.environ.items() if not name.startswith("CHRONICLE_")}
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CAPPED_SERVER, url, str(self.port), str(MEMORY_CAP)],
                stdout=output, stderr=subprocess.STDOUT, env=env, cwd=APP_DIR.parent,
            )  # fmt: skip
        self.ready = False

    @property
    def base(self) -> str:
        deadline = time.monotonic() + 60
        while not self.ready:
            assert self.process.poll() is None, f"the capped server exited: {self.log.read_text()}"
            try:
                self.ready = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.05)
            assert time.monotonic() < deadline, f"the capped server did not start: {self.log.read_text()}"
        return f"http://127.0.0.1:{self.port}"

    def logged(self) -> str:
        """The last line of app/ and the last error in the server's log."""
        lines = [line.strip() for line in self.log.read_text(errors="replace").splitlines()]
        where = [line for line in lines if line.startswith(f'File "{APP_DIR}')][-1:]
        error = [line for line in lines if "Error" in line and not line.startswith("File")][-1:]
        return f"{' '.join(where + error)} (exit code {self.process.poll()})"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Target:
    url: str
    base: str
    keys: dict[str, str]
    engine: Engine
    http: httpx.Client
    errors: ServerErrors
    settings: Settings
    capped: CappedServer
    tables: list[str] = field(default_factory=list)

    def fingerprint(self) -> tuple[Any, ...]:
        """Cheap enough to take around every request: the row count of every table, the data version,
        the last revision, and every record's slug, revision, content hash and times (every write
        goes through the loader, which moves these)."""
        counts = " UNION ALL ".join(f"SELECT '{table}', count(*) FROM \"{table}\"" for table in self.tables)
        with self.engine.connect() as connection:
            return (
                sorted(tuple(row) for row in connection.execute(text(counts))),
                tuple(connection.execute(text("SELECT version, changed_at FROM data_version")).one()),
                connection.execute(text("SELECT max(id) FROM revisions")).scalar(),
                tuple(tuple(row) for row in connection.execute(text(RECORDS))),
            )

    def auth(self, scope: str = "write", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}", **headers}

    def json_auth(self, **headers: str) -> dict[str, str]:
        return self.auth(**{"Content-Type": "application/json", **headers})

    def etag(self, path: str) -> str:
        """The record's current ETag: a write sends it, so that only its hostile part can refuse it."""
        response = self.http.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
        return str(response.headers["etag"])

    def revive(self, path: str) -> None:
        """Bring the record at `path` back if an earlier test's delete got through (that test failed)."""
        if self.http.get(path).status_code == 410:
            restored = self.http.post(f"{path}/restore", headers=self.auth("admin"))
            assert restored.status_code == 200, restored.text

    def send(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Answer:
        """Through http.client, on a connection of its own (the server closes one after a 500): the path
        goes out byte for byte (httpx would resolve `../`), header values as latin-1, any byte allowed."""
        headers = headers or {}
        parts = urlsplit(self.base)
        assert parts.hostname is not None and parts.port is not None
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        request = describe(method, path, headers, body)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content_type = response.getheader("content-type")
            try:
                return Answer(request, response.status, content_type, response.read())
            except http.client.IncompleteRead as exc:
                return Answer(request, response.status, content_type, exc.partial, complete=False)
        except (OSError, http.client.HTTPException) as exc:
            return Answer(request, 0, None, repr(exc).encode())
        finally:
            connection.close()

    def upload(self, method: str, path: str, headers: dict[str, str], body: bytes, *, chunked: bool) -> Answer:
        """Through httpx, which reads an answer that comes before the whole body has been sent."""
        content: bytes | Iterator[bytes] = body
        if chunked:
            content = (body[i : i + 65536] for i in range(0, len(body), 65536))
        request = describe(method, path, headers, body, chunked)
        try:
            response = self.http.request(method, path, headers=headers, content=content)
        except httpx.TransportError as exc:
            return Answer(request, 0, None, repr(exc).encode())
        return Answer(request, response.status_code, response.headers.get("content-type"), response.content)

    def settle(self) -> None:
        """Wait until the server has finished with a request that failed: after a 500 it logs the
        exception (uvicorn's "Exception in ASGI application"), formatting its traceback with `ast`, on
        its event loop. A request of our own is answered by that loop only once it is done. (On
        Python 3.11 two threads parsing with `ast` at once can fail with "AST constructor recursion
        depth mismatch" - and pytest parses this file to report the failure.)"""
        with contextlib.suppress(httpx.TransportError):
            self.http.get("/healthz")

    def faults(self, send: Callable[[], Answer], allowed: Collection[int] = REFUSED) -> list[str]:
        """What is wrong with the answer to one request, as report lines (none: it was refused well)."""
        self.errors.seen.clear()
        before = self.fingerprint()
        answer = send()
        if answer.status >= 500 or answer.status == 0 or not answer.complete:
            self.settle()
        after = self.fingerprint()
        faults = [] if answer.status in allowed else [f"answered {answer.status or 'nothing'}"]
        if not answer.complete:
            faults.append("the connection closed in the middle of the body")
        if answer.status >= 400:
            faults += problem_faults(answer)
        if after != before:
            faults.append(f"changed the database: {changes(before, after)}")
        if not faults:
            return []
        logged = f"\n    server logged: {'; '.join(self.errors.seen)}" if self.errors.seen else ""
        return [
            f"{answer.request}\n    -> {answer.status} {answer.content_type} {answer.body[:240]!r}\n"
            f"    {'; '.join(faults)}{logged}"
        ]

    def check(self, *sends: Callable[[], Answer], allowed: Collection[int] = REFUSED) -> None:
        """Fail with every fault found, as the report: the requests and answers say it all, without
        a traceback of this module."""
        faults = [fault for send in sends for fault in self.faults(send, allowed)]
        if faults:
            pytest.fail("\n".join(faults), pytrace=False)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    url = make_database(tmp_path_factory.mktemp("hostile") / "hostile.sqlite3")
    load(url, [{"type": "event", **document("events", slug)} for slug in (PATCHED, REPLACED, DELETED)])
    keys = make_keys(url)
    settings = Settings(database_url=url)
    engine = make_engine(url)
    errors = ServerErrors()
    logger = logging.getLogger("chronicle")
    logger.addHandler(errors)
    headers = {"Connection": "close", "Accept-Encoding": "identity"}
    capped = CappedServer(url, tmp_path_factory.mktemp("capped") / "server.log")
    try:
        with LiveServer(settings) as base, httpx.Client(base_url=base, timeout=60, headers=headers) as client:
            with engine.connect() as connection:
                tables = sorted(set(inspect(connection).get_table_names()) - NOT_FINGERPRINTED)
            yield Target(url, base, keys, engine, client, errors, settings, capped, tables)
    finally:
        capped.stop()
        logger.removeHandler(errors)
        engine.dispose()


def test_the_base_records_are_valid(target: Target) -> None:
    """The control: every hostile case changes one thing in these, so they must pass as they are."""
    records = [{"type": TYPES[c], **document(c, f"hostile-control-{c}")} for c in BASE]
    answer = target.send("POST", "/v1/import?dry_run=true", target.json_auth(), dumps(records))
    assert answer.status == 200, answer
    assert len(json.loads(answer.body)["created"]) == len(BASE)
    for path in (PATCH_PATH, PUT_PATH, DELETE_PATH):
        assert target.etag(path) == '"1"'


# --- query strings and path parameters of reads ---------------------------------------------------------

HUGE_QUERIES = [
    f"/v1/organisations?active_in={BIG}", f"/v1/people?member_in={2**63}", f"/v1/people?member_in=-{BIG}",
    f"/v1/events?limit={BIG}", f"/v1/events?limit={2**63}", f"/v1/events?limit=-{2**63}", "/v1/events?limit=1e400",
    f"/v1/events?year={BIG}", f"/v1/events?year={2**63}", f"/v1/events?year=-{2**63 + 1}", "/v1/events?year=-1e309",
    f"/v1/events?from={2**64}&to={2**64 + 1}", f"/v1/events?month={2**63}&day=1", f"/v1/events?month=1&day={2**63}",
    f"/v1/timeline?from=-{2**63}", f"/v1/timeline?bucket=year&to={BIG}", f"/v1/people?alive_in={2**63}",
    f"/v1/people?born_from=-{BIG}", f"/v1/works?published_to={2**64}", f"/v1/changes?since={2**63}",
    "/v1/changes?since=-1", f"/v1/search?q=exile&limit={2**63}", "/v1/places?near=1e400,0", "/v1/places?near=0,-1e309",
    f"/v1/places?near={2**63},0", "/v1/places?near=91,0", "/v1/places?near=0,181", "/v1/places?near=NaN,0",
    "/v1/places?near=0,0&radius_km=1e400", "/v1/places?near=0,0&radius_km=nan", "/v1/places?near=0,0&radius_km=inf",
    "/v1/places?near=0,0&radius_km=-0", f"/v1/places?near=0,0&radius_km={2**63}", f"/v1/events?bbox=0,0,{2**63},1",
    "/v1/events?bbox=0,0,1e400,1", "/v1/events?bbox=-181,0,0,1", f"/v1/years/{BIG}", f"/v1/years/{2**63}",
    f"/v1/years/-{2**63}", "/v1/years/1e400", "/v1/years/10000", f"/v1/years/1929?limit={2**63}",
    f"/v1/events/october-revolution/revisions/{2**63}", "/v1/events/october-revolution/revisions/0",
    f"/v1/on-this-day/{2**63}-01", "/v1/on-this-day/13-01", "/v1/on-this-day/02-30",
    f"/v1/on-this-day/11-07?from={2**63}", f"/v1/events/october-revolution/revisions?limit={2**63}",
]  # fmt: skip
NUL_QUERIES = [
    "/v1/organisations?q=%00", "/v1/organisations?kind=%00", "/v1/people?member_of=%00", "/v1/events?organisation=%00",
    "/v1/people/leon-trotsky?lang=%00", "/v1/organisations/red-army?lang=ru%00",
    "/v1/search?q=%00", "/v1/search?q=exile%00", "/v1/events?q=%00", "/v1/people?q=%00", "/v1/places?q=%00",
    "/v1/works?q=%00", "/v1/sources?q=%00", "/v1/sources?q=%25%00", "/v1/people?name_prefix=%00",
    "/v1/people?name_prefix=leon%00", "/v1/works?subject=%00", "/v1/works?subject=Russian%20Revolution%00",
    "/v1/events?kind=%00", "/v1/events?person=%00", "/v1/events?person=leon-trotsky%00", "/v1/events?place=%00",
    "/v1/works?author=%00", "/v1/places?within=%00", "/v1/events?cursor=%00", "/v1/events?fields=slug%00",
    "/v1/events?format=%00", "/v1/events?sort=%00", "/v1/events?include=%00", "/v1/events?calendar=%00&month=1&day=1",
    "/v1/events?year=%00", "/v1/events?limit=%00", "/v1/events?near=%00", "/v1/timeline?bucket=%00",
    "/v1/search?q=exile&type=%00", "/v1/events?%00=1", "/v1/events?year%00=1929", "/v1/years/%00",
    "/v1/on-this-day/%00", "/v1/on-this-day/11-07%00", "/v1/events/october-revolution/revisions/%00",
    "/v1/events/october-revolution/revisions/1%00", "/v1/export?format=%00", "/v1/changes?since=%00",
]  # fmt: skip
UNKNOWN_PARAMETERS = [
    *(f"/v1/{collection}?bogus=1" for collection in TYPES), "/v1/events?Year=1929", "/v1/events?year[]=1929",
    "/v1/events?q=exile&q%20=x", "/v1/search?q=exile&bogus=1", "/v1/timeline?bogus=1", "/v1/on-this-day/11-07?bogus=1",
    "/v1/years/1929?bogus=1", "/v1/changes?bogus=1", "/v1/export?bogus=1",
    "/v1/events/october-revolution?bogus=1", "/v1/people/leon-trotsky?bogus=1", "/v1/places/france?fields=slug",
    "/v1/works/my-life?format=csv", "/v1/sources/the-exile-of-leon-trotsky?bogus=1",
    "/v1/events/october-revolution/revisions?bogus=1", "/v1/events/october-revolution/revisions/1?bogus=1",
    "/v1/organisations/red-army?bogus=1", "/v1/people/leon-trotsky?lang=ru&lang=fr&bogus=1",
]  # fmt: skip


@pytest.mark.parametrize("path", HUGE_QUERIES + NUL_QUERIES + UNKNOWN_PARAMETERS, ids=lambda p: p[:60])
def test_hostile_query_strings_and_path_parameters(target: Target, path: str) -> None:
    target.check(lambda: target.send("GET", path))


LONG = "exile+" * 1700  # 10 kB


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/events?q={LONG}", None),
        ("GET", f"/v1/events?year=1929&{'limit=20&' * 1100}", None),
        ("GET", f"/v1/search?q={LONG}", None),
        ("GET", f"/v1/events/october-revolution?q={LONG}", None),
        ("GET", f"/v1/timeline?q={LONG}", None),
        ("POST", f"/v1/events?q={LONG}", "new"),
        ("PATCH", f"{PATCH_PATH}?q={LONG}", "patch"),
        ("DELETE", f"{DELETE_PATH}?q={LONG}", None),
        ("POST", f"/v1/import?q={LONG}", "import"),
    ],
)
def test_query_strings_past_the_cap_are_414(target: Target, method: str, path: str, body: str | None) -> None:
    target.revive(DELETE_PATH)
    documents = {
        "new": document("events", new_slug()),
        "patch": json.loads(change()),
        "import": [{"type": "event", **document("events", new_slug())}],
    }
    headers = target.json_auth(
        **({"If-Match": target.etag(path.split("?")[0])} if method in ("PATCH", "DELETE") else {})
    )
    content = None if body is None else dumps(documents[body])
    target.check(lambda: target.send(method, path, headers, content), allowed={414})


# --- full text: any query answers 200 or a 400 that names q --------------------------------------------

TEXT_QUERIES = [
    '"', '""', '"""', '"exile', 'exile"', "NEAR(", "NEAR(exile trotsky)", "NEAR(exile trotsky, 2)", "title:exile",
    "title: exile", "{title}: exile", ":", "*", "**", "exile**", "^", "^exile", "exile^2", "-exile", "+exile",
    "exile -trotsky", "AND OR NOT", "AND", "OR", "NOT", "NOT NOT", "exile NOT", "NOT exile", "exile OR",
    "exile AND AND x", "* OR *", "()", "(exile", "exile)", ")(", "(((((", "((((exile))))", '"*"', '"exile"*',
    '"exile" *', '"a""b"',
    '"" OR exile', "() OR exile", "exile & trotsky", "exile | trotsky", "!exile", "exile:*", "exile:A", "'exile':*",
    "exile<->trotsky", "'", "''", "\\", "\\'", "%", "_", "%_%", "{}", "[]", "$", "\x01", "\x7f", "\t\n", "\u200b",
    "\u0301", "\u2167", "\u00b2", "\U0001f600", "\ue000exile\ue001", "\ufffd", "ＡＮＤ", "and or not", "E\u0301XILE",
    "x" * 200, "x" * 201, "ab" * 100, "é" * 200, "exile " * 33, " ".join(["exile"] * 32), "trots" + "*" * 50,
    "x" * 1500,
]  # fmt: skip


@pytest.mark.parametrize("q", TEXT_QUERIES, ids=lambda q: repr(q)[:40])
def test_full_text_syntax_answers_200_or_400(target: Target, q: str) -> None:
    """The search (ranked, with snippets), a list's q (people: in names and aliases only, a column filter),
    and sources' q (not full text: a substring of the title)."""
    encoded = quote(q, safe="")
    paths = [f"/v1/search?q={encoded}", f"/v1/people?q={encoded}", f"/v1/sources?q={encoded}"]
    target.check(*(functools.partial(target.send, "GET", path) for path in paths), allowed={200, 400})


# --- cursors --------------------------------------------------------------------------------------------


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(dumps(list(parts))).decode().rstrip("=")


CURSORS = [
    ("random bytes", "/v1/events", base64.urlsafe_b64encode(bytes(range(256))[::7]).decode()),
    ("not UTF-8", "/v1/events", base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()),
    ("truncated", "/v1/events", cursor("date", 2417212, 67, 21, True)[:-5]),
    ("tampered bytes", "/v1/events", "WyJkYXRlIiwyNDE3MjEyLDY3LDIxLHRydAAA"),
    ("an object", "/v1/events", base64.urlsafe_b64encode(b'{"sort": "date"}').decode()),
    ("a string", "/v1/events", base64.urlsafe_b64encode(b'"date"').decode()),
    ("empty", "/v1/events", cursor()),
    ("a part missing", "/v1/events", cursor("date", 2417212, 67, 21)),
    ("a part too many", "/v1/events", cursor("date", 2417212, 67, 21, True, 1)),
    ("padding only", "/v1/events", "===="),
    ("400 chars", "/v1/events", "A" * 400),
    ("401 chars", "/v1/events", "A" * 401),
    ("not base64", "/v1/events", "é"),
    ("another list's", "/v1/events", cursor("title", "My Life", 65, 5, True)),
    ("key 2**63", "/v1/events", cursor("date", 2**63, 67, 21, True)),
    ("id 2**64", "/v1/events", cursor("date", 2417212, 2**64, 21, True)),
    ("total 2**70", "/v1/events", cursor("date", 2417212, 67, 2**70, True)),
    ("negative total", "/v1/events", cursor("date", 2417212, 67, -1, True)),
    ("string key for dates", "/v1/events", cursor("date", "abc", 67, 21, True)),
    ("boolean key for dates", "/v1/events", cursor("date", True, 67, 21, True)),
    ("fractional key for dates", "/v1/events", cursor("date", 1.5, 67, 21, True)),
    ("string key, -date", "/v1/events?sort=-date", cursor("-date", "abc", 67, 21, True)),
    ("string key, csv", "/v1/events?format=csv", cursor("date", "abc", 67, 21, True)),
    ("string key, ndjson", "/v1/events?format=ndjson", cursor("date", "abc", 67, 21, True)),
    ("number key for titles", "/v1/works", cursor("title", 5, 65, 5, True)),
    ("NUL key for titles", "/v1/works", cursor("title", "\x00", 65, 5, True)),
    ("long key for titles", "/v1/works", cursor("title", "x" * 300, 65, 5, True)),
    ("list key for names", "/v1/people", cursor("name", ["leon"], 57, 6, True)),
    ("number key for names", "/v1/people", cursor("name", 1.5, 57, 6, True)),
    ("string key for ranks", "/v1/search?q=exile", cursor("rank", "abc", 77, 6, True)),
    ("string key for distances", "/v1/places?near=48.85,2.35", cursor("distance", "abc", 49, 2, True)),
    ("string key, on this day", "/v1/on-this-day/11-07?type=events", cursor("day:events", "abc", 1, 5, True)),
    ("string key, births", "/v1/on-this-day/11-07?type=births", cursor("day:births", "abc", 1, 5, True)),
    ("boolean key, a year's works", "/v1/years/1929?type=works", cursor("year:works", True, 1, 5, True)),
    ("for every list of a year", "/v1/years/1929", cursor("year:events", 2425630, 1, 5, True)),
    ("string for exact", "/v1/changes", cursor("seq", None, 1, 87, "yes")),
    ("fractional id", "/v1/events/october-revolution/revisions", cursor("revision", None, 1.5, 1, True)),
]


@pytest.mark.parametrize(("path", "value"), [case[1:] for case in CURSORS], ids=[case[0] for case in CURSORS])
def test_bad_cursors(target: Target, path: str, value: str) -> None:
    separator = "&" if "?" in path else "?"
    target.check(lambda: target.send("GET", f"{path}{separator}cursor={quote(value, safe='')}"))


# --- slugs in paths: traversal, encoded slashes, NUL, length, unicode -----------------------------------

SLUGS = [
    "..", "../", "../people/leon-trotsky", "../../../../etc/passwd", "./october-revolution", "%2e%2e", "%2e%2e%2f",
    ".%2e/", "..%2f", "..%2f..%2fpeople%2fleon-trotsky", "%2e%2e%2f%2e%2e%2fpeople%2fleon-trotsky",
    "october-revolution%2f..%2f..%2fpeople%2fleon-trotsky", "a%2Fb", "%2F", "%2f%2f", "october-revolution%2F",
    "%252e%252e%252f", "%5c..%5c", "..%5c..%5cwindows", "..;", "x" * 5000, "a" * 101, "%C3%A9v%C3%A9nement",
    "%F0%9F%98%80", "%ff%fe", "%00", "october-revolution%00", "a%00b", "%2500", "October-Revolution", "-", "a--b",
]  # fmt: skip


@pytest.mark.parametrize("slug", SLUGS, ids=lambda s: s[:40])
def test_hostile_slugs_in_paths(target: Target, slug: str) -> None:
    body = dumps(document("events", "october-revolution"))
    headers = target.json_auth(**{"If-Match": '"1"'})
    target.check(
        lambda: target.send("GET", f"/v1/events/{slug}"),
        lambda: target.send("GET", f"/v1/people/{slug}/revisions"),
        lambda: target.send("PATCH", f"/v1/events/{slug}", headers, b'{"summary": "Changed."}'),
        lambda: target.send("PUT", f"/v1/events/{slug}", headers, body),
        lambda: target.send("DELETE", f"/v1/places/{slug}", target.auth(**{"If-Match": '"1"'})),
        lambda: target.send("POST", f"/v1/events/{slug}/restore", target.auth("admin")),
    )


# --- bodies that are not JSON, or not the JSON asked for ------------------------------------------------

VALID = dumps(document("events", "hostile-malformed"))
MALFORMED_BODIES = [
    VALID[:-1], VALID[: len(VALID) // 2], VALID + b" garbage", VALID + b"{}", VALID + b"\x00", b"\x00" + VALID,
    b"\xff\xfe" + VALID, VALID.replace(b"A hostile", b"A \xc3\x28 hostile"), VALID.replace(b"A hostile", b"\xc0\xaf"),
    VALID.replace(b"A hostile", b"\\ud800"), VALID.replace(b"A hostile", b"\xed\xa0\x80"), b"[" + VALID + b"]",
    b'"a string"', b"1", b"null", b"true", b"", b"   \n", b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000, VALID.replace(b"1932-11-27", b"NaN"), b"{'slug': 'x'}",
    b"// a comment\n" + VALID, VALID.replace(b'"kind"', b"kind"), VALID.replace(b", ", b",,", 1),
]  # fmt: skip


@pytest.mark.parametrize("body", MALFORMED_BODIES, ids=lambda b: repr(b[:30]))
def test_malformed_record_bodies(target: Target, body: bytes) -> None:
    target.check(
        lambda: target.send("POST", "/v1/events", target.json_auth(), body),
        lambda: target.send("PUT", PUT_PATH, target.json_auth(**{"If-Match": target.etag(PUT_PATH)}), body),
        lambda: target.send("PATCH", PATCH_PATH, target.json_auth(**{"If-Match": target.etag(PATCH_PATH)}), body),
    )


def deep_patch(depth: int) -> dict[str, Any]:
    patch: dict[str, Any] = {"summary": "deep"}
    for _ in range(depth):
        patch = {"identifiers": patch}
    return patch


PATCHES = [
    {"title": "a\x00b"}, {"summary": "\x00"}, {"slug": "a\x00b"}, {"slug": "x" * 200}, {"slug": "Not A Slug"},
    {"title": None}, {"kind": None}, {"date": None}, {"date": "1917-02-30"}, {"date": {"edtf": None}},
    {"people": "leon-trotsky"}, {"people": [{"person": "nobody-at-all"}]}, {"type": "person"}, {"title": 1},
    {"identifiers": {"wikidata": "Q" + "7" * 150}}, {"citations": None}, deep_patch(20), {"date": {"edtf": BIG}},
]  # fmt: skip


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: json.dumps(p)[:40])
def test_hostile_merge_patches(target: Target, patch: dict[str, Any]) -> None:
    target.check(
        lambda: target.send(
            "PATCH", PATCH_PATH, target.auth(**{"Content-Type": "application/merge-patch+json",
                                                "If-Match": target.etag(PATCH_PATH)}), dumps(patch),
        )
    )  # fmt: skip


# --- record fields: wrong types, NUL, sizes past the columns, huge numbers -------------------------------

WRONG_TYPES = [
    ("events", "title", 1), ("events", "title", {"text": "x"}), ("events", "title", ["x"]), ("events", "title", None),
    ("events", "title", True), ("events", "kind", None), ("events", "kind", 1), ("events", "slug", 1),
    ("events", "slug", None), ("events", "slug", ["a"]), ("events", "date", None), ("events", "date", 1932),
    ("events", "date", ["1932"]), ("events", "date", True), ("events", "date", {"edtf": 1932}),
    ("events", "date", {"edtf": "1932", "calendar": 1}), ("events", "date", {"edtf": "1932", "precision": "day"}),
    ("events", "people", "leon-trotsky"), ("events", "people", {"person": "leon-trotsky"}),
    ("events", "people", [["leon-trotsky"]]), ("events", "people", [{"person": 1}]), ("events", "people", [None]),
    ("events", "people", [{"person": "leon-trotsky", "role": True}]), ("events", "tags", "exile"),
    ("events", "tags", [1]), ("events", "tags", [None]), ("events", "identifiers", []), ("events", "identifiers", "Q1"),
    ("events", "identifiers", {"wikidata": 12345}), ("events", "citations", None),
    ("events", "citations", {"source": "the-exile-of-leon-trotsky"}), ("events", "citations", [{"source": None}]),
    ("events", "part_of", 1), ("events", "summary", {"a": 1}), ("events", "type", 1),
    ("places", "latitude", "48.85"), ("places", "latitude", "north"), ("places", "latitude", True),
    ("places", "latitude", [48.85]), ("places", "latitude", {"degrees": 48}), ("places", "latitude", None),
    ("places", "names", [{"name": "Old", "from_year": "1800"}]),
    ("places", "names", [{"name": "Old", "from_year": True}]),
    ("places", "names", [{"name": "Old", "from_year": 1800.5}]), ("places", "names", "Old"),
    ("places", "parent", ["france"]), ("people", "name", None), ("people", "aliases", [{"name": 1}]),
    ("people", "aliases", "Hostile"), ("people", "born", 1900), ("people", "born", {"edtf": None}),
    ("people", "birth_place", {"slug": "berlin"}), ("works", "creators", [{"person": "leon-trotsky", "role": 1}]),
    ("works", "creators", "leon-trotsky"), ("works", "subjects", "exile"), ("works", "subjects", [None]),
    ("works", "language", 1), ("works", "published", True), ("sources", "url", 1), ("sources", "title", None),
    ("sources", "kind", ["article"]), ("sources", "published", 1930), ("organisations", "founded", 1903),
    ("organisations", "predecessors", "left-opposition"), ("organisations", "predecessors", [1]),
    ("organisations", "seat", {"slug": "moscow"}), ("organisations", "names", [{"name": "x", "from_year": "1900"}]),
    ("people", "memberships", [{"organisation": 1}]), ("people", "memberships", {"organisation": "red-army"}),
    ("people", "memberships", [{"organisation": "red-army", "start": 1918}]),
    ("events", "organisations", [{"organisation": "red-army", "role": "ally"}]),
]  # fmt: skip
NUL_STRINGS = [
    ("events", "title", "a\x00b"), ("events", "summary", "\x00"), ("events", "kind", "lecture\x00"),
    ("events", "slug", "a\x00b"), ("events", "tags", ["exile\x00"]), ("events", "date", "1932\x00"),
    ("events", "people", [{"person": "leon-trotsky\x00"}]), ("events", "notes", "a\x00b"),
    ("events", "citations", [{"source": "the-exile-of-leon-trotsky", "page": "\x00"}]),
    ("events", "citations", [{"source": "the-exile-of-leon-trotsky", "quote": "a\x00b"}]),
    ("events", "identifiers", {"wikidata": "Q1\x00"}), ("people", "name", "a\x00b"),
    ("people", "aliases", [{"name": "a\x00b"}]), ("places", "name", "a\x00b"), ("places", "names", [{"name": "\x00"}]),
    ("places", "description", "a\x00b"), ("works", "title", "a\x00b"), ("works", "subjects", ["a\x00b"]),
    ("works", "publisher", "\x00"), ("sources", "title", "a\x00b"), ("sources", "author", "\x00"),
    ("sources", "url", "https://example.org/\x00"), ("organisations", "name", "a\x00b"),
    ("people", "memberships", [{"organisation": "red-army", "note": "a\x00b"}]),
]  # fmt: skip
OVERSIZED_STRINGS = [
    ("events", "slug", "x" * 200), ("events", "slug", "x" * 101), ("events", "title", "x" * 301),
    ("events", "summary", "x" * 20_001), ("events", "tags", ["x" * 201]), ("events", "kind", "x" * 41),
    ("events", "citations", [{"source": "the-exile-of-leon-trotsky", "page": "x" * 101}]),
    ("events", "identifiers", {"wikidata": "Q" + "9" * 150}), ("places", "identifiers", {"geonames": "9" * 150}),
    ("events", "date", "1" * 201), ("people", "aliases", [{"name": "x" * 301}]), ("works", "subjects", ["x" * 201]),
    ("sources", "url", "https://example.org/" + "x" * 2000),
]  # fmt: skip
FIELD_CASES = [("wrong type", *case) for case in WRONG_TYPES] + [("NUL", *case) for case in NUL_STRINGS]
FIELD_CASES += [("too long", *case) for case in OVERSIZED_STRINGS]


@pytest.mark.parametrize(
    ("kind", "collection", "name", "value"), FIELD_CASES,
    ids=[f"{kind}:{collection}.{name}={json.dumps(value)[:30]}" for kind, collection, name, value in FIELD_CASES],
)  # fmt: skip
def test_hostile_record_fields(target: Target, kind: str, collection: str, name: str, value: Any) -> None:
    """POST a new record and import one; for events, PUT over the module's record as well."""
    sends: list[Callable[[], Answer]] = [
        lambda: target.send(
            "POST", f"/v1/{collection}", target.json_auth(), dumps({**document(collection, new_slug()), name: value})
        ),
        lambda: target.send(
            "POST", "/v1/import", target.json_auth(),
            dumps([{"type": TYPES[collection], **document(collection, new_slug()), name: value}]),
        ),
    ]  # fmt: skip
    if collection == "events":
        sends.append(
            lambda: target.send(
                "PUT", PUT_PATH, target.json_auth(**{"If-Match": target.etag(PUT_PATH)}),
                dumps({**document(collection, REPLACED), name: value}),
            )
        )  # fmt: skip
    target.check(*sends)


HUGE_NUMBERS = ["1e400", "-1e309", str(2**63), str(2**64), str(-(2**63) - 1), BIG, f"-{BIG}", "1" + "0" * 30]
PLACE_WITH_NUMBER = (
    '{{"slug": "{slug}", "name": "A hostile place", "kind": "city", "latitude": {lat}, "longitude": {lon}, '
    '"names": [{{"name": "Old", "from_year": {from_year}, "to_year": {to_year}}}], "citations": '
    '[{{"source": "the-exile-of-leon-trotsky"}}]}}'
)


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=lambda n: n[:20])
def test_huge_numbers_in_record_fields(target: Target, number: str) -> None:
    """In each numeric field of a place, through POST, a JSON import and an NDJSON import."""

    def place(name: str) -> str:
        numbers = {"lat": "48.85", "lon": "2.35", "from_year": "1800", "to_year": "1900", name: number}
        return PLACE_WITH_NUMBER.format(slug=new_slug(), **numbers)

    def sends(name: str) -> list[Callable[[], Answer]]:
        return [
            lambda: target.send("POST", "/v1/places", target.json_auth(), place(name).encode()),
            lambda: target.send(
                "POST", "/v1/import", target.json_auth(), f'[{{"type": "place", {place(name)[1:]}]'.encode()
            ),
            lambda: target.send(
                "POST", "/v1/import", target.json_auth(**{"Content-Type": "application/x-ndjson"}),
                f'{{"type": "place", {place(name)[1:]}\n'.encode(),
            ),
        ]  # fmt: skip

    target.check(*(send for name in ("lat", "lon", "from_year", "to_year") for send in sends(name)))


EDTF = [
    "1917-02-30", "1900-02-30", "1917-13", "1917-00", "1917-12-32", "99999", "10000", "-10000", "-0000", "0000-00-00",
    "[1917,", "{1917..1918}", "1917/1916", "1917-12-31/1917-01-01", "../..", "/", "..", "1917-10-25T10:00",
    "1917-10-25T10:00:00Z", "X", "XXXX-01", "19XX-01", "1X17", "1917~?%", "1917??", "2001-25", "2001-21-01",
    "Y170000002", "Y-170000002", "1917-10-25/1918/1919", "[..1917]", "[1917..]", "[1917-01-01,1918-01-01..]",
    " 1917", "1917 ", "1917\n", "1917\x00", "1e3", "", "１９１７", "١٩١٧", "1917-1-1", "+1917",
    "[" + ",".join(["1917"] * 50) + "]", "[" * 100, "1917/" * 20, "2001-21/2001-21/2001-21", "1917-W01",
    "1917-10-25 1917-10-26", "{1917,1918}", "1917-10-25%%", "1917~-10", "?1917", "1917-?10",
]  # fmt: skip


@pytest.mark.parametrize("edtf", EDTF, ids=lambda e: repr(e)[:30])
def test_invalid_dates(target: Target, edtf: str) -> None:
    target.check(
        lambda: target.send("POST", "/v1/events", target.json_auth(), dumps(document("events", new_slug(), date=edtf))),
        lambda: target.send(
            "POST", "/v1/people", target.json_auth(),
            dumps(document("people", new_slug(), died={"edtf": edtf, "calendar": "julian"})),
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    "date",
    [
        {"edtf": "1917", "calendar": "mayan"}, {"edtf": "1917", "calendar": "Julian"},
        {"edtf": "1917", "calendar": None},
        {"edtf": "1917/1918", "end_calendar": "hebrew"}, {"edtf": "1917", "end_calendar": "julian"},
        {"edtf": "1917", "calendar": "julian\x00"}, {"calendar": "julian"}, {},
    ],
    ids=lambda d: json.dumps(d)[:40],
)  # fmt: skip
def test_invalid_date_objects(target: Target, date: dict[str, Any]) -> None:
    target.check(
        lambda: target.send("POST", "/v1/events", target.json_auth(), dumps(document("events", new_slug(), date=date)))
    )


# --- bodies past the caps, wrong media types ------------------------------------------------------------


def sized(size: int, prefix: bytes, suffix: bytes) -> bytes:
    """JSON of exactly `size` bytes: prefix, a string of x, suffix."""
    return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "IMPORT"])
def test_bodies_past_the_cap_are_413(target: Target, method: str, chunked: bool) -> None:
    cap = target.settings.max_import_bytes if method == "IMPORT" else target.settings.max_body_bytes
    record = dumps(document("events", new_slug(), summary=""))[:-1]
    prefix, suffix = record[: record.rindex(b'""') + 1], b'"}'
    if method == "IMPORT":
        body, path, headers = sized(cap + 1, b"[" + prefix, suffix + b"]"), "/v1/import", target.json_auth()
    elif method == "POST":
        body, path, headers = sized(cap + 1, prefix, suffix), "/v1/events", target.json_auth()
    else:
        path = PUT_PATH if method == "PUT" else PATCH_PATH
        body, headers = sized(cap + 1, prefix, suffix), target.json_auth(**{"If-Match": target.etag(path)})
    assert len(body) == cap + 1
    target.check(
        lambda: target.upload(method.replace("IMPORT", "POST"), path, headers, body, chunked=chunked), allowed={413}
    )


MEDIA_TYPES = [
    None, "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
    "application/jsonx", "application/json-patch+json", "text/json", "application/*", "*/*", "json",
    "application/x-ndjson", "application/javascript",
]  # fmt: skip


@pytest.mark.parametrize("media_type", MEDIA_TYPES, ids=repr)
def test_wrong_media_types_on_writes_are_415(target: Target, media_type: str | None) -> None:
    def headers(**more: str) -> dict[str, str]:
        return target.auth(**more, **({} if media_type is None else {"Content-Type": media_type}))

    sends = [
        lambda: target.send(
            "PUT", PUT_PATH, headers(**{"If-Match": target.etag(PUT_PATH)}), replacement()
        ),
        lambda: target.send("PATCH", PATCH_PATH, headers(**{"If-Match": target.etag(PATCH_PATH)}), change()),
    ]  # fmt: skip
    if media_type != "application/x-ndjson":  # an import takes NDJSON
        sends.append(
            lambda: target.send(
                "POST", "/v1/import", headers(), dumps([{"type": "event", **document("events", new_slug())}])
            )
        )
    sends.append(lambda: target.send("POST", "/v1/events", headers(), dumps(document("events", new_slug()))))
    target.check(*sends, allowed={415})


@pytest.mark.parametrize("media_type", ["application/merge-patch+json"])
def test_a_merge_patch_is_not_a_record(target: Target, media_type: str) -> None:
    target.check(
        lambda: target.send(
            "POST", "/v1/events", target.auth(**{"Content-Type": media_type}), dumps(document("events", new_slug()))
        ),
        lambda: target.send(
            "PUT", PUT_PATH, target.auth(**{"Content-Type": media_type, "If-Match": target.etag(PUT_PATH)}),
            replacement(),
        ),
        allowed={415},
    )  # fmt: skip


# --- imports --------------------------------------------------------------------------------------------

IMPORT_RECORD = dumps([{"type": "event", **document("events", "hostile-import")}])
IMPORT_BODIES = [
    ("truncated", "application/json", IMPORT_RECORD[:-1]),
    ("truncated in a record", "application/json", IMPORT_RECORD[:-20]),
    ("an opening bracket", "application/json", b"["),
    ("trailing garbage", "application/json", IMPORT_RECORD + b" garbage"),
    ("a second array", "application/json", IMPORT_RECORD + b"[]"),
    ("a UTF-16 BOM", "application/json", b"\xff\xfe" + IMPORT_RECORD),
    ("invalid UTF-8", "application/json", IMPORT_RECORD.replace(b"A hostile", b"\xc3\x28")),
    ("a lone surrogate escape", "application/json", IMPORT_RECORD.replace(b"A hostile", b"\\ud800")),
    ("an object, not an array", "application/json", IMPORT_RECORD[1:-1]),
    ("an object holding the array", "application/json", b'{"item": ' + IMPORT_RECORD + b"}"),
    ("a string", "application/json", b'"x"'),
    ("null", "application/json", b"null"),
    ("empty", "application/json", b""),
    ("white space", "application/json", b" \n\t "),
    ("no records", "application/json", b"[]"),
    ("numbers", "application/json", b"[1, 2]"),
    ("NaN", "application/json", b"[NaN]"),
    ("1e400", "application/json", b"[1e400]"),
    ("an array of arrays", "application/json", b"[[]]"),
    ("500 levels", "application/json", b"[" + b"[" * 500 + b"]" * 500 + b"]"),
    ("a NUL in a title", "application/json", IMPORT_RECORD.replace(b"A hostile", b"a\\u0000b")),
    ("NDJSON: not JSON", "application/x-ndjson", b"{oops\n"),
    ("NDJSON: 100k levels", "application/x-ndjson", b"[" * 100_000 + b"\n"),
    ("NDJSON: invalid UTF-8", "application/x-ndjson", b"\xff\n"),
    ("NDJSON: an array line", "application/x-ndjson", IMPORT_RECORD + b"\n"),
    ("NDJSON: numbers", "application/x-ndjson", b"1\n2\n"),
    ("NDJSON: blank lines", "application/x-ndjson", b"\n\n\n"),
    ("NDJSON: empty", "application/x-ndjson", b""),
    ("NDJSON: a bad second line", "application/x-ndjson", IMPORT_RECORD[1:-1] + b"\n{oops\n"),
    (
        "NDJSON: a NUL in a title",
        "application/x-ndjson",
        IMPORT_RECORD[1:-1].replace(b"A hostile", b"a\\u0000") + b"\n",
    ),
]


@pytest.mark.parametrize(("media_type", "body"), [c[1:] for c in IMPORT_BODIES], ids=[c[0] for c in IMPORT_BODIES])
def test_hostile_imports(target: Target, media_type: str, body: bytes) -> None:
    """The record in these bodies gets a new slug each time: one that got through is created."""
    body = body.replace(b"hostile-import", new_slug().encode())
    target.check(lambda: target.send("POST", "/v1/import", target.auth(**{"Content-Type": media_type}), body))


# --- preconditions --------------------------------------------------------------------------------------

IF_MATCH = [
    None, "", "{n}", 'W/"{n}"', '"{n}', '{n}"', '"abc"', '"-{n}"', '"0{n}"', '"+{n}"', '" {n}"', '"{n} "', '"{n}"x',
    '"{n}.bogus"', '"{n}-gzip-gzip"', '"{n}.ld.ld"', '"99999999999999999999999"', f'"{2**63}"', '"{stale}"',
    '"{future}"', ",,,", '"{stale}", W/"{n}"', ", ".join(['"{stale}"'] * 500), '"\xb9"', '"\xb2"', '"{n}\xb9"',
    '"\xff"', '"{n}\xa0"', "*x", "W/*",
]  # fmt: skip


@pytest.mark.parametrize("if_match", IF_MATCH, ids=lambda v: repr(v)[:30])
def test_bad_if_match(target: Target, if_match: str | None) -> None:
    """PATCH, PUT and DELETE, each with a valid body: only If-Match is wrong ({n} is the current revision)."""
    target.revive(DELETE_PATH)

    def send(method: str, path: str, body: Callable[[], bytes | None]) -> Answer:
        headers = target.json_auth()
        if if_match is not None:
            revision = int(target.etag(path).strip('"'))
            headers["If-Match"] = if_match.format(n=revision, stale=revision - 1, future=revision + 1)
        return target.send(method, path, headers, body())

    target.check(
        functools.partial(send, "PATCH", PATCH_PATH, change),
        functools.partial(send, "PUT", PUT_PATH, replacement),
        functools.partial(send, "DELETE", DELETE_PATH, lambda: None),
    )


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("if_none_match", ["*", "{etag}", 'W/"{n}"'])
def test_if_none_match_that_matches_refuses_a_write(target: Target, method: str, if_none_match: str) -> None:
    """RFC 9110 13.1.2: a write whose If-None-Match names the current representation (or `*`) fails
    with 412, whatever If-Match says."""
    path = PATCH_PATH if method == "PATCH" else PUT_PATH
    body = change() if method == "PATCH" else replacement()

    def send() -> Answer:
        etag = target.etag(path)
        value = if_none_match.format(etag=etag, n=etag.strip('"'))
        return target.send(method, path, target.json_auth(**{"If-Match": etag, "If-None-Match": value}), body)

    target.check(send, allowed={412})


IF_NONE_MATCH = [
    '"' * 5000, "W/", "*, garbage", ",,,,", '"1-gzip', '"\xb9"', '"\xff\xfe"', ", ".join(['W/"d1.json"'] * 300),
    'W/"d99999999999999999999999.json"', '""', "W/W/W/", "*" * 100,
]  # fmt: skip


@pytest.mark.parametrize("if_none_match", IF_NONE_MATCH, ids=lambda v: repr(v)[:30])
def test_odd_if_none_match_on_reads_is_no_error(target: Target, if_none_match: str) -> None:
    target.check(
        *(
            functools.partial(target.send, "GET", path, {"If-None-Match": if_none_match})
            for path in ("/v1/events/october-revolution", "/v1/events", "/v1/timeline", "/v1/years/1929", "/v1/export")
        ),
        allowed={200, 304},
    )


# --- keys, and the query parameters of writes -----------------------------------------------------------

AUTHORIZATIONS = [
    "Bearer " + "x" * 10_000, "Bearer \xff\xfe", "Bearer", "Bearer ", "Basic Og==",
    "bearer\tchr_x", "Token abc", "Bearer chr_" + "A" * 43, "Bearer {write} extra", "Bearer {write}x", "Bearer {read}",
    "Bearer {write}, Bearer {write}",
]  # fmt: skip


@pytest.mark.parametrize("authorization", AUTHORIZATIONS, ids=lambda a: repr(a)[:30])
def test_bad_authorization(target: Target, authorization: str) -> None:
    value = authorization.format(**target.keys)
    target.check(
        lambda: target.send(
            "POST", "/v1/events", {"Authorization": value, "Content-Type": "application/json"},
            dumps(document("events", new_slug())),
        ),
        lambda: target.send(
            "PATCH", PATCH_PATH, {"Authorization": value, "Content-Type": "application/json",
                                  "If-Match": target.etag(PATCH_PATH)}, change(),
        ),
    )  # fmt: skip


WRITE_QUERIES = [
    ("DELETE", f"{DELETE_PATH}?unlink=maybe"), ("DELETE", f"{DELETE_PATH}?unlink=%00"),
    ("DELETE", f"{DELETE_PATH}?unlink=1e400"), ("DELETE", f"{DELETE_PATH}?bogus=1"),
    ("RESTORE", f"{DELETE_PATH}/restore?revision=0"), ("RESTORE", f"{DELETE_PATH}/restore?revision=-1"),
    ("RESTORE", f"{DELETE_PATH}/restore?revision={BIG}"), ("RESTORE", f"{DELETE_PATH}/restore?revision={2**63}"),
    ("RESTORE", f"{DELETE_PATH}/restore?revision={2**31}"), ("RESTORE", f"{DELETE_PATH}/restore?revision=1.5"),
    ("RESTORE", f"{DELETE_PATH}/restore?revision=%00"), ("RESTORE", f"{DELETE_PATH}/restore?bogus=1"),
    ("IMPORT", "/v1/import?dry_run=maybe"), ("IMPORT", "/v1/import?dry_run=%00"),
    ("IMPORT", "/v1/import?dry_run=1e400"), ("IMPORT", "/v1/import?on_conflict=explode"),
    ("IMPORT", "/v1/import?on_conflict=%00"), ("IMPORT", "/v1/import?bogus=1"),
    ("POST", "/v1/events?bogus=1"), ("POST", "/v1/events?dry_run=true"),
    ("PATCH", f"{PATCH_PATH}?bogus=1"), ("PATCH", f"{PATCH_PATH}?dry_run=true"), ("PUT", f"{PUT_PATH}?bogus=1"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), WRITE_QUERIES, ids=[p.split("/")[-1][:40] for _m, p in WRITE_QUERIES])
def test_bad_query_parameters_on_writes(target: Target, method: str, path: str) -> None:
    """Each write is valid but for its query string."""
    target.revive(DELETE_PATH)

    def send() -> Answer:
        record = path.split("?")[0].removesuffix("/restore")
        if method == "RESTORE":
            return target.send("POST", path, target.auth("admin"))
        if method == "IMPORT":
            return target.send(
                "POST", path, target.json_auth(), dumps([{"type": "event", **document("events", new_slug())}])
            )
        if method == "POST":
            return target.send("POST", path, target.json_auth(), dumps(document("events", new_slug())))
        body = {"PATCH": change(), "PUT": replacement(), "DELETE": None}[method]
        return target.send(method, path, target.json_auth(**{"If-Match": target.etag(record)}), body)

    target.check(send)


# --- deeply nested imports, on the server whose memory is capped ----------------------------------------


def test_deeply_nested_imports(target: Target) -> None:
    """100,000 levels of nesting in 100 kB (far under the import cap) must be refused like any malformed
    body. Sent to the capped server (CappedServer): a parser whose memory grows with the square of the
    depth fails there, not by taking this machine's memory."""
    base = target.capped.base

    def send(body: bytes) -> Answer:
        request = describe("POST", "/v1/import", {"Content-Type": "application/json"}, body)
        try:
            response = httpx.post(f"{base}/v1/import", content=body, headers=target.json_auth(), timeout=120)
        except httpx.TransportError as exc:
            return Answer(request, 0, None, repr(exc).encode())
        return Answer(request, response.status_code, response.headers.get("content-type"), response.content)

    faults = [
        fault + f"\n    the capped server logged: {target.capped.logged()}"
        for body in (b"[" * 100_000, b"[" + b'{"a": ' * 100_000)
        for fault in target.faults(functools.partial(send, body))
    ]
    if faults:
        pytest.fail("\n".join(faults), pytrace=False)
