"""A soak: mixed reads and writes at a steady rate against one live `chronicle serve`, for minutes,
watching for errors, memory growth, latency creep and lost writes.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 50] [--write-share 0.1] [--database PATH | --url URL]

By default it makes a throwaway SQLite database in a temporary directory (`chronicle db seed`), creates
a write key, starts ONE `chronicle serve` on a free loopback port and drives it open-loop: request i is
due at start + i / rate, whether or not earlier ones have been answered, so a slow server meets a
queue instead of a politely waiting client. `--workers` threads (default 32, one keep-alive httpx
connection each) send what is due; latency is measured from the due time, so waiting for a free
connection counts. `--database PATH` (a SQLite file) or `--url URL` (a `CHRONICLE_DATABASE_URL`, e.g.
PostgreSQL; the server's memory then leaves PostgreSQL's out) serve an existing database instead: it
is migrated if needed, the soak's events (slugs `soak-...`) stay in it and its key is revoked at the
end. `--ref GIT_REF` serves that commit's code (git archive into the temporary directory) instead of
the working tree's, so that uncommitted edits in progress are not what gets measured.

The mix: event lists by year, by year range and by day of the year, full-text filters, record details
(events, people, places, works, sources), `/v1/search`, `/v1/timeline`, `/v1/years/Y`,
`/v1/on-this-day/MM-DD`, geographic filters (`near`, `bbox`, GeoJSON), next pages by cursor,
conditional GETs, `/v1/changes`, a few unknown slugs (404); and, for `--write-share` of the requests,
writes with the key: POST new events, PATCH and PUT them with `If-Match`, DELETE some of them. Every
request has the answers it may get (a read of one of its own events must carry the ETag of the last
acknowledged write, or be a 410 after a delete); anything else counts as unexpected.

A warm-up (`--warmup` seconds, default 60) runs the same load first; its rows are shown but not judged.
Every `--interval` seconds (default 30) a row: requests due, answers by status class, 5xx, no answer,
unexpected answers, p50/p99/max latency, the server's VmRSS and RssAnon (/proc/PID/status), its CPU
(also per request), the whole machine's CPU and its CPU / IO pressure stall (/proc/pressure: the
share of time some task waited for a CPU or for I/O; other work on the machine shows there), the
server's open file descriptors, and the size of the SQLite file with its WAL. At the end, every event
whose last write was answered 2xx is read back (lost writes), the server gets SIGTERM, and the verdict:

- no 5xx, no request without an answer, no unexpected answer, no lost write, a clean exit on SIGTERM;
- RSS growth < 10 %: median VmRSS over the first minute after the warm-up against the median over
  the last minute (windows of a third of the run when it is shorter than 3 minutes);
- p99 not climbing: the median of the interval p99s over the last third of the intervals is at most
  1.5x the median over the first third.

It exits 1 on FAIL. The report (markdown) goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import os
import platform
import queue
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url

# The load comes from one address (127.0.0.1) but stands for many clients: lift the per-address limit
# (CHRONICLE_MAX_CONCURRENT_PER_ADDRESS, 16), as bench/run.py does.
MANY_CLIENTS_ONE_ADDRESS = {"CHRONICLE_MAX_CONCURRENT_PER_ADDRESS": "4096"}


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RSS_GROWTH_LIMIT = 0.10
P99_CLIMB_LIMIT = 1.5
SEARCH_WORDS = ("exile", "revolution", "trotsky", "army", "mexico", "soak", "stalin", "france", "lenin", "party")
POINTS = ("48.86,2.35", "41.01,28.98", "19.43,-99.13", "55.75,37.62", "59.91,10.75")  # Paris ... Oslo
BOXES = ("-5,42,8,51", "26,36,45,42", "-118,14,-86,33", "5,45,40,70")  # France, Turkey, Mexico, Europe
READS: dict[str, int] = {  # weights
    "events by year": 18,
    "events in a range": 10,
    "events on a day": 5,
    "events text": 3,
    "event detail": 12,
    "own event": 6,
    "other detail": 8,
    "search": 10,
    "timeline": 5,
    "year page": 5,
    "on this day": 4,
    "geo": 6,
    "people and works": 3,
    "next page": 3,
    "if-none-match": 3,
    "changes": 2,
    "unknown slug": 1,
}
WRITES: dict[str, int] = {"create": 40, "patch": 30, "put": 15, "delete": 15}


# --- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Code:
    """The Chronicle that is measured: the working tree's (the virtualenv's `chronicle`), or a commit's."""

    command: list[str]
    cwd: Path | None
    label: str


def working_tree() -> Code:
    commit = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--", "app", "migrations", "data").splitlines()
    edits = f" + uncommitted changes to {len(changed)} file(s) of app/, migrations/, data/" if changed else ""
    return Code([str(BIN / "chronicle")], None, f"the working tree (commit {commit}{edits})")


def commit_code(ref: str, into: Path) -> Code:
    """`ref`'s files (git archive), run on this virtualenv: edits in the working tree do not count."""
    commit = git("rev-parse", "--short", ref)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # app.cli has no __main__; with `-c` the current directory comes first on sys.path, before the editable install
    return Code([sys.executable, "-c", "from app.cli import main; main()"], into, f"commit {commit} ({ref})")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def chronicle(code: Code, *args: str, url: str) -> str:
    env = {**os.environ, **MANY_CLIENTS_ONE_ADDRESS, "CHRONICLE_DATABASE_URL": url}
    done = subprocess.run([*code.command, *args], env=env, cwd=code.cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"chronicle {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(code: Code, url: str, log: Path, attempts: int = 3) -> Server:
    """`chronicle serve` on a free port; another port if that one was taken in the meantime."""
    env = {**os.environ, **MANY_CLIENTS_ONE_ADDRESS, "CHRONICLE_DATABASE_URL": url}
    for _attempt in range(attempts):
        port = free_port()
        with log.open("ab") as out:
            command = [*code.command, "serve", "--host", "127.0.0.1", "--port", str(port)]
            process = subprocess.Popen(command, env=env, cwd=code.cwd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return Server(process, port, log)
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait()
        if "address already in use" not in log.read_text(errors="replace").lower():
            break
    raise SystemExit(f"chronicle serve did not become ready:\n{log.read_text(errors='replace')[-3000:]}")


def stop_server(server: Server) -> tuple[int | None, float]:
    """SIGTERM, then the exit code and how long it took (None: it had to be killed after 40 s)."""
    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        code: int | None = server.process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        code = None
    return code, time.monotonic() - began


# --- what the server process and the machine use ------------------------------------------------------


@dataclass
class Sample:
    at: float  # seconds since the load started
    vm_rss_kib: int
    rss_anon_kib: int
    cpu_seconds: float  # the server's user + system time so far
    host_busy: float  # the machine's busy CPU seconds so far (all CPUs)
    cpu_stall: float  # seconds some runnable task waited for a CPU (pressure stall information), so far
    io_stall: float  # seconds some task waited for I/O, so far
    fds: int
    db_kib: int  # the SQLite file (0 on PostgreSQL)
    wal_kib: int  # its write-ahead log


def host_busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(v) for v in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / CLOCK_TICKS


def stalled_seconds(resource: str) -> float:
    """The `some` total of /proc/pressure/RESOURCE (0 where the kernel has no PSI)."""
    try:
        line = Path(f"/proc/pressure/{resource}").read_text().split("\n", 1)[0]
    except OSError:
        return 0.0
    return int(line.rsplit("total=", 1)[1]) / 1e6


def file_kib(path: Path | None) -> int:
    try:
        return 0 if path is None else path.stat().st_size // 1024
    except FileNotFoundError:
        return 0


def sample(pid: int, at: float, database: Path | None) -> Sample:
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        status[name] = value.strip()
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)
    fds = len(os.listdir(f"/proc/{pid}/fd"))

    def kib(name: str) -> int:
        return int(status.get(name, "0 kB").split()[0])

    return Sample(
        at, kib("VmRSS"), kib("RssAnon"), cpu, host_busy_seconds(), stalled_seconds("cpu"), stalled_seconds("io"), fds,
        file_kib(database), file_kib(database.with_name(database.name + "-wal")) if database else 0,
    )  # fmt: skip


# --- the load --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    due: float  # seconds since the load started
    op: str
    write: bool
    status: int  # 0: no answer
    ms: float  # from the due time to the answer
    lag_ms: float  # how long it waited for a free client connection (part of `ms`)
    ok: bool = True  # the answer was one this request may get


@dataclass
class Own:
    """One of the soak's own events, as its last acknowledged write left it."""

    slug: str
    etag: str
    title: str
    summary: str
    date: str
    deleted: bool = False
    uncertain: bool = False  # a write got no answer or an unexpected one: its state is unknown


@dataclass
class Catalog:
    """What the database holds, found through the API before the load."""

    events: list[str]
    people: list[str]
    places: list[str]
    works: list[str]
    sources: list[str]
    first_year: int
    last_year: int

    def others(self) -> list[tuple[str, list[str]]]:
        found = [("people", self.people), ("places", self.places), ("works", self.works), ("sources", self.sources)]
        return [(collection, slugs) for collection, slugs in found if slugs]


def discover(base: str) -> Catalog:
    found: dict[str, list[str]] = {}
    years: list[int] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for collection in ("events", "people", "places", "works", "sources"):
            slugs: list[str] = []
            fields = "slug,date" if collection == "events" else "slug"
            params: dict[str, str | int] = {"limit": 100, "fields": fields}
            for _page in range(5):
                answer = http.get(f"/v1/{collection}", params=params)
                answer.raise_for_status()
                body = answer.json()
                for item in body["items"]:
                    slugs.append(item["slug"])
                    if collection == "events" and item.get("date"):
                        years.append(int(item["date"]["earliest"].split("-")[0] or 0))
                if not body["next_cursor"]:
                    break
                params["cursor"] = body["next_cursor"]
            found[collection] = slugs
    if not found["events"] or not found["people"] or not found["places"] or not found["sources"]:
        raise SystemExit(f"the database needs events, people, places and sources to soak; found {found}")
    years.sort()
    first = max(1, years[len(years) // 20]) if years else 1900
    last = max(first + 1, years[len(years) * 19 // 20]) if years else 1945
    return Catalog(
        found["events"], found["people"], found["places"], found["works"], found["sources"], first, min(last, 9998)
    )


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def take(rng: random.Random, pool: list[str]) -> str:
    """Remove and return a random element (order does not matter)."""
    i = rng.randrange(len(pool))
    pool[i], pool[-1] = pool[-1], pool[i]
    return pool.pop()


@dataclass
class Plan:
    """One request, chosen under the lock; `after` applies its answer (under the lock again)."""

    op: str
    method: str
    url: str
    expect: tuple[int, ...]
    write: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    after: Callable[[httpx.Response | None, Outcome], None] | None = None


class Load:
    """The requests' mix and what they left behind. Worker threads share it: choosing a request and
    applying its answer happen under `lock`; the request itself does not."""

    def __init__(self, key: str, catalog: Catalog, rng: random.Random, write_share: float):
        self.auth = {"Authorization": f"Bearer {key}"}
        self.catalog = catalog
        self.rng = rng
        self.write_share = write_share
        self.run = f"soak-{os.getpid()}-{int(time.time())}"
        self.lock = threading.Lock()
        self.started = 0.0
        self.outcomes: list[Outcome] = []
        self.problems: list[str] = []
        self.own: dict[str, Own] = {}
        self.idle: list[str] = []  # own live events with no request in flight
        self.gone: list[str] = []  # own deleted events with no request in flight
        self.created = 0
        self.next_pages: deque[str] = deque(maxlen=50)
        self.etags: deque[tuple[str, str]] = deque(maxlen=50)
        self.changes_since = 0
        self.max_lag_ms = 0.0  # the longest a request waited for a free client connection
        self.max_late_ms = 0.0  # the furthest the schedule itself fell behind (the client's own lateness)
        self.late = 0  # requests put in the queue more than 10 ms after their due time

    def one(self, http: httpx.Client, due: float) -> None:
        """The request due at `due` seconds, timed from then (waiting for a free worker counts)."""
        sent = time.monotonic()
        with self.lock:
            plan = self.plan(due)
        try:
            answer: httpx.Response | None = http.request(plan.method, plan.url, headers=plan.headers, content=plan.body)
        except httpx.HTTPError as exc:
            answer = None
            error = f"{type(exc).__name__}: {exc}"
        done = time.monotonic()
        status = answer.status_code if answer is not None else 0
        outcome = Outcome(due, plan.op, plan.write, status, (done - self.started - due) * 1000,
                          (sent - self.started - due) * 1000, ok=status in plan.expect)  # fmt: skip
        with self.lock:
            self.max_lag_ms = max(self.max_lag_ms, outcome.lag_ms)
            if answer is None:
                self.problem(f"{plan.method} {plan.url}: no answer ({error})")
            elif not outcome.ok:
                self.problem(f"{plan.method} {plan.url}: {status} (expected {plan.expect}): {answer.text[:300]}")
            if plan.after is not None:
                plan.after(answer, outcome)
            self.outcomes.append(outcome)

    def problem(self, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(f"{time.monotonic() - self.started:7.1f} s  {text}")

    def year(self) -> int:
        return self.rng.randint(self.catalog.first_year, self.catalog.last_year)

    def plan(self, due: float) -> Plan:
        if self.rng.random() < self.write_share:
            op = pick(self.rng, WRITES)
            if op == "create" or not self.idle:
                return self.create()
            slug = take(self.rng, self.idle)
            return {"patch": self.patch, "put": self.put, "delete": self.delete}[op](slug, due)
        op = pick(self.rng, READS)
        if op == "own event" and (self.idle or self.gone):
            return self.read_own()
        if op == "next page" and self.next_pages:
            return self.read("next page", self.next_pages.popleft())
        if op == "if-none-match" and self.etags:
            url, etag = self.rng.choice(self.etags)
            return self.read(op, url, expect=(200, 304), headers={"If-None-Match": etag})
        if op in ("own event", "next page", "if-none-match"):
            op = "events by year"  # nothing to ask for yet
        return self.read(op, self.read_url(op))

    # --- reads

    def read_url(self, op: str) -> str:
        rng, cat = self.rng, self.catalog
        start = self.year()
        urls: dict[str, Callable[[], str]] = {
            "events by year": lambda: f"/v1/events?year={start}",
            "events in a range": lambda: (
                f"/v1/events?from={start}&to={start + rng.randint(1, 10)}&limit={rng.choice((10, 20, 50))}"
            ),
            "events on a day": lambda: f"/v1/events?month={rng.randint(1, 12)}&day={rng.randint(1, 28)}&sort=-date",
            "events text": lambda: f"/v1/events?q={rng.choice(SEARCH_WORDS)}",
            "event detail": lambda: f"/v1/events/{rng.choice(cat.events)}",
            "other detail": self.other_detail,
            "search": lambda: f"/v1/search?q={rng.choice(SEARCH_WORDS)}",
            "timeline": lambda: rng.choice(
                ("/v1/timeline?bucket=decade", f"/v1/timeline?bucket=year&from={start}&to={start + 20}")
            ),
            "year page": lambda: f"/v1/years/{start}",
            "on this day": lambda: f"/v1/on-this-day/{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "geo": lambda: rng.choice((
                f"/v1/places?near={rng.choice(POINTS)}&radius_km={rng.choice((50, 200, 1000))}",
                f"/v1/events?bbox={rng.choice(BOXES)}",
                f"/v1/events?year={start}&format=geojson",
            )),
            "people and works": lambda: rng.choice((
                f"/v1/people?alive_in={start}",
                "/v1/people?q=Bronstein",
                f"/v1/works?author={rng.choice(cat.people)}",
                f"/v1/events?person={rng.choice(cat.people)}&include=people,places",
            )),
            "changes": lambda: f"/v1/changes?since={self.changes_since}&limit=100",
            "unknown slug": lambda: f"/v1/events/{self.run}-never-{rng.randrange(10**6)}",
        }  # fmt: skip
        return urls[op]()

    def other_detail(self) -> str:
        collection, slugs = self.rng.choice(self.catalog.others())
        return f"/v1/{collection}/{self.rng.choice(slugs)}"

    def read(
        self, op: str, url: str, *, expect: tuple[int, ...] = (200,), headers: dict[str, str] | None = None
    ) -> Plan:
        if op == "unknown slug":
            expect = (404,)

        def after(answer: httpx.Response | None, outcome: Outcome) -> None:
            if answer is None or answer.status_code != 200:
                return
            if etag := answer.headers.get("etag"):
                self.etags.append((url, etag))
            link = answer.headers.get("link", "")
            if link.startswith("<") and 'rel="next"' in link:
                self.next_pages.append(link[1 : link.index(">")])
            if op == "changes":
                items = answer.json().get("items") or []
                if items:
                    self.changes_since = max(self.changes_since, int(items[-1]["seq"]))

        return Plan(op, "GET", url, expect, headers=headers or {}, after=after)

    def read_own(self) -> Plan:
        """One of its own events: the ETag of the last acknowledged write, or a 410 once deleted."""
        deleted = not self.idle or (bool(self.gone) and self.rng.random() < 0.2)
        pool = self.gone if deleted else self.idle
        slug = take(self.rng, pool)
        own = self.own[slug]

        def after(answer: httpx.Response | None, outcome: Outcome) -> None:
            if answer is not None and answer.status_code == 200 and answer.headers.get("etag") != own.etag:
                outcome.ok = False
                self.problem(f"GET {slug}: ETag {answer.headers.get('etag')}, the last acknowledged write {own.etag}")
            pool.append(slug)

        return Plan("own event", "GET", f"/v1/events/{slug}", (410,) if deleted else (200,), after=after)

    # --- writes

    def body(self, slug: str, title: str, summary: str, date: str) -> bytes:
        rng, cat = self.rng, self.catalog
        return json.dumps({
            "slug": slug, "title": title, "kind": rng.choice(("meeting", "speech", "letter", "journey")),
            "date": {"edtf": date, "calendar": rng.choice(("gregorian", "gregorian", "julian"))},
            "summary": summary,
            "people": [{"person": rng.choice(cat.people), "role": "participant"}],
            "places": [{"place": rng.choice(cat.places)}],
            "citations": [{"source": rng.choice(cat.sources)}],
        }).encode()  # fmt: skip

    def date(self) -> str:
        year, month, day = self.year(), self.rng.randint(1, 12), self.rng.randint(1, 28)
        shape = self.rng.random()
        if shape < 0.6:
            return f"{year:04d}-{month:02d}-{day:02d}"
        if shape < 0.8:
            return f"{year:04d}-{month:02d}"
        return f"{year:04d}-{month:02d}/{year + 1:04d}"

    def written(self, own: Own, change: Callable[[], None]) -> Callable[[httpx.Response | None, Outcome], None]:
        """After a write: if it was acknowledged with an ETag, `change` the expected state and put the
        event back in its pool; otherwise its state is unknown and it is left out from then on."""

        def after(answer: httpx.Response | None, outcome: Outcome) -> None:
            etag = answer.headers.get("etag") if answer is not None else None
            if answer is None or not outcome.ok:
                own.uncertain = True
            elif answer.status_code != 204 and not etag:
                own.uncertain = True
                outcome.ok = False
                self.problem(f"{own.slug}: a {answer.status_code} without an ETag")
            else:
                own.etag = etag or own.etag
                change()
                (self.gone if own.deleted else self.idle).append(own.slug)

        return after

    def create(self) -> Plan:
        self.created += 1
        slug = f"{self.run}-{self.created}"
        own = Own(slug, "", f"Soak event {self.created}", f"Created by the soak, write 1 of {slug}.", self.date())
        self.own[slug] = own
        headers = {**self.auth, "Content-Type": "application/json"}
        body = self.body(slug, own.title, own.summary, own.date)
        return Plan("create", "POST", "/v1/events", (201,), write=True, headers=headers, body=body,
                    after=self.written(own, lambda: None))  # fmt: skip

    def patch(self, slug: str, due: float) -> Plan:
        own = self.own[slug]
        change: dict[str, str] = {}
        if self.rng.random() < 0.5:
            change["title"] = f"{own.title.split(' (')[0]} (patched at {due:.2f} s)"
        else:
            change["summary"] = f"Patched by the soak at {due:.2f} s: {slug}."

        def applied() -> None:
            own.title = change.get("title", own.title)
            own.summary = change.get("summary", own.summary)

        headers = {**self.auth, "If-Match": own.etag, "Content-Type": "application/merge-patch+json"}
        return Plan("patch", "PATCH", f"/v1/events/{slug}", (200,), write=True, headers=headers,
                    body=json.dumps(change).encode(), after=self.written(own, applied))  # fmt: skip

    def put(self, slug: str, due: float) -> Plan:
        own = self.own[slug]
        title, summary, date = f"Soak event {slug} (replaced at {due:.2f} s)", f"Replaced at {due:.2f} s.", self.date()

        def applied() -> None:
            own.title, own.summary, own.date = title, summary, date

        headers = {**self.auth, "If-Match": own.etag, "Content-Type": "application/json"}
        return Plan("put", "PUT", f"/v1/events/{slug}", (200,), write=True, headers=headers,
                    body=self.body(slug, title, summary, date), after=self.written(own, applied))  # fmt: skip

    def delete(self, slug: str, due: float) -> Plan:
        own = self.own[slug]

        def applied() -> None:
            own.deleted = True

        return Plan("delete", "DELETE", f"/v1/events/{slug}", (204,), write=True,
                    headers={**self.auth, "If-Match": own.etag}, after=self.written(own, applied))  # fmt: skip

    # --- at the end: every acknowledged write is there

    def verify(self, http: httpx.Client) -> tuple[int, list[str]]:
        """Read back every own event whose last write was acknowledged: (how many, what is wrong)."""
        wrong: list[str] = []
        checked = [own for own in self.own.values() if not own.uncertain]
        for own in checked:
            try:
                answer = http.get(f"/v1/events/{own.slug}")
            except httpx.HTTPError as exc:
                wrong.append(f"{own.slug}: no answer ({exc})")
                continue
            if own.deleted:
                if answer.status_code != 410:
                    wrong.append(f"{own.slug}: deleted (204), but GET answers {answer.status_code}")
                continue
            if answer.status_code != 200:
                wrong.append(f"{own.slug}: acknowledged at {own.etag}, but GET answers {answer.status_code}")
                continue
            body = answer.json()
            seen = (answer.headers.get("etag"), body.get("title"), body.get("summary"), body["date"]["edtf"])
            if seen != (own.etag, own.title, own.summary, own.date):
                wrong.append(f"{own.slug}: expected {(own.etag, own.title, own.summary, own.date)}, read {seen}")
        return len(checked), wrong


def drive(
    load: Load,
    base: str,
    pid: int,
    database: Path | None,
    rate: float,
    seconds: float,
    workers: int,
    progress: Callable[[Load, Sample], None],
) -> list[Sample]:
    """Requests due at a fixed rate for `seconds` (open loop: the schedule never waits for answers),
    served by `workers` threads with a connection each; the server is sampled once a second."""
    due_times: queue.SimpleQueue[float | None] = queue.SimpleQueue()
    samples: list[Sample] = []
    finished = threading.Event()

    # The clients exist before the clock starts: each builds an SSL context, tens of ms of CPU.
    clients = [httpx.Client(base_url=base, timeout=30) for _ in range(workers)]

    def worker(http: httpx.Client) -> None:
        with http:
            while (due := due_times.get()) is not None:
                load.one(http, due)

    def sampler() -> None:
        while not finished.wait(1.0):
            samples.append(sample(pid, time.monotonic() - load.started, database))
            progress(load, samples[-1])
        samples.append(sample(pid, time.monotonic() - load.started, database))

    threads = [threading.Thread(target=worker, args=(http,), daemon=True) for http in clients]
    threads.append(threading.Thread(target=sampler, daemon=True))
    load.started = time.monotonic()
    samples.append(sample(pid, 0.0, database))
    for thread in threads:
        thread.start()
    for i in range(int(seconds * rate)):
        due = i / rate
        delay = load.started + due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            load.max_late_ms = max(load.max_late_ms, -delay * 1000)
            load.late += delay < -0.010
        due_times.put(due)
    for _ in range(workers):
        due_times.put(None)
    time.sleep(max(0.0, load.started + seconds - time.monotonic()))
    for thread in threads[:-1]:
        thread.join(timeout=60)
    finished.set()
    threads[-1].join()
    return samples


# --- the report ------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Row:
    label: str
    start: float
    end: float
    warmup: bool
    outcomes: list[Outcome] = field(default_factory=list)
    p99: float = float("nan")
    cpu_us: float = float("nan")  # the server's CPU time per request answered


def unexpected(outcome: Outcome) -> bool:
    """An answer (not a 5xx) that this request should not get: a 4xx to a valid write, a stale ETag..."""
    return not outcome.ok and 0 < outcome.status < 500


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def between(samples: list[Sample], start: float, end: float) -> list[Sample]:
    return [s for s in samples if start <= s.at <= end]


def report(load: Load, samples: list[Sample], args: argparse.Namespace, extra: dict[str, Any]) -> tuple[str, bool]:
    warmup, total = args.warmup, args.warmup + args.minutes * 60
    rows: list[Row] = []
    edges = [0.0]
    while edges[-1] < warmup - 1e-9:
        edges.append(min(edges[-1] + args.interval, warmup))
    while edges[-1] < total - 1e-9:
        edges.append(min(edges[-1] + args.interval, total))
    for start, end in itertools.pairwise(edges):
        label = f"{clock(start)}-{clock(end)}" + (" warm-up" if start < warmup else "")
        rows.append(Row(label, start, end, start < warmup))
    for outcome in load.outcomes:
        for row in rows:
            if row.start <= outcome.due < row.end:
                row.outcomes.append(outcome)
                break

    lines = [
        "| interval | sent | writes | 2xx | 3xx | 4xx | 5xx | no answer | unexpected | p50 ms | p99 ms | max ms "
        "| VmRSS MB | RssAnon MB | server CPU % | server CPU µs/req | machine CPU % | CPU / IO stall % | fds "
        "| DB + WAL MB |",
        "|---|" + "---:|" * 19,
    ]
    for row in rows:
        classes = Counter(o.status // 100 for o in row.outcomes)
        answered = [o.ms for o in row.outcomes if o.status]
        row.p99 = percentile(answered, 0.99)
        inside = between(samples, row.start, row.end)
        first = max((s for s in samples if s.at <= row.start), key=lambda s: s.at, default=samples[0])
        last = inside[-1] if inside else first
        span = max(last.at - first.at, 1e-9)
        row.cpu_us = 1e6 * (last.cpu_seconds - first.cpu_seconds) / max(len(answered), 1)
        lines.append(
            f"| {row.label} | {len(row.outcomes):,} | {sum(o.write for o in row.outcomes):,} | {classes[2]:,} "
            f"| {classes[3]:,} | {classes[4]:,} | {classes[5]:,} | {classes[0]:,} "
            f"| {sum(unexpected(o) for o in row.outcomes):,} | {percentile(answered, 0.5):.1f} | {row.p99:.1f} "
            f"| {max(answered, default=float('nan')):.1f} | {mib(last.vm_rss_kib)} | {mib(last.rss_anon_kib)} "
            f"| {100 * (last.cpu_seconds - first.cpu_seconds) / span:.0f} | {row.cpu_us:,.0f} "
            f"| {100 * (last.host_busy - first.host_busy) / span:.0f} "
            f"| {100 * (last.cpu_stall - first.cpu_stall) / span:.0f} "
            f"/ {100 * (last.io_stall - first.io_stall) / span:.0f} "
            f"| {last.fds} | {mib(last.db_kib + last.wal_kib) if last.db_kib else '-'} |"
        )

    by_op: dict[str, list[Outcome]] = {}
    for outcome in load.outcomes:
        by_op.setdefault(outcome.op, []).append(outcome)
    op_lines = ["| request | count | p50 ms | p99 ms | max ms | answers |", "|---|---:|---:|---:|---:|---|"]
    for op, found in sorted(by_op.items(), key=lambda item: -len(item[1])):
        answered = [o.ms for o in found if o.status]
        statuses = ", ".join(f"{s or 'none'}: {n:,}" for s, n in sorted(Counter(o.status for o in found).items()))
        op_lines.append(
            f"| {op} | {len(found):,} | {percentile(answered, 0.5):.1f} | {percentile(answered, 0.99):.1f} "
            f"| {max(answered, default=float('nan')):.1f} | {statuses} |"
        )

    # the verdict
    judged = [row for row in rows if not row.warmup and row.outcomes]
    measured = total - warmup
    window = min(60.0, measured / 3)
    rss_first = statistics.median(s.vm_rss_kib for s in between(samples, warmup, warmup + window))
    rss_last = statistics.median(s.vm_rss_kib for s in between(samples, total - window, total))
    anon_first = statistics.median(s.rss_anon_kib for s in between(samples, warmup, warmup + window))
    anon_last = statistics.median(s.rss_anon_kib for s in between(samples, total - window, total))
    growth = rss_last / rss_first - 1
    third = max(1, len(judged) // 3)
    p99_first = statistics.median(row.p99 for row in judged[:third])
    p99_last = statistics.median(row.p99 for row in judged[-third:])
    cpu_first = statistics.median(row.cpu_us for row in judged[:third])
    cpu_last = statistics.median(row.cpu_us for row in judged[-third:])
    every = load.outcomes
    fives = sum(o.status >= 500 for o in every)
    unanswered = sum(o.status == 0 for o in every)
    odd = sum(unexpected(o) for o in every)
    verified, lost = extra["verified"], extra["lost"]
    checks = [
        (f"5xx answers: {fives}", fives == 0),
        (f"requests with no answer: {unanswered}", unanswered == 0),
        (f"other unexpected answers: {odd}", odd == 0),
        (f"server stopped cleanly: {extra['stopped']}", extra["stopped_ok"]),
        (f"lost or stale writes: {len(lost)} of {verified:,} own events read back", not lost),
        (
            f"RSS growth {100 * growth:+.1f} % (median VmRSS {mib(rss_first)} MB over the first {window:.0f} s after "
            f"the warm-up -> {mib(rss_last)} MB over the last {window:.0f} s; limit < {100 * RSS_GROWTH_LIMIT:.0f} %)",
            growth < RSS_GROWTH_LIMIT,
        ),
        (
            f"p99 not climbing: median interval p99 over the last {third} interval(s) {p99_last:.1f} ms "
            f"<= {P99_CLIMB_LIMIT:g} x {p99_first:.1f} ms (first {third} interval(s)) = "
            f"{P99_CLIMB_LIMIT * p99_first:.1f} ms",
            p99_last <= P99_CLIMB_LIMIT * p99_first,
        ),
    ]
    passed = all(ok for _text, ok in checks)
    writes = [o for o in every if o.write]
    summary = [
        f"- Requests: {len(every):,} ({len(every) - len([o for o in every if o.due < warmup]):,} after the warm-up), "
        f"{len(writes):,} writes ({sum(200 <= o.status < 300 for o in writes):,} acknowledged); answers by status: "
        + ", ".join(f"{s or 'none'}: {n:,}" for s, n in sorted(Counter(o.status for o in every).items())),
        f"- VmRSS {mib(rss_first)} -> {mib(rss_last)} MB ({100 * growth:+.1f} %); RssAnon {mib(anon_first)} -> "
        f"{mib(anon_last)} MB ({100 * (anon_last / anon_first - 1):+.1f} %); peak VmRSS "
        f"{mib(max(s.vm_rss_kib for s in samples))} MB",
        f"- p99 first third {p99_first:.1f} ms, last third {p99_last:.1f} ms "
        f"({p99_last / p99_first:.2f}x); first interval {judged[0].p99:.1f} ms, last {judged[-1].p99:.1f} ms. "
        f"Server CPU per request (robust to other load on the machine): {cpu_first:,.0f} -> {cpu_last:,.0f} µs "
        f"({cpu_last / cpu_first:.2f}x, medians of the same thirds)",
        f"- Client: {load.late:,} requests were sent more than 10 ms after their due time, the latest "
        f"{load.max_late_ms:.0f} ms after "
        + ("(it kept up)" if load.late <= len(every) / 100 else "(**the client fell behind: figures are suspect**)")
        + f"; a request waited at most {load.max_lag_ms:.0f} ms for one of the {args.workers} connections "
        "(counted in its latency)",
        f"- Own events: {load.created:,} created, {sum(o.deleted for o in load.own.values()):,} deleted, "
        f"{verified:,} read back after the load",
        f"- Server log: {extra['log']}",
    ]
    if samples[-1].db_kib:
        summary.append(
            f"- SQLite: the database file grew from {mib(samples[0].db_kib)} to {mib(samples[-1].db_kib)} MB; "
            f"its WAL was {mib(samples[-1].wal_kib)} MB at the end (largest {mib(max(s.wal_kib for s in samples))} MB)"
        )
    summary += ["", "| check | |", "|---|---|"]
    summary += [f"| {text} | {'pass' if ok else '**FAIL**'} |" for text, ok in checks]
    summary += ["", f"**{'PASS' if passed else 'FAIL'}**"]
    text = "\n".join(
        [*extra["header"], "", *lines, "", "Per request type (all intervals):", "", *op_lines, "", "Summary:", "",
         *summary]
    )  # fmt: skip
    if load.problems or lost:
        text += "\n\nProblems (first ones):\n\n```\n" + "\n".join([*load.problems[:30], *lost[:30]]) + "\n```"
    return text, passed


# --- main ------------------------------------------------------------------------------------------


def shown(url: str) -> str:
    """The database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def clean_exit(code: int | None, log: Path) -> bool:
    """uvicorn shuts down gracefully on SIGTERM, then raises the signal again: exit code 0 or -15."""
    return code in (0, -signal.SIGTERM) and "Finished server process" in log.read_text(errors="replace")


def log_findings(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    errors = [line for line in lines if '"status": 5' in line or " ERROR" in line or line.startswith("ERROR")]
    found = f"{len(lines):,} lines, {tracebacks} tracebacks, {len(errors)} error lines"
    if errors:
        found += "; first: `" + errors[0][:200] + "`"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", type=Path, help="an existing SQLite file (default: a throwaway one)")
    where.add_argument("--url", help="an existing CHRONICLE_DATABASE_URL (sqlite:///... or postgresql://...)")
    parser.add_argument("--minutes", type=float, default=10.0, help="measured duration, after the warm-up")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (open loop)")
    parser.add_argument("--write-share", type=float, default=0.1, help="share of requests that are writes")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of load before the measured part")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per row of the table")
    parser.add_argument("--seed", type=int, default=1, help="of the random mix")
    parser.add_argument("--workers", type=int, default=32, help="client threads, one connection each")
    parser.add_argument("--raw", type=Path, help="also write every request's outcome and every sample (JSON) here")
    parser.add_argument(
        "--ref", metavar="GIT_REF", help="serve this commit's code (git archive) instead of the working tree's"
    )
    args = parser.parse_args()
    if args.rate <= 0 or args.minutes <= 0 or args.interval <= 0 or not 0 <= args.write_share <= 1:
        parser.error("--rate, --minutes and --interval must be positive, --write-share in [0, 1]")

    with tempfile.TemporaryDirectory(prefix="chronicle-soak-") as tmp:
        work = Path(tmp)
        code = commit_code(args.ref, work / "code") if args.ref else working_tree()
        throwaway = args.database is None and args.url is None
        if args.url:
            url, database = args.url, None
        else:
            database = (args.database or work / "soak.sqlite3").resolve()
            url = f"sqlite:///{database}"
        print(f"database: {shown(url)}", file=sys.stderr)
        if throwaway:
            chronicle(code, "db", "seed", url=url)
        else:
            chronicle(code, "db", "upgrade", url=url)
        key_name = f"soak-{os.getpid()}-{int(time.time())}"
        key = chronicle(code, "keys", "create", "--name", key_name, "--scope", "write", url=url).strip()
        server = start_server(code, url, work / "server.log")
        try:
            catalog = discover(server.base)
            header = [
                f"- Command: `{shlex.join(['python', 'bench/soak.py', *sys.argv[1:]])}`",
                f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, "
                f"Python {platform.python_version()}; load average at start: {os.getloadavg()[0]:.2f}",
                f"- Code: {code.label}",
                f"- Database: {'a throwaway SQLite file, seeded' if throwaway else shown(url)}; {len(catalog.events)}+ "
                f"events, years {catalog.first_year}-{catalog.last_year} for the filters",
                f"- Load: {args.rate:g} req/s open loop, {100 * args.write_share:g} % writes, "
                f"{args.warmup:g} s warm-up then {args.minutes:g} min, rows of {args.interval:g} s; "
                f"one `chronicle serve` (pid {server.process.pid}, port {server.port}); "
                "latency from each request's due time",
            ]
            print("\n".join(header), file=sys.stderr)
            seconds = args.warmup + args.minutes * 60
            last_print = [0.0]

            def progress(load: Load, now: Sample) -> None:
                if now.at - last_print[0] >= args.interval:
                    last_print[0] = now.at
                    recent = [o.ms for o in load.outcomes if o.due >= now.at - args.interval and o.status]
                    fives = sum(o.status >= 500 for o in load.outcomes)
                    print(f"{now.at:6.0f} s of {seconds:.0f}: {len(load.outcomes):,} answered, {fives} 5xx, "
                          f"p99 of the last {args.interval:g} s {percentile(recent, 0.99):.1f} ms, "
                          f"VmRSS {mib(now.vm_rss_kib)} MB", file=sys.stderr, flush=True)  # fmt: skip

            load = Load(key, catalog, random.Random(args.seed), args.write_share)
            samples = drive(load, server.base, server.process.pid, database, args.rate, seconds, args.workers, progress)
            with httpx.Client(base_url=server.base, timeout=30) as http:
                verified, lost = load.verify(http)
            header[1] += f", at the end: {os.getloadavg()[0]:.2f}"
        finally:
            exit_code, took = stop_server(server)
            if not throwaway:
                with suppress(SystemExit):
                    chronicle(code, "keys", "revoke", key_name, url=url)
        stopped = f"exit code {exit_code} {took:.1f} s after SIGTERM" if exit_code is not None else "killed"
        extra: dict[str, Any] = {
            "verified": verified, "lost": lost, "stopped": stopped, "stopped_ok": clean_exit(exit_code, server.log),
            "log": log_findings(server.log), "header": header,
        }  # fmt: skip
        if args.raw:
            raw = {
                "args": {k: str(v) for k, v in vars(args).items()}, "header": header,
                "outcomes": [dataclasses.asdict(o) for o in load.outcomes],
                "samples": [dataclasses.asdict(s) for s in samples],
            }  # fmt: skip
            args.raw.write_text(json.dumps(raw))
        text, passed = report(load, samples, args, extra)
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
