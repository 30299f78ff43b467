"""Isolation: do cheap requests stay fast, and answered, beside a few clients sending the worst queries?

    .venv/bin/python bench/isolation.py                                  # 20k events, 20 s per phase
    .venv/bin/python bench/isolation.py --database bench/data/events-1M.sqlite3 --seconds 30
    .venv/bin/python bench/isolation.py --attackers csv,slow-reader       # only some of the four attackers
    .venv/bin/python bench/isolation.py --slow-clients                    # 200 slowloris + 70 slow readers instead
    .venv/bin/python bench/isolation.py --ref HEAD                        # a commit's code, not the working tree's

It starts ONE `chronicle serve` worker on a free loopback port, pinned to CPU 0 (`taskset`; the
CHRONICLE_* settings of the environment pass through, CHRONICLE_DATABASE_URL is --database), pins
itself to CPU 1, and sends a steady, open-loop stream of cheap requests from 127.0.0.1: request i is
sent at start + i / --rate (default 50/s) whether or not earlier ones were answered, rotating
`/v1/events?year=1929`, one event (the median event by id) and `/v1/on-this-day/11-07`. Each request
has --timeout seconds (30); latency counts from its due time, so a client that fell behind shows.
Requests go over keep-alive connections, as many as there are requests in flight (HTTP/1.1 written by
hand, as the attackers' is: an HTTP client's pool falls behind once hundreds of requests wait).
`--ref GIT_REF` serves that commit's code (git archive into a temporary directory) instead of the
working tree's, so that edits in progress are not what is measured.

- Phase "alone": the cheap stream for --seconds (20), after a --warmup (3 s) that is not counted.
- Phase "beside the attack": the same stream, --ramp seconds (2) after four connections from
  --attack-address (127.0.0.2: all of 127/8 is loopback on Linux, so the server sees another client)
  started sending the worst queries, each in a closed loop, until the last cheap request is done:
  - search: `/v1/search?limit=100&q=ma* OR an* OR co* OR pa*`: the broadest search the API accepts
    (4 prefixes of 2 letters), four of 16 common prefixes chosen anew each time and the limit moving
    (100, 99, ...: no cached answer helps). (The issue's `a* OR b* OR ... OR z*` and `e*` are now a
    400 in well under a millisecond: as attacks they are a flood of cheap requests, for rate limits.)
  - csv: `/v1/search?q=ma* OR an* OR co* OR pa*&format=csv`, read to the end, again and again;
  - timeline: `/v1/timeline?bucket=year&from=-3000&to=Y`, a different Y each time (~5,000 buckets);
  - slow-reader: `/v1/events?format=ndjson&include=people,places,works` sent on a socket with a tiny
    receive buffer (SO_RCVBUF before connect) and never read; closed after --slow-read-seconds (30),
    then again.
  `--attackers` picks some of them (`none`: the second phase runs beside nothing, a noise check).
  The attack runs in a second process (also on CPU 1), so that its work does not delay the stream.
- `--slow-clients` replaces the attack by 200 slowloris connections (`GET /v1/events HTTP/1.1`, Host,
  then one more header line every 5 s, the headers never finished) and 70 slow readers (as above),
  all from --attack-address, opened before the stream and held to its end. It reports how many of
  them the server closed, and after how long: seen in /proc/net/tcp (the server's side of the
  connection leaves ESTABLISHED) or by the client (end of file, reset, TCP state CLOSE_WAIT/CLOSE).

Printed (markdown): per phase, the cheap requests sent, answered 200/304, refused (any other status,
a timeout, a connection error), p50/p95/p99/max latency over every request (a refused one counts
when it was refused, a timeout at --timeout), the server's CPU time (/proc/PID/stat, user + system),
its peak VmRSS and the 5xx it logged (its stderr has one JSON line per request; cheap stream and
attack told apart by the client address; beside the attack, from the attack's start to its end);
then p99 beside / p99 alone and the issue's target: at most 5x, and 0 cheap requests refused beside
the attack; then what each attacker (or slow client) got. `--json FILE` also writes every
measurement. Exits 1 when the target is not met.

Figures share the limits of bench/README.md ("Known limits of the method"): other work on the machine
moves p99; the load average is printed at the start and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import os
import platform
import random
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE = ROOT / "bench" / "data" / "events-20k.sqlite3"
SERVER_CPU, LOAD_CPU = 0, 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CHEAP_ADDRESS = "127.0.0.1"
ATTACKERS = {  # name: what it sends (for the report)
    "search": "`/v1/search?limit=100&q=` four 2-letter prefixes OR'ed (the broadest accepted), new each time",
    "csv": "`/v1/search?q=ma* OR an* OR co* OR pa*&format=csv`, read to the end",
    "timeline": "`/v1/timeline?bucket=year&from=-3000&to=Y`, Y new each time",
    "slow-reader": "`/v1/events?format=ndjson&include=people,places,works`, never read",
}
ALIASES = {"a": "search", "b": "csv", "c": "timeline", "d": "slow-reader"}
SLOW_READ_PATH = "/v1/events?format=ndjson&include=people,places,works"
# The broadest search the API accepts (app.queries.text: at most 4 prefixes, each of 2 letters or more):
# four of the commonest two-letter beginnings of words, a new four each time (no cached answer helps).
# The issue's own `a* OR b* OR ... OR z*` and `e*` are now refused with a 400 in well under a millisecond.
COMMON_PREFIXES = ("ma", "an", "co", "pa", "ca", "st", "re", "be", "sa", "de", "la", "mo", "ch", "ar", "al", "ba")
BROAD_SEARCH = "ma* OR an* OR co* OR pa*"
CSV_PATH = f"/v1/search?q={urllib.parse.quote(BROAD_SEARCH)}&format=csv"
ATTACK_TIMEOUT = 60.0  # one attack request, connect to last byte
CONNECT_TIMEOUT = 10.0
RCVBUF = 1024  # a slow reader's receive buffer (the kernel doubles it and keeps a floor of ~2 kB)
SLOWLORIS, SLOW_READERS, HEADER_EVERY = 200, 70, 5.0
WATCH_EVERY = 0.25  # seconds between two looks at the server's memory and the attack connections
STOP_WAIT = 10.0  # seconds between SIGTERM and SIGKILL
TARGET_RATIO = 5.0
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE",
    8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}  # fmt: skip
ESTABLISHED, CLOSE, CLOSE_WAIT = 1, 7, 8


# --- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((CHEAP_ADDRESS, 0))
        port: int = probe.getsockname()[1]
    return port


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return math.nan
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime, every thread


def vm_rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        if match:
            return int(match.group(1))
    return 0


@dataclass
class Code:
    """The Chronicle measured: the working tree's (the virtualenv's `chronicle`), or a commit's."""

    command: list[str]
    cwd: Path | None
    label: str


def git(*args: str) -> str:
    """Read-only git (no index refresh, no lock): another engineer may be working in this tree."""
    done = subprocess.run(["git", "--no-optional-locks", "-C", str(ROOT), *args], capture_output=True, check=True)
    return done.stdout.decode(errors="replace").strip()


def working_tree() -> Code:
    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--", "app", "migrations").splitlines()
    except (OSError, subprocess.CalledProcessError):
        return Code([str(BIN / "chronicle")], None, "the working tree (no git)")
    edits = f" + uncommitted changes to {len(changed)} file(s) of app/, migrations/" if changed else ""
    return Code([str(BIN / "chronicle")], None, f"the working tree (commit {commit}{edits})")


def commit_code(ref: str, into: Path) -> Code:
    """`ref`'s files (git archive, extracted in a temporary directory), run on this virtualenv."""
    commit = git("rev-parse", "--short", ref)
    archive = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
    ).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # app.cli has no __main__; with `-c` the current directory comes first on sys.path, before the editable install
    return Code([sys.executable, "-c", "from app.cli import main; main()"], into, f"commit {commit} ({ref})")


class Server:
    """One `chronicle serve` worker pinned to CPU 0; its stdout and stderr (the JSON access lines) in `log`."""

    def __init__(self, code: Code, database: Path, log: Path) -> None:
        self.code = code
        self.database = database
        self.log = log
        self.port = 0
        self.pid = 0  # kept after it stopped, for the report
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped = "not started"

    @property
    def base(self) -> str:
        return f"http://{CHEAP_ADDRESS}:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "CHRONICLE_DATABASE_URL": f"sqlite:///{self.database}"}
        for _attempt in range(3):
            self.port = free_port()
            command = [*self.code.command, "serve", "--host", CHEAP_ADDRESS, "--port", str(self.port), "--workers", "1"]
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(
                    ["taskset", "-c", str(SERVER_CPU), *command], env=env, stdout=out, stderr=out, cwd=self.code.cwd
                )
            self.pid = self.process.pid  # taskset execs the command: the same process
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and self.process.poll() is None:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                        return
                time.sleep(0.1)
            self.stop()
            if "address already in use" not in self.log.read_text(errors="replace").lower():
                break
        raise SystemExit(f"chronicle serve did not answer /healthz:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_WAIT seconds."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is not None:
            self.stopped = f"had exited by itself (code {process.returncode})"
            return
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_WAIT)
            self.stopped = f"exit code {code} {time.monotonic() - began:.1f} s after SIGTERM"
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.stopped = f"**killed**: still running {STOP_WAIT:g} s after SIGTERM"


# --- what the server did, seen from outside ---------------------------------------------------------------


def ip_hex(address: str) -> str:
    """An IPv4 address as /proc/net/tcp writes it (little-endian hex: 127.0.0.2 is 0200007F)."""
    return socket.inet_aton(address)[::-1].hex().upper()


def server_side_states(server_port: int, client_address: str) -> dict[int, int]:
    """The TCP state of the server's side of each connection from `client_address`, by client port."""
    found: dict[int, int] = {}
    want = ip_hex(client_address)
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            parts = line.split()
            local_port, (remote_ip, remote_port) = int(parts[1].rsplit(":", 1)[1], 16), parts[2].split(":")
            if local_port == server_port and remote_ip == want:
                found[int(remote_port, 16)] = int(parts[3], 16)
    return found


@dataclass
class Conn:
    """A connection of a slow client: held open by us, watched for the server closing it."""

    kind: str
    sock: socket.socket | None = None
    port: int = 0  # its local port: the server's side of it is found by it in /proc/net/tcp
    opened: float = 0.0  # loop time
    closed_after: float | None = None  # seconds after opening that the server was seen closing it
    how: str = ""  # how that was seen
    answer: str = ""  # the status line the server sent, if any (a slow reader's is peeked, not read)
    error: str = ""  # could not connect or send

    def server_closed(self, now: float, how: str) -> None:
        if self.closed_after is None:
            self.closed_after = now - self.opened
            self.how = how

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "port": self.port, "closed_after": self.closed_after, "how": self.how,
                "answer": self.answer, "error": self.error}  # fmt: skip


class Memory:
    """The server's VmRSS every WATCH_EVERY seconds."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []  # (loop time, VmRSS kB)

    def peak(self, start: float, end: float) -> int:
        return max((kib for at, kib in self.samples if start <= at <= end), default=0)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.samples.append((loop.time(), vm_rss_kib(self.pid)))
            await asyncio.sleep(WATCH_EVERY)


class Watch:
    """Every WATCH_EVERY seconds: whether the server closed any of the attack connections we hold."""

    def __init__(self, server_port: int, attack_address: str) -> None:
        self.server_port = server_port
        self.attack_address = attack_address
        self.conns: list[Conn] = []

    async def run(self) -> None:
        while True:
            self.look_now()
            await asyncio.sleep(WATCH_EVERY)

    def look_now(self) -> None:
        self.conns = [c for c in self.conns if c.sock is not None]
        live = [c for c in self.conns if c.closed_after is None]
        if live:
            states = server_side_states(self.server_port, self.attack_address)
            self.look(live, states, asyncio.get_running_loop().time())

    @staticmethod
    def look(live: list[Conn], theirs: dict[int, int], now: float) -> None:
        for conn in live:
            assert conn.sock is not None
            state = theirs.get(conn.port)
            if state is not None and state != ESTABLISHED:  # e.g. FIN_WAIT1: closed, its answer still unsent
                conn.server_closed(now, f"server side {TCP_STATES.get(state, str(state))}")
                continue
            with contextlib.suppress(OSError):
                mine = conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
                if mine in (CLOSE, CLOSE_WAIT):
                    conn.server_closed(now, f"client side {TCP_STATES[mine]}")
                    continue
            if conn.kind == "slow reader" and not conn.answer:  # what it was answered, without reading it
                try:
                    peeked = conn.sock.recv(128, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    conn.server_closed(now, type(exc).__name__)
                    continue
                if not peeked:
                    conn.server_closed(now, "end of file")
                else:
                    conn.answer = status_of(peeked)


def status_of(head: bytes) -> str:
    """`200` from `HTTP/1.1 200 OK\\r\\n...`; what came otherwise."""
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/"):
        return parts[1].decode(errors="replace")
    return "not HTTP: " + head[:30].decode(errors="replace")


def log_lines(data: bytes, start: int, end: int) -> list[dict[str, Any]]:
    """The server's JSON access lines among the bytes written between two offsets of its log (a line
    counts where it starts)."""
    if start > 0 and data[start - 1 : start] != b"\n":
        start = data.find(b"\n", start) + 1 or len(data)
    if end > 0 and data[end - 1 : end] != b"\n":
        end = data.find(b"\n", end) + 1 or len(data)
    found = []
    for line in data[start:end].splitlines():
        if line.startswith(b"{"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(line)
                if isinstance(parsed, dict) and parsed.get("event") == "request":
                    found.append(parsed)
    return found


# --- HTTP/1.1 by hand (the cheap stream and the attackers) ----------------------------------------------


@dataclass
class Target:
    host: str
    port: int
    source: str  # the client address, bound before connecting


def request_bytes(target: Target, path: str, close: bool = True) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\nUser-Agent: chronicle-bench-isolation\r\n"
        f"Accept: */*\r\n{connection}\r\n"
    ).encode()


class Link:
    """A keep-alive connection from `target.source`; opened again after the server closed it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.target.host, self.target.port, local_addr=(self.target.source, 0), limit=1 << 20
            )
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_answer(reader: asyncio.StreamReader) -> tuple[str, int, bool]:
    """An HTTP/1.1 answer read to its end: (status, bytes, whether the connection stays open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    status = status_of(lines[0])
    total, keep = len(head), headers.get(b"connection") != b"close"
    if status in ("204", "304") or status.startswith("1"):
        pass  # no body
    elif headers.get(b"transfer-encoding", b"").endswith(b"chunked"):
        while True:
            size_line = await reader.readuntil(b"\r\n")
            total += len(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    total += len(trailer)
                total += 2
                break
            total += len(await reader.readexactly(size + 2))
    elif b"content-length" in headers:
        total += len(await reader.readexactly(int(headers[b"content-length"])))
    else:  # the end of the body is the end of the connection
        while chunk := await reader.read(1 << 16):
            total += len(chunk)
        keep = False
    return status, total, keep


class Pool:
    """Keep-alive connections from one address, as many as there are requests in flight: a request
    never waits for a free connection, and taking one costs O(1) however many are open (an HTTP client's
    pool that scans its connections falls behind once a stalled server has hundreds of them open)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.idle: list[Link] = []

    async def get(self, path: str) -> str:
        """The status of GET `path`, its answer read to the end."""
        while True:
            reused = bool(self.idle)
            link = self.idle.pop() if reused else Link(self.target)  # the most recently used first
            try:
                reader, writer = await link.streams()
                writer.write(request_bytes(self.target, path, close=False))
                await writer.drain()
                status, _size, keep = await read_answer(reader)
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
                link.close()
                partial = isinstance(exc, asyncio.IncompleteReadError) and exc.partial
                if reused and not partial:  # the server had closed it while it was idle: another one
                    continue
                raise
            except BaseException:
                link.close()
                raise
            if keep:
                self.idle.append(link)
            else:
                link.close()
            return status

    def close(self) -> None:
        for link in self.idle:
            link.close()
        self.idle.clear()


# --- the cheap stream ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    due: float  # seconds since the phase began
    status: int  # 0: no answer
    ms: float  # from the due time to the answer (or to giving up)
    lag_ms: float  # how late it was sent (the client's own delay; part of `ms`)
    error: str = ""  # "timeout" or the connection error's name

    @property
    def ok(self) -> bool:
        return self.status in (200, 304)

    @property
    def cause(self) -> str:
        return str(self.status) if self.status else self.error


async def cheap_stream(
    pool: Pool, urls: list[tuple[str, str]], rate: float, seconds: float, timeout: float
) -> list[Outcome]:
    """Open loop: request i is sent at start + i / rate, each in its own task; returns when every one
    has been answered or given up."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    outcomes: list[Outcome] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(kind: str, url: str, due: float) -> None:
        lag = loop.time() - due
        status, error = 0, ""
        try:
            async with asyncio.timeout(timeout):
                answer = await pool.get(url)
            status = int(answer) if answer.isdigit() else 0
            error = "" if status else answer
        except TimeoutError:
            error = "timeout"
        except asyncio.IncompleteReadError as exc:
            error = "closed mid-answer" if exc.partial else "closed without an answer"
        except (OSError, ValueError) as exc:  # refused, reset; an answer that is not HTTP
            error = type(exc).__name__
        outcomes.append(Outcome(kind, due - start, status, (loop.time() - due) * 1000, lag * 1000, error))

    try:
        i = 0
        while (due := start + i / rate) < start + seconds:
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            kind, url = urls[i % len(urls)]
            tasks.append(asyncio.create_task(one(kind, url, due)))
            i += 1
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sorted(outcomes, key=lambda o: o.due)


def cheap_urls(database: Path) -> tuple[list[tuple[str, str]], int]:
    """The rotation of cheap requests (one event: the median by id), and how many events there are."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        (count,) = db.execute("SELECT count(*) FROM events").fetchone()
        row = db.execute(
            "SELECT r.slug FROM events e JOIN records r USING (id) ORDER BY e.id LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()
    if row is None:
        raise SystemExit(f"{database} has no events")
    urls = [
        ("events in 1929", "/v1/events?year=1929"),
        ("one event", f"/v1/events/{urllib.parse.quote(row[0])}"),
        ("on this day", "/v1/on-this-day/11-07"),
    ]
    return urls, int(count)


# --- the attack ----------------------------------------------------------------------------------------


@dataclass
class AttackStats:
    name: str
    sent: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # by status; errors by name
    seconds: list[float] = field(default_factory=list)  # per finished request, connect to last byte
    bytes_read: int = 0
    unfinished: int = 0  # in flight when the phase ended
    server_closed: list[float] = field(default_factory=list)  # slow reader: seconds after sending


async def exchange(link: Link, path: str, stats: AttackStats) -> None:
    """One request on the attacker's connection, its answer read to the end."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    stats.sent += 1
    try:
        async with asyncio.timeout(ATTACK_TIMEOUT):
            reader, writer = await link.streams()
            writer.write(request_bytes(link.target, path, close=False))
            await writer.drain()
            status, total, keep = await read_answer(reader)
        stats.answers[status] += 1
        stats.bytes_read += total
        stats.seconds.append(loop.time() - started)
        if not keep:
            link.close()
    except TimeoutError:
        stats.answers[f"timeout ({ATTACK_TIMEOUT:g} s)"] += 1
        link.close()
    except asyncio.IncompleteReadError as exc:
        stats.answers["closed mid-answer" if exc.partial else "closed without an answer"] += 1
        link.close()
    except (OSError, ValueError) as exc:  # reset, refused; an answer that is not HTTP (LimitOverrunError too)
        stats.answers[type(exc).__name__] += 1
        link.close()
        await asyncio.sleep(0.1)  # do not spin on a refused connection
    except asyncio.CancelledError:
        stats.unfinished += 1
        link.close()
        raise


def broad_search(rng: random.Random) -> str:
    return " OR ".join(f"{prefix}*" for prefix in rng.sample(COMMON_PREFIXES, 4))


async def search_attacker(target: Target, stats: AttackStats) -> None:
    link, rng = Link(target), random.Random(1)
    for n in range(1 << 62):
        query, limit = broad_search(rng), 100 - n % 50
        await exchange(link, f"/v1/search?limit={limit}&q={urllib.parse.quote(query)}", stats)


async def csv_attacker(target: Target, stats: AttackStats) -> None:
    link = Link(target)
    while True:
        await exchange(link, CSV_PATH, stats)


async def timeline_attacker(target: Target, stats: AttackStats) -> None:
    link = Link(target)
    for n in range(1 << 62):
        await exchange(link, f"/v1/timeline?bucket=year&from=-3000&to={1999 - n % 500}", stats)


async def open_conn(conn: Conn, target: Target, watch: Watch, first: bytes, rcvbuf: int | None) -> socket.socket:
    """A raw non-blocking socket from the attack address (nothing reads it unless we do), `first` sent."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.sock = sock
    try:
        if rcvbuf is not None:  # before connect, so that the window offered is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        sock.bind((target.source, 0))
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await loop.sock_connect(sock, (target.host, target.port))
        conn.port, conn.opened = sock.getsockname()[1], loop.time()
        watch.conns.append(conn)
        await loop.sock_sendall(sock, first)
    except (OSError, TimeoutError) as exc:
        conn.error = type(exc).__name__
        conn.close()
        raise
    return sock


async def slow_reader_attacker(target: Target, stats: AttackStats, watch: Watch, hold: float) -> None:
    """Send the export, never read it; close after `hold` seconds (or when the server closed it), again."""
    loop = asyncio.get_running_loop()
    while True:
        conn = Conn("slow reader")
        stats.sent += 1
        try:
            await open_conn(conn, target, watch, request_bytes(target, SLOW_READ_PATH, close=False), RCVBUF)
            until = loop.time() + hold
            while loop.time() < until and conn.closed_after is None:
                await asyncio.sleep(WATCH_EVERY)
            if conn.closed_after is not None:
                stats.server_closed.append(conn.closed_after)
            stats.answers[conn.answer or "nothing received"] += 1
        except (OSError, TimeoutError) as exc:
            stats.answers[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            stats.unfinished += 1
            if conn.closed_after is not None:
                stats.server_closed.append(conn.closed_after)
            stats.answers[f"{conn.answer or 'nothing received'} (held at the end)"] += 1
            raise
        finally:
            conn.close()


async def slowloris(conn: Conn, target: Target, watch: Watch) -> None:
    """A request whose headers never end: one more header line every HEADER_EVERY seconds. What the
    server sends is read by a task of its own, never cancelled while it waits (a receive cancelled by a
    timeout just as the answer came would lose it)."""
    loop = asyncio.get_running_loop()

    async def read(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := await loop.sock_recv(sock, 4096):
                conn.answer = conn.answer or status_of(data)
            conn.server_closed(loop.time(), "end of file")
            return
        conn.server_closed(loop.time(), "reset")

    reading: asyncio.Task[None] | None = None
    try:
        sock = await open_conn(conn, target, watch, b"GET /v1/events HTTP/1.1\r\nHost: x\r\n", None)
        reading = asyncio.create_task(read(sock))
        for n in range(1 << 62):
            await asyncio.wait({reading}, timeout=HEADER_EVERY)
            if reading.done():
                break
            await loop.sock_sendall(sock, f"X-Slow-{n}: {n}\r\n".encode())
    except OSError as exc:
        if conn.port:  # connected, then a header line was refused (reset)
            conn.server_closed(loop.time(), type(exc).__name__)
    except TimeoutError:
        pass  # could not connect: conn.error says so
    finally:
        if reading is not None:
            if not reading.done() and conn.closed_after is not None:  # a last answer may still come
                await asyncio.wait({reading}, timeout=1.0)
            await stop_tasks([reading])
        if conn.closed_after is not None:  # otherwise held to the end of the run
            conn.close()


async def slow_reader_held(conn: Conn, target: Target, watch: Watch) -> None:
    with contextlib.suppress(OSError, TimeoutError):
        await open_conn(conn, target, watch, request_bytes(target, SLOW_READ_PATH, close=False), RCVBUF)
        await asyncio.Event().wait()  # held until the end of the run, never read


# --- phases -------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome]
    seconds: float  # from the stream's first request to its last answer
    cpu_seconds: float  # the server's
    peak_rss_kib: int
    log_start: int  # offsets of the server's log
    log_end: int
    lines: list[dict[str, Any]] = field(default_factory=list)  # its access lines, filled at the end

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def p(self, q: float, kind: str | None = None) -> float:
        return percentile([o.ms for o in self.outcomes if kind is None or o.kind == kind], q)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def phase(
    name: str, pool: Pool, server: Server, memory: Memory, urls: list[tuple[str, str]],
    args: argparse.Namespace,
) -> Phase:  # fmt: skip
    loop = asyncio.get_running_loop()
    print(f"phase {name}: {args.seconds:g} s at {args.rate:g} req/s...", file=sys.stderr, flush=True)
    log_start, cpu_start, began = server.log.stat().st_size, cpu_seconds(server.pid), loop.time()
    outcomes = await cheap_stream(pool, urls, args.rate, args.seconds, args.timeout)
    ended = loop.time()
    result = Phase(
        name, outcomes, ended - began, cpu_seconds(server.pid) - cpu_start, memory.peak(began, ended),
        log_start, server.log.stat().st_size,
    )  # fmt: skip
    print(
        f"  {len(outcomes)} sent, {len(result.refused)} refused, p99 {result.p(0.99):.1f} ms, "
        f"max {result.p(1.0):.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    return result


@dataclass
class Run:
    alone: Phase
    beside: Phase
    attackers: list[AttackStats] = field(default_factory=list)
    slow_clients: list[Conn] = field(default_factory=list)
    held_seconds: float = 0.0  # how long the attack ran


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def attack_child(args: argparse.Namespace) -> None:
    """The attack, in a process of its own (so that it does not delay the cheap stream's client): it
    prints `ready` once it has started, runs until its stdin closes, then prints what it got (JSON)."""
    loop = asyncio.get_running_loop()
    target = Target(CHEAP_ADDRESS, args.port, args.attack_address)
    watch = Watch(args.port, args.attack_address)
    monitor = asyncio.create_task(watch.run())
    tasks: list[asyncio.Task[None]] = []
    conns: list[Conn] = []
    stats: list[AttackStats] = []
    try:
        if args.slow_clients:
            conns = [Conn("slowloris") for _ in range(SLOWLORIS)]
            conns += [Conn("slow reader") for _ in range(SLOW_READERS)]
            tasks = [
                asyncio.create_task(slowloris(c, target, watch) if c.kind == "slowloris" else
                                    slow_reader_held(c, target, watch))
                for c in conns
            ]  # fmt: skip
        else:
            runners: dict[str, Callable[[AttackStats], Coroutine[Any, Any, None]]] = {
                "search": lambda s: search_attacker(target, s),
                "csv": lambda s: csv_attacker(target, s),
                "timeline": lambda s: timeline_attacker(target, s),
                "slow-reader": lambda s: slow_reader_attacker(target, s, watch, args.slow_read_seconds),
            }
            stats = [AttackStats(name) for name in args.attackers]
            tasks = [asyncio.create_task(runners[s.name](s)) for s in stats]
        started = loop.time()
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin (or ends)
        watch.look_now()  # a last look before letting go
        held = loop.time() - started
        await stop_tasks(tasks)
        found = {
            "held_seconds": held,
            "attackers": [{**asdict(s), "answers": dict(s.answers)} for s in stats],
            "slow_clients": [c.summary() for c in conns],
        }
        print(json.dumps(found), flush=True)
    finally:
        await stop_tasks([*tasks, monitor])
        for conn in conns + watch.conns:
            conn.close()


async def start_attack(server: Server, args: argparse.Namespace) -> asyncio.subprocess.Process:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--attack-child", "--port", str(server.port),
        "--attack-address", args.attack_address, "--attackers", ",".join(args.attackers) or "none",
        "--slow-read-seconds", str(args.slow_read_seconds), *(["--slow-clients"] if args.slow_clients else []),
    ]  # fmt: skip
    child = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )  # on CPU 1, as this process: the server keeps CPU 0 to itself
    assert child.stdout is not None
    async with asyncio.timeout(60):
        ready = await child.stdout.readline()
    if ready.strip() != b"ready":
        raise SystemExit(f"the attack process did not start (it said {ready[:200]!r})")
    return child


async def stop_attack(child: asyncio.subprocess.Process) -> dict[str, Any]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    async with asyncio.timeout(30):
        out = await child.stdout.read()
        await child.wait()
    if child.returncode != 0 or not out.strip():
        raise SystemExit(f"the attack process failed (exit code {child.returncode}); its error is above")
    found: dict[str, Any] = json.loads(out)
    return found


async def measure(server: Server, urls: list[tuple[str, str]], args: argparse.Namespace) -> Run:
    memory = Memory(server.pid)
    sampler = asyncio.create_task(memory.run())
    child: asyncio.subprocess.Process | None = None
    pool = Pool(Target(CHEAP_ADDRESS, server.port, CHEAP_ADDRESS))
    try:
        for kind, url in urls:
            async with asyncio.timeout(args.timeout):
                status = await pool.get(url)
            if status != "200":
                raise SystemExit(f"{kind}: {url} answered {status} (the server's log: {server.log})")
        if args.warmup > 0:
            await cheap_stream(pool, urls, args.rate, args.warmup, args.timeout)
        alone = await phase("alone", pool, server, memory, urls, args)
        if args.slow_clients:
            name = f"beside {SLOWLORIS} slowloris + {SLOW_READERS} slow readers"
        else:
            name = "beside the attack" if args.attackers else "again, beside no attack"
        attack_log_start = server.log.stat().st_size
        child = await start_attack(server, args)
        await asyncio.sleep(args.ramp)
        beside = await phase(name, pool, server, memory, urls, args)
        found, child = await stop_attack(child), None
        await asyncio.sleep(1.0)  # the server logs a request when it ends: the attack's last ones too
        # the server's log beside the attack: from its start to its end (the ramp counts, as its aftermath)
        beside.log_start, beside.log_end = attack_log_start, server.log.stat().st_size
        attackers = [AttackStats(**{**a, "answers": Counter(a["answers"])}) for a in found["attackers"]]
        conns = [Conn(**c) for c in found["slow_clients"]]
        return Run(alone, beside, attackers, conns, found["held_seconds"])
    finally:
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
        pool.close()
        await stop_tasks([sampler])


# --- the report -----------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}"


def counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key}: {n:,}" for key, n in sorted(counter.items(), key=lambda item: -item[1])) or "-"


def header(args: argparse.Namespace, server: Server, events: int, urls: list[tuple[str, str]]) -> list[str]:
    settings = {k: v for k, v in os.environ.items() if k.startswith("CHRONICLE_") and k != "CHRONICLE_DATABASE_URL"}
    shown = ", ".join(f"{k}={without_password(v)}" for k, v in sorted(settings.items()))
    attack = (
        f"{SLOWLORIS} slowloris connections (a header line every {HEADER_EVERY:g} s) and {SLOW_READERS} slow readers "
        f"(`{SLOW_READ_PATH}`, SO_RCVBUF {RCVBUF} B, never read), opened {args.ramp:g} s before the stream, held to "
        "its end"
        if args.slow_clients
        else "; ".join(f"{name}: {ATTACKERS[name]}" for name in args.attackers) or "none"
    )
    return [
        f"- Command: `{shlex.join(['python', 'bench/isolation.py', *sys.argv[1:]])}`",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at the start "
        f"{os.getloadavg()[0]:.2f}",
        f"- Code: {server.code.label}",
        f"- Database: `{display(args.database)}`, {events:,} events",
        f"- Server: one `chronicle serve` worker on CPU {SERVER_CPU} (pid {server.pid}, port {server.port}); "
        f"settings: {shown or 'the defaults'}. Clients on CPU {LOAD_CPU}: this process (the stream), another "
        "(the attack)",
        f"- Cheap stream, from {CHEAP_ADDRESS}: {args.rate:g} req/s open loop, rotating "
        + ", ".join(f"`{url}`" for _kind, url in urls)
        + f"; {args.seconds:g} s per phase after a {args.warmup:g} s warm-up; timeout {args.timeout:g} s; latency "
        "from each request's due time, over every request (a refused one when it was refused)",
        f"- Attack, from {args.attack_address}: {attack}",
    ]


def without_password(value: str) -> str:
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", value)


def display(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(ROOT))
    return str(path)


def fives(lines: list[dict[str, Any]], client: str) -> int:
    return sum(1 for line in lines if line.get("client") == client and int(line.get("status", 0)) >= 500)


def report(run: Run, args: argparse.Namespace, head: list[str], server: Server) -> tuple[str, bool]:
    phases = [run.alone, run.beside]
    title = "slow clients" if args.slow_clients else "the attack"
    lines = [
        f"## Isolation: cheap requests alone and beside {title}",
        "",
        *head,
        "",
        "| phase | sent | answered 200/304 | refused | p50 ms | p95 ms | p99 ms | max ms | server CPU s "
        "| server CPU % | server peak VmRSS MB | server 5xx logged (cheap / attack) |",
        "|---|" + "---:|" * 11,
    ]
    for ph in phases:
        lines.append(
            f"| {ph.name} | {len(ph.outcomes):,} | {sum(o.ok for o in ph.outcomes):,} | {len(ph.refused):,} "
            f"| {ms(ph.p(0.5))} | {ms(ph.p(0.95))} | {ms(ph.p(0.99))} | {ms(ph.p(1.0))} | {ph.cpu_seconds:.2f} "
            f"| {100 * ph.cpu_seconds / ph.seconds:.0f} | {ph.peak_rss_kib / 1024:.0f} "
            f"| {fives(ph.lines, CHEAP_ADDRESS)} / {fives(ph.lines, args.attack_address)} |"
        )
    ratio = run.beside.p(0.99) / (run.alone.p(0.99) or math.nan)
    refused = len(run.beside.refused)
    met = ratio <= TARGET_RATIO and refused == 0
    lines += [
        "",
        f"**p99 beside / alone: {ratio:.1f}x** (target ≤ {TARGET_RATIO:g}x); "
        f"**refused {run.beside.name}: {refused:,}** (target 0): target **{'met' if met else 'not met'}**",
        "",
        "Refused, by cause: "
        + "; ".join(f"{ph.name}: {counts(Counter(o.cause for o in ph.refused))}" for ph in phases),
        "",
        "| cheap request | " + " | ".join(f"{ph.name}: p50 / p99 / max ms, refused" for ph in phases) + " |",
        "|---|" + "---|" * len(phases),
    ]
    for kind in dict.fromkeys(o.kind for o in run.alone.outcomes):
        cells = [
            f"{ms(ph.p(0.5, kind))} / {ms(ph.p(0.99, kind))} / {ms(ph.p(1.0, kind))}, "
            f"{sum(1 for o in ph.refused if o.kind == kind):,}"
            for ph in phases
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    if run.attackers:
        lines += [
            "",
            f"Attackers (from {args.attack_address}, one connection each, over the attack's {run.held_seconds:.0f} s):",
            "",
            "| attacker | sent | answers (status or error) | unfinished at the end | median / max ms per answer "
            "| MB read | closed by the server |",
            "|---|---:|---|---:|---|---:|---|",
        ]
        for stats in run.attackers:
            closed = (
                f"{len(stats.server_closed)} of {stats.sent}"
                + (f", after {ms(median(stats.server_closed))} s (median)" if stats.server_closed else "")
                if stats.name == "slow-reader"
                else "-"
            )
            lines.append(
                f"| {stats.name} | {stats.sent:,} | {counts(stats.answers)} | {stats.unfinished} "
                f"| {ms(1000 * median(stats.seconds))} / {ms(1000 * max(stats.seconds, default=math.nan))} "
                f"| {stats.bytes_read / 1e6:.1f} | {closed} |"
            )
        if "slow-reader" in args.attackers:
            lines.append(
                f"\nA slow reader's answer is peeked (MSG_PEEK), not read: `nothing received` means no byte arrived "
                f"in {args.slow_read_seconds:g} s; it is closed by us after that."
            )
    if run.slow_clients:
        lines += [
            "",
            f"Slow clients (from {args.attack_address}, held {run.held_seconds:.0f} s):",
            "",
            "| kind | opened | could not open | closed by the server | closed after s (min / median / max) "
            "| how it was seen | answers seen |",
            "|---|---:|---:|---:|---|---|---|",
        ]
        for kind in ("slowloris", "slow reader"):
            group = [c for c in run.slow_clients if c.kind == kind]
            after = [c.closed_after for c in group if c.closed_after is not None]
            lines.append(
                f"| {kind} | {sum(1 for c in group if c.port):,} | {sum(1 for c in group if not c.port):,} "
                f"| {len(after):,} | {ms(min(after, default=math.nan))} / {ms(median(after))} / "
                f"{ms(max(after, default=math.nan))} | {counts(Counter(c.how for c in group if c.how))} "
                f"| {counts(Counter(c.answer for c in group if c.answer))} |"
            )
    every = [line for ph in phases for line in ph.lines]
    late = max((o.lag_ms for ph in phases for o in ph.outcomes), default=0.0)
    lines += [
        "",
        f"- Server: CPU over each phase from /proc/{server.pid}/stat (user + system; 100 % = its one CPU); "
        f"its log, over both phases: {len(every):,} access lines, "
        f"{counts(Counter(str(line.get('status')) for line in every))}; stopped: {server.stopped}",
        f"- Client: the latest request was sent {late:.0f} ms after its due time"
        + (" (it kept up)" if late < 50 else " (**the client fell behind: its own delay counts in the latency**)")
        + f"; load average at the end {os.getloadavg()[0]:.2f}",
    ]
    return "\n".join(lines), met


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def raw(run: Run, args: argparse.Namespace, head: list[str], met: bool) -> dict[str, Any]:
    def of(ph: Phase) -> dict[str, Any]:
        return {
            "name": ph.name, "seconds": ph.seconds, "server_cpu_seconds": ph.cpu_seconds,
            "server_peak_vm_rss_kib": ph.peak_rss_kib, "p50_ms": ph.p(0.5), "p95_ms": ph.p(0.95),
            "p99_ms": ph.p(0.99), "max_ms": ph.p(1.0), "refused": len(ph.refused),
            "outcomes": [asdict(o) for o in ph.outcomes], "server_log": ph.lines,
        }  # fmt: skip

    return {
        "args": {k: str(v) for k, v in vars(args).items()}, "header": head,
        "phases": [of(run.alone), of(run.beside)],
        "p99_ratio": run.beside.p(0.99) / (run.alone.p(0.99) or math.nan), "target_met": met,
        "attackers": [{**asdict(s), "answers": dict(s.answers)} for s in run.attackers],
        "slow_clients": [c.summary() for c in run.slow_clients],
    }  # fmt: skip


# --- main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE, help="a SQLite file (chronicle generate)")
    parser.add_argument("--seconds", type=float, default=20.0, help="of each phase")
    parser.add_argument("--rate", type=float, default=50.0, help="cheap requests per second (open loop)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a cheap request may take")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of cheap stream before, not counted")
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds the attack runs before it is measured")
    parser.add_argument("--attack-address", default="127.0.0.2", help="the attackers' client address")
    parser.add_argument(
        "--attackers", default=",".join(ATTACKERS),
        help=f"comma-separated, of: {', '.join(ATTACKERS)} (or a, b, c, d); `none` for a noise check",
    )  # fmt: skip
    parser.add_argument(
        "--slow-read-seconds", type=float, default=30.0, help="a slow reader holds its connection this long"
    )
    parser.add_argument(
        "--slow-clients", action="store_true",
        help=f"instead of the attack: {SLOWLORIS} slowloris and {SLOW_READERS} slow-reader connections",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument(
        "--ref", metavar="GIT_REF", help="serve this commit's code (git archive) instead of the working tree's"
    )
    parser.add_argument("--attack-child", action="store_true", help=argparse.SUPPRESS)  # the attack's process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)  # the server's, for --attack-child
    args = parser.parse_args(argv)
    names = [ALIASES.get(n.strip(), n.strip()) for n in args.attackers.split(",") if n.strip()]
    args.attackers = [] if names == ["none"] else names
    unknown = [n for n in args.attackers if n not in ATTACKERS]
    if unknown:
        parser.error(f"unknown attacker(s) {unknown}: use {', '.join(ATTACKERS)}")
    if args.rate <= 0 or args.seconds <= 0 or args.timeout <= 0:
        parser.error("--rate, --seconds and --timeout must be positive")
    if args.attack_child:
        asyncio.run(attack_child(args))
        return 0
    args.database = args.database.resolve()
    if not args.database.is_file():
        raise SystemExit(f"{args.database} does not exist: chronicle generate FILE --events N")
    urls, events = cheap_urls(args.database)
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOAD_CPU})  # the server gets CPU 0 (taskset), the load CPU 1
    else:
        print("one CPU: the server and the load share it", file=sys.stderr)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM cleans up as Ctrl-C does

    with tempfile.TemporaryDirectory(prefix="chronicle-isolation-") as tmp:
        code = commit_code(args.ref, Path(tmp) / "code") if args.ref else working_tree()
        server = Server(code, args.database, Path(tmp) / "server.log")
        try:
            server.start()
            head = header(args, server, events, urls)
            print("\n".join(head), file=sys.stderr, flush=True)
            run = asyncio.run(measure(server, urls, args))
        finally:
            server.stop()
        data = server.log.read_bytes()
        for ph in (run.alone, run.beside):
            ph.lines = log_lines(data, ph.log_start, ph.log_end)
        text, met = report(run, args, head, server)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(raw(run, args, head, met), indent=1) + "\n")
        print(f"\nwritten to {args.json}", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the server was stopped and every socket closed on the way out
        sys.exit(130)
