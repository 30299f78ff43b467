"""Chronicle against Datasette and two bare-sqlite3 ceilings, side by side, in one run.

    .venv/bin/python bench/run.py                    # 10k, 100k and 1M events (bench/README.md)
    .venv/bin/python bench/run.py --sizes 10M        # the long one
    .venv/bin/python bench/run.py --quick            # before/after a change: Chronicle only, 100k
    .venv/bin/python bench/run.py --postgres postgresql://postgres@127.0.0.1/postgres   # + Chronicle on PostgreSQL

Every server is one process pinned to CPU 0; wrk is pinned to CPU 1. For each query it reports
req/s, p50/p99 latency at 32 connections, server CPU microseconds per request (from /proc: robust
when the machine is noisy), and the server's peak private memory (RssAnon: mapped database pages do
not count). The ceilings replay the exact SQL Chronicle ran for the query (recorded with sqlite3's
trace callback), so they return the same records; Datasette answers the closest table query it can.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import datetime
import json
import logging
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / "data"
# The command line of the code in a baseline's work tree (app.cli has no __main__), on this virtualenv.
BASELINE_CLI = (sys.executable, "-c", "from app.cli import main; main()")
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
QUERIES = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6")
DESCRIPTIONS = {
    "Q1": "events in 1929 (20 rows)",
    "Q2": "on this day, 7 November, newest first",
    "Q3": "full text: exile + the busiest city",
    "Q4": "deep page by cursor (90th percentile)",
    "Q5": "one event with people and places",
    "Q6": "people by name prefix: anna",
}
# Issue 4's endpoints, measured on Chronicle alone (--discovery): nothing else answers them.
DISCOVERY = {
    "search": "/v1/search?q=exile",
    "on this day": "/v1/on-this-day/11-07",
    "year": "/v1/years/1929",
    "timeline by decade": "/v1/timeline?bucket=decade",
    "places near Paris, 50 km": "/v1/places?near=48.86,2.35&radius_km=50",
    "events in a box (France)": "/v1/events?bbox=-5,42,8,51",
    "events with people and places": "/v1/events?year=1929&include=people,places",
    "events as GeoJSON": "/v1/events?year=1929&format=geojson",
    "304 (If-None-Match)": "/v1/events?year=1929",
}
SERVER_CPU, LOAD_CPU = "0", "1"
# wrk's connections stand for as many clients, but they all come from 127.0.0.1, and a server refuses
# those past CHRONICLE_MAX_CONCURRENT_PER_ADDRESS (16) with a 429: the benchmarks lift that limit.
MANY_CLIENTS_ONE_ADDRESS = {"CHRONICLE_MAX_CONCURRENT_PER_ADDRESS": "4096"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the queries, per server -------------------------------------------------------------------------


@dataclass
class Workload:
    """The URL of each query for each server, derived from the database."""

    database: Path
    chronicle: dict[str, str] = field(default_factory=dict)
    datasette: dict[str, str] = field(default_factory=dict)
    ceiling: dict[str, str] = field(default_factory=dict)
    statements: dict[str, list[str]] = field(default_factory=dict)
    q4_cursor: Any = None  # app.queries.common.Cursor: encoded per server (with_cursor_key)


def sqlite_cursor_key(database: Path) -> bytes | None:
    """The database's cursor key (migration 0011), or None for a database from before it."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'secrets'").fetchone():
            return None
        return bytes.fromhex(db.execute("SELECT value FROM secrets WHERE name = 'cursor_key'").fetchone()[0])


def postgres_cursor_key(url: str) -> bytes:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
        row = db.execute("SELECT value FROM secrets WHERE name = 'cursor_key'").fetchone()
        assert row is not None
        return bytes.fromhex(row[0])


def cursor_for(cursor: Any, key: bytes | None) -> str:
    """The cursor as the server of a database with this key takes it: signed, or (a database from
    before cursors were signed) plain base64 JSON, as that code read it."""
    if key is not None:
        return str(cursor.encode(key))
    raw = json.dumps([cursor.sort, cursor.key, cursor.id, cursor.total.value, cursor.total.exact]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def with_cursor_key(urls: dict[str, str], cursor: Any, key: bytes | None) -> dict[str, str]:
    """The Chronicle URLs for a server whose database has this cursor key (Q4 carries a cursor)."""
    return {**urls, "Q4": f"/v1/events?cursor={cursor_for(cursor, key)}"}


def build_workload(database: Path) -> Workload:
    from app.dates import year_bounds
    from app.queries.common import Cursor, Total

    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        (count,) = db.execute("SELECT count(*) FROM events").fetchone()
        key, row_id = db.execute(
            "SELECT date_min_jdn, id FROM events ORDER BY date_min_jdn, id LIMIT 1 OFFSET ?", (int(count * 0.9),)
        ).fetchone()
        (slug, event_id) = db.execute(
            "SELECT r.slug, e.id FROM events e JOIN records r USING (id) ORDER BY e.id LIMIT 1 OFFSET ?",
            (count // 2,),
        ).fetchone()
        # The place most events happen in (the generator favours big cities, as history does).
        (city,) = db.execute(
            "SELECT p.name FROM places p WHERE p.id = "
            "(SELECT place_id FROM event_places GROUP BY place_id ORDER BY count(*) DESC LIMIT 1)"
        ).fetchone()
    words = urllib.parse.quote(f"exile {city}")
    lo, hi = year_bounds(1929)
    work = Workload(database)
    work.q4_cursor = Cursor("date", key, row_id, Total(1000, False))
    work.chronicle = {
        "Q1": "/v1/events?year=1929",
        "Q2": "/v1/events?month=11&day=7&sort=-date",
        "Q3": f"/v1/events?q={words}",
        "Q4": f"/v1/events?cursor={cursor_for(work.q4_cursor, sqlite_cursor_key(database))}",
        "Q5": f"/v1/events/{slug}",
        "Q6": "/v1/people?name_prefix=anna",
    }
    name = database.stem  # Datasette names a database after its file
    table = f"/{name}/events.json?_size=20&_nocount=1&_shape=objects"
    detail_sql = (
        "SELECT e.*, r.slug, "
        "(SELECT json_group_array(json_object('slug', pr.slug, 'name', p.name, 'role', ep.role)) "
        " FROM event_people ep JOIN people p ON p.id = ep.person_id JOIN records pr ON pr.id = p.id "
        " WHERE ep.event_id = e.id) AS people, "
        "(SELECT json_group_array(json_object('slug', lr.slug, 'name', l.name, 'role', el.role)) "
        " FROM event_places el JOIN places l ON l.id = el.place_id JOIN records lr ON lr.id = l.id "
        " WHERE el.event_id = e.id) AS places "
        "FROM events e JOIN records r ON r.id = e.id WHERE e.id = :id"
    )
    work.datasette = {
        # Datasette cannot express an overlap by span level; it gets the index-friendly "starts in 1929".
        "Q1": f"{table}&date_min_jdn__gte={lo}&date_min_jdn__lte={hi}&_sort=date_min_jdn",
        "Q2": f"{table}&date_month=11&date_day=7&_sort_desc=date_min_jdn",
        "Q3": f"{table}&_search={words}&_fts_table=events_fts&_fts_pk=id&_sort=date_min_jdn",
        "Q4": f"{table}&_sort=date_min_jdn&_next={key},{row_id}",
        "Q5": f"/{name}.json?_shape=objects&sql=" + urllib.parse.quote(detail_sql) + f"&id={event_id}",
        # LIKE 'Anna%' (Datasette's startswith) ignores case, as name_key does, but cannot use an index.
        "Q6": f"/{name}/people.json?_size=20&_nocount=1&_shape=objects&name__startswith=Anna&_sort=name",
    }
    work.statements = record_statements(database, work.chronicle)
    work.ceiling = {q: f"/{q.lower()}" for q in QUERIES}
    return work


def record_statements(database: Path, urls: dict[str, str]) -> dict[str, list[str]]:
    """The SQL Chronicle runs for each URL, parameters inlined (sqlite3's trace callback)."""
    import httpx

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=f"sqlite:///{database}"))
    recorded: dict[str, list[str]] = {}

    async def run() -> None:
        async with app.router.lifespan_context(app):
            trace: list[str] = []
            app.state.read_db.connection.set_trace_callback(trace.append)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for query, url in urls.items():
                    await client.get(url)  # the first request compiles and caches statements
                    trace.clear()
                    response = await client.get(url)
                    if response.status_code != 200:
                        raise SystemExit(f"{query} {url}: Chronicle answered {response.status_code}")
                    # "-- ..." lines are statements a virtual table (FTS5) runs inside another one.
                    recorded[f"/{query.lower()}"] = [s for s in trace if not s.startswith(("PRAGMA", "--"))]

    access = logging.getLogger("chronicle.access")
    level = access.level
    access.setLevel(logging.WARNING)  # these requests are not the benchmark's: no access lines
    try:
        asyncio.run(run())
    finally:
        access.setLevel(level)
    return recorded


def in_process_rate(database: Path, statements: list[str], seconds: float = 1.0) -> float:
    """Microseconds per request for the statements alone: the data layer's limit."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, cached_statements=256)
    db.execute("PRAGMA mmap_size = 268435456")
    db.execute("PRAGMA cache_size = -32000")
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for sql in statements:
            db.execute(sql).fetchall()
        runs += 1
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed / runs * 1e6


# --- servers -------------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # a process that ended meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime, all threads


def postgres_pids() -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if stat.read_text().strip() == "postgres":
                found.append(int(stat.parent.name))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_path: str
    urls: dict[str, str]
    cwd: Path = ROOT
    with_postgres: bool = False  # its database is PostgreSQL: count the server processes' CPU too
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    def start(self) -> float:
        self.port = free_port()
        command = [arg.replace("{port}", str(self.port)) for arg in self.command]
        started = time.perf_counter()
        # Output goes to a file: an unread pipe fills up and blocks a server that logs every request.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; closed in stop()
        self.process = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *command],
            env={**os.environ, **MANY_CLIENTS_ONE_ADDRESS, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
        )
        deadline = started + 120
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"{self.name} exited at start:\n{self.log.read().decode()[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url(self.ready_path), timeout=5) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
            time.sleep(0.05)
        raise SystemExit(f"{self.name} did not answer within 120 s")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def cpu_seconds(self) -> float:
        """CPU time of the server process; with PostgreSQL, plus every `postgres` process's (SQLite
        runs inside the server, so both figures are the whole cost of answering)."""
        assert self.process is not None
        pids = [self.process.pid] + (postgres_pids() if self.with_postgres else [])
        return sum(process_cpu_seconds(pid) for pid in pids)

    def rss_anon_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"RssAnon:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")


def servers(
    work: Workload,
    statements_file: Path,
    only_chronicle: bool,
    baseline: Path | None,
    baseline_database: Path | None = None,
    postgres_url: str | None = None,
) -> list[Server]:
    database = str(work.database)
    chronicle = Server(
        "Chronicle",
        [str(BIN / "chronicle"), "serve", "--port", "{port}"],
        {"CHRONICLE_DATABASE_URL": f"sqlite:///{database}"},
        "/v1/events?limit=1",
        work.chronicle,
    )
    on_postgres = [] if postgres_url is None else [
        Server(
            "Chronicle+PostgreSQL", [str(BIN / "chronicle"), "serve", "--port", "{port}"],
            {"CHRONICLE_DATABASE_URL": postgres_url}, "/v1/events?limit=1",
            with_cursor_key(work.chronicle, work.q4_cursor, postgres_cursor_key(postgres_url)), with_postgres=True,
        )
    ]  # fmt: skip
    if baseline is not None:  # the same command run from the baseline's work tree imports its code
        before = Server(
            f"Chronicle@{baseline.name}",
            [*BASELINE_CLI, "serve", "--port", "{port}"],
            {"CHRONICLE_DATABASE_URL": f"sqlite:///{baseline_database}"},
            "/v1/events?limit=1",
            with_cursor_key(work.chronicle, work.q4_cursor, sqlite_cursor_key(Path(str(baseline_database)))),
            cwd=baseline,
        )
        return [chronicle, before]
    if only_chronicle:
        return [chronicle, *on_postgres]
    ceiling_env = {"BENCH_DATABASE": database, "BENCH_STATEMENTS": str(statements_file)}
    uvicorn = [str(BIN / "uvicorn"), "--port", "{port}", "--log-level", "warning", "--no-access-log"]
    return [
        chronicle,
        *on_postgres,
        Server(
            "Datasette",
            [
                str(BIN / "datasette"),
                "serve",
                "-i",
                database,
                "--port",
                "{port}",
                "--setting",
                "suggest_facets",
                "off",
                "--setting",
                "sql_time_limit_ms",
                "60000",
            ],
            {},
            f"/{work.database.stem}.json?sql=select+1",
            work.datasette,
        ),
        Server("FastAPI+sqlite3", [*uvicorn, "bench.ceilings:fastapi_app"], ceiling_env, "/q1", work.ceiling),
        Server("bare ASGI+sqlite3", [*uvicorn, "bench.ceilings:bare_app"], ceiling_env, "/q1", work.ceiling),
    ]


# --- load ------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    rss_mb: float
    errors: int


def _ms(output: str, percentile: str) -> float:
    """A latency percentile from wrk's --latency table ("50%  1.23ms"), in milliseconds."""
    match = re.search(rf"{percentile}%\s+([\d.]+)(us|ms|s|m)\b", output)
    if match is None:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[match.group(2)]


def measure(
    server: Server, path: str, seconds: int, connections: int, headers: dict[str, str] | None = None
) -> Measurement:
    url = server.url(path)
    header_args = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    warm = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", "-d1s", *header_args, url]
    subprocess.run(warm, check=True, capture_output=True)
    peak = [server.rss_anon_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak.append(server.rss_anon_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    cpu_before = server.cpu_seconds()
    sampler.start()
    run = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_args, url]
    output = subprocess.run(run, check=False, capture_output=True, text=True).stdout
    cpu = server.cpu_seconds() - cpu_before
    stop.set()
    sampler.join()
    answered = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if answered is None or rate is None:
        print(f"wrk output not understood:\n{output}", flush=True)
    requests = int(answered.group(1)) if answered else 0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Measurement(
        rps=float(rate.group(1)) if rate else 0.0,
        p50_ms=_ms(output, "50"),
        p99_ms=_ms(output, "99"),
        cpu_us=cpu / max(requests, 1) * 1e6,
        rss_mb=max(peak),
        errors=(int(errors.group(1)) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    )


def unloaded_p50_ms(server: Server, path: str, requests: int = 50) -> float:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        with urllib.request.urlopen(server.url(path)) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# --- the run ---------------------------------------------------------------------------------------


def ensure_database(label: str, code: Path | None = None) -> Path:
    """The database of `label` events, generated once; by the code at `code` (a baseline's work tree,
    whose schema may differ from this checkout's) when given."""
    if code is None:
        path, command, cwd = DATA / f"events-{label}.sqlite3", [str(BIN / "chronicle")], ROOT
    else:
        path, command, cwd = DATA / f"events-{label}@{code.name}.sqlite3", [*BASELINE_CLI], code
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({SIZES[label]:,} events)...", flush=True)
        subprocess.run([*command, "generate", str(path), "--events", str(SIZES[label])], check=True, cwd=cwd)
    env = {**os.environ, "CHRONICLE_DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([*command, "db", "upgrade"], check=True, env=env, capture_output=True, cwd=cwd)
    return path


def ensure_postgres_copy(label: str, database: Path, server_url: str) -> str:
    """The events database of `label` copied to PostgreSQL (`chronicle db copy`, verified), once: a
    database `chronicle_bench_<label>` on the server at `server_url`, reused while its counts match."""
    from sqlalchemy import create_engine, text

    from app.db import engine_url

    name = f"chronicle_bench_{label.lower()}"
    url = engine_url(server_url)
    target = url.set(database=name)
    with sqlite3.connect(database) as connection:
        events = connection.execute("SELECT count(*) FROM records").fetchone()[0]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
    if exists:
        check = create_engine(target)
        with contextlib.suppress(Exception), check.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM records")).scalar() == events:
                check.dispose()
                admin.dispose()
                return target.render_as_string(hide_password=False)
        check.dispose()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"))
    admin.dispose()
    rendered = target.render_as_string(hide_password=False)
    print(f"copying {database} to {name} (chronicle db copy)...", flush=True)
    subprocess.run([str(BIN / "chronicle"), "db", "copy", f"sqlite:///{database}", rendered], check=True)
    return rendered


@dataclass
class SizeResult:
    label: str
    events: int
    results: dict[str, dict[str, list[Measurement]]]  # server -> query -> one per round
    start_seconds: dict[str, float]
    in_process_us: dict[str, float]
    unloaded_p50: dict[str, float]
    statements: dict[str, list[str]]


def run_size(
    label: str,
    rounds: int,
    seconds: int,
    connections: int,
    quick: bool,
    baseline: Path | None = None,
    postgres: str | None = None,
) -> SizeResult:
    database = ensure_database(label)
    work = build_workload(database)
    statements_file = Path(tempfile.mkdtemp()) / "statements.json"
    statements_file.write_text(json.dumps(work.statements))
    baseline_database = ensure_database(label, baseline) if baseline is not None else None
    postgres_url = ensure_postgres_copy(label, database, postgres) if postgres else None
    all_servers = servers(work, statements_file, quick, baseline, baseline_database, postgres_url)
    results: dict[str, dict[str, list[Measurement]]] = {s.name: {q: [] for q in QUERIES} for s in all_servers}
    start_seconds: dict[str, float] = {}
    unloaded: dict[str, float] = {}
    for round_number in range(rounds):
        order = all_servers if round_number % 2 == 0 else list(reversed(all_servers))  # interleave
        for server in order:
            start_seconds[server.name] = min(start_seconds.get(server.name, 1e9), server.start())
            try:
                for query in QUERIES:
                    result = measure(server, server.urls[query], seconds, connections)
                    results[server.name][query].append(result)
                    print(
                        f"{label} round {round_number + 1} {server.name:18} {query} {result.rps:9.0f} req/s "
                        f"p50 {result.p50_ms:6.2f} ms p99 {result.p99_ms:6.2f} ms {result.cpu_us:7.0f} us/req "
                        f"{result.rss_mb:5.0f} MB" + (f"  ERRORS {result.errors}" if result.errors else ""),
                        flush=True,
                    )
                if server.name == "Chronicle" and round_number == 0:
                    unloaded = {q: unloaded_p50_ms(server, server.urls[q]) for q in QUERIES}
            finally:
                server.stop()
    in_process = {q: in_process_rate(database, work.statements[f"/{q.lower()}"]) for q in QUERIES}
    return SizeResult(label, SIZES[label], results, start_seconds, in_process, unloaded, work.statements)


def run_discovery(label: str, rounds: int, seconds: int, connections: int) -> str:
    """A table of Chronicle's discovery endpoints (issue 4): req/s, latency, CPU µs per request."""
    database = ensure_database(label)
    env = {"CHRONICLE_DATABASE_URL": f"sqlite:///{database}"}
    server = Server("Chronicle", [str(BIN / "chronicle"), "serve", "--port", "{port}"], env, "/v1/events?limit=1", {})
    found: dict[str, list[Measurement]] = {name: [] for name in DISCOVERY}
    server.start()
    try:
        with urllib.request.urlopen(server.url(DISCOVERY["304 (If-None-Match)"])) as answer:
            etag = answer.headers["ETag"]
        for _round in range(rounds):
            for name, path in DISCOVERY.items():
                headers = {"If-None-Match": etag} if name.startswith("304") else {}
                found[name].append(measure(server, path, seconds, connections, headers))
                print(f"{label} {name:32} {found[name][-1].cpu_us:7.0f} us/req", flush=True)
    finally:
        server.stop()
    lines = [f"## Discovery endpoints, {label} events (Chronicle)", "", "| query | URL | req/s | p50 | CPU µs/req |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, runs in found.items():
        lines.append(
            f"| {name} | `{DISCOVERY[name]}` | {median_of(runs, 'rps'):,.0f} | {median_of(runs, 'p50_ms'):.1f} ms "
            f"| **{median_of(runs, 'cpu_us'):,.0f}** |"
        )
    return "\n".join(lines)


def median_of(measurements: list[Measurement], attribute: str) -> float:
    return float(statistics.median(getattr(m, attribute) for m in measurements))


def report(sizes: list[SizeResult], command: str, rounds: int, seconds: float, connections: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {_versions()}",
        f"- Command: `{command}`",
        f"- Method: each server one process on CPU {SERVER_CPU}; `wrk -t1 -c{connections} -d{seconds:g}s --latency` "
        f"on CPU {LOAD_CPU}, after a 1 s warm-up; medians of {rounds} interleaved round(s). CPU us/req is the "
        "server's user+system CPU time over the run divided by the requests answered.",
        "- Data: `chronicle generate` (synthetic events, real GeoNames places); the same file for every server.",
        "",
    ]
    for size in sizes:
        names = list(size.results)
        lines += [f"## {size.label} events", "", "| query | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for query in QUERIES:
            cells = []
            for name in names:
                runs = size.results[name][query]
                cells.append(
                    f"{median_of(runs, 'rps'):,.0f} req/s · p50 {median_of(runs, 'p50_ms'):.1f} / "
                    f"p99 {median_of(runs, 'p99_ms'):.1f} ms · **{median_of(runs, 'cpu_us'):,.0f} µs**"
                    + (f" · {sum(m.errors for m in runs)} errors" if any(m.errors for m in runs) else "")
                )
            lines.append(f"| {query} {DESCRIPTIONS[query]} | " + " | ".join(cells) + " |")
        lines.append(
            "| peak RssAnon | "
            + " | ".join(f"{max(m.rss_mb for q in QUERIES for m in size.results[n][q]):.0f} MB" for n in names)
            + " |"
        )
        lines.append(
            "| start-up to first answer | " + " | ".join(f"{size.start_seconds[n]:.2f} s" for n in names) + " |"
        )
        lines += ["", "| query | in-process SQL µs/req | Chronicle p50 unloaded |", "|---|---|---|"]
        lines += [
            f"| {q} | {size.in_process_us[q]:,.0f} | {size.unloaded_p50.get(q, float('nan')):.2f} ms |" for q in QUERIES
        ]
        if len(names) > 1:
            others = names[1:]
            lines += [
                "",
                "| query | " + " | ".join(f"Chronicle / {n}: req/s · CPU µs" for n in others) + " |",
                "|---|" + "---|" * len(others),
            ]
            for query in QUERIES:
                cells = []
                for other in others:
                    rate = median_of(size.results["Chronicle"][query], "rps") / (
                        median_of(size.results[other][query], "rps") or float("nan")
                    )
                    cpu = median_of(size.results["Chronicle"][query], "cpu_us") / (
                        median_of(size.results[other][query], "cpu_us") or float("nan")
                    )
                    cells.append(f"{rate:.2f}× · {cpu:.2f}×")
                lines.append(f"| {query} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines + targets(sizes))


def targets(sizes: list[SizeResult]) -> list[str]:
    """Issue 3's targets, checked against this run: met, not met, or not measured in it."""
    by_label = {size.label: size for size in sizes}
    rows: list[tuple[str, str, bool | None]] = []

    def rps(size: SizeResult, server: str, query: str) -> float | None:
        runs = size.results.get(server, {}).get(query)
        return median_of(runs, "rps") if runs else None

    main = by_label.get("1M")
    for query in ("Q1", "Q2", "Q4", "Q5"):
        for server, factor in (("Datasette", 4.0), ("FastAPI+sqlite3", 0.5)):
            ours, theirs = (rps(main, "Chronicle", query), rps(main, server, query)) if main else (None, None)
            ratio = ours / theirs if ours and theirs else None
            rows.append((f"{query} at 1M ≥ {factor:g}× {server}", f"{ratio:.2f}×" if ratio else "-",
                         None if ratio is None else ratio >= factor))  # fmt: skip
    ours, theirs = (rps(main, "Chronicle", "Q3"), rps(main, "Datasette", "Q3")) if main else (None, None)
    ratio = ours / theirs if ours and theirs else None
    rows.append(("Q3 at 1M ≥ 3× Datasette", f"{ratio:.2f}×" if ratio else "-", None if ratio is None else ratio >= 3))
    p50 = main.unloaded_p50.get("Q3") if main else None
    rows.append(("Q3 at 1M: p50 < 20 ms unloaded", f"{p50:.1f} ms" if p50 else "-", None if p50 is None else p50 < 20))
    small, large = by_label.get("10k"), by_label.get("10M")
    for query in ("Q1", "Q2", "Q4", "Q5"):
        if small and large and "Chronicle" in small.results and "Chronicle" in large.results:
            growth = median_of(large.results["Chronicle"][query], "cpu_us") / median_of(
                small.results["Chronicle"][query], "cpu_us"
            )
            rows.append((f"{query}: CPU µs/req at 10M ≤ 1.3× at 10k", f"{growth:.2f}×", growth <= 1.3))
        else:
            rows.append((f"{query}: CPU µs/req at 10M ≤ 1.3× at 10k", "10M not in this run", None))
    for size in sizes:
        chronicle = size.results.get("Chronicle", {})
        worst = max((median_of(runs, "p99_ms") / median_of(runs, "p50_ms"), query) for query, runs in chronicle.items())
        rows.append((f"p99 ≤ 3× p50 at {size.label} (worst query)", f"{worst[0]:.1f}× ({worst[1]})", worst[0] <= 3))
    biggest = sizes[-1]
    memory = max(m.rss_mb for runs in biggest.results.get("Chronicle", {}).values() for m in runs)
    rows.append((f"RssAnon ≤ 150 MB (at {biggest.label}; the target is at 10M)", f"{memory:.0f} MB",
                 memory <= 150 if biggest.label == "10M" else None))  # fmt: skip
    start = max(size.start_seconds.get("Chronicle", 0.0) for size in sizes)
    rows.append(("start-up to first answer < 2 s", f"{start:.2f} s", start < 2))
    verdict = {True: "met", False: "**not met**", None: "not measured"}
    return [
        "## Targets (issue 3)", "", "| target | this run | |", "|---|---|---|",
        *(f"| {name} | {value} | {verdict[ok]} |" for name, value, ok in rows), "",
    ]  # fmt: skip


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    from importlib.metadata import version

    names = ("fastapi", "uvicorn", "datasette", "orjson")
    found = []
    for name in names:
        with contextlib.suppress(Exception):
            found.append(f"{name} {version(name)}")
    return ", ".join(found)


def checkout(ref: str) -> Path:
    """A work tree of `ref` under bench/data/ (its code runs on this checkout's virtualenv)."""
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True)
    tree = DATA / f"baseline-{commit.stdout.strip()}"
    if not tree.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True, capture_output=True
        )
    return tree


def ensure_tools(quick: bool) -> None:
    if shutil.which("wrk") is None:
        print("installing wrk (apt)...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed to pin processes to CPUs")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("the harness pins the server and the load to different CPUs: it needs 2")
    if not quick and not (BIN / "datasette").exists():
        raise SystemExit("datasette is not installed: pip install -e '.[bench]'")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated: 10k, 100k, 1M, 10M (default 10k,100k,1M; --quick: 100k)")
    parser.add_argument("--quick", action="store_true", help="Chronicle only, 3 rounds of 3 s (100k events)")
    parser.add_argument(
        "--baseline", metavar="GIT_REF", help="with --quick: also run Chronicle at GIT_REF, interleaved, and compare"
    )
    parser.add_argument("--discovery", action="store_true", help="issue 4's endpoints, Chronicle alone (100k)")
    parser.add_argument(
        "--postgres", metavar="SERVER_URL",
        help="also Chronicle on PostgreSQL: each size's database is copied to this server once (chronicle db copy)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--output", type=Path, help="the report (default bench/RESULTS.md; --quick writes one only when given)"
    )
    args = parser.parse_args(argv)
    if args.quick or args.discovery:
        args.sizes, args.rounds, args.seconds = args.sizes or "100k", 3, 3
    args.sizes = args.sizes or "10k,100k,1M"
    output = args.output or (None if args.quick else ROOT / "bench" / "RESULTS.md")
    ensure_tools(True)
    if args.discovery:
        print(run_discovery("100k", args.rounds, args.seconds, args.connections))
        return
    ensure_tools(args.quick)
    labels = [s.strip() for s in args.sizes.split(",")]
    unknown = [label for label in labels if label not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {unknown}: use {', '.join(SIZES)}")
    baseline = checkout(args.baseline) if args.baseline else None
    results = [
        run_size(label, args.rounds, args.seconds, args.connections, args.quick, baseline, args.postgres)
        for label in labels
    ]
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(results, command.strip(), args.rounds, args.seconds, args.connections)
    print(text)
    if output is not None:
        output.write_text(text + "\n")
        raw = output.with_suffix(".json")  # every measurement, for other reports
        raw.write_text(json.dumps([dataclasses.asdict(size) for size in results], indent=1) + "\n")
        print(f"written to {output} and {raw}")


if __name__ == "__main__":
    main()
