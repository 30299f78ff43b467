"""PostgreSQL restarted under load: requests fail fast with a 503 (not a hang, not a 500) while the
server is away, and the API recovers by itself, without a restart.

    .venv/bin/python bench/faults.py [--postgres-url URL] [--cluster 15/main] [--readers 4] [--writers 2]
                                     [--before 3] [--after 10] [--wait-for-others 300]

It makes a throwaway database on the server (default postgresql://postgres@127.0.0.1:5432/postgres,
as the tests), migrates and seeds it, creates a write key and starts one `chronicle serve`. Readers
(GET an event, GET a year's list) and writers (POST new events) run in closed loops, one request
every 20 ms each; after --before seconds, `pg_ctlcluster VERSION NAME restart` (a fast shutdown:
every session is ended, then the server starts again); the load goes on for --after seconds more.

Printed: the answers by kind and status before, during and after the outage; the slowest failed
request (fail fast); when reads and writes answered 2xx again, counted from the restart command's
start and from its return. Checked (exit 1 otherwise): no 500 and no request without an answer,
every failure a 503 problem+json with Retry-After, no request slower than --hang seconds, reads and
writes recovered, the same API process throughout, every write answered 201 readable afterwards.

CAUTION: a restart ends every session on the server, including other people's test runs. Before
restarting, the script waits (up to --wait-for-others seconds, checking every 10 s) until no pytest
process runs on this machine and no other client is connected to the server; if that does not
happen, it stops without restarting (exit 2). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import engine_url
from bench.replicas import EVENT, admin, chronicle, replicas

PAUSE = 0.02  # seconds between two requests of one client
PROBLEM_JSON = "application/problem+json"


# --- the server, and who else uses it -----------------------------------------------------------------


def cluster_of(server_url: str, given: str | None) -> tuple[str, str]:
    """(version, name) of the local cluster on the URL's port: --cluster, or pg_lsclusters."""
    if given:
        version, name = given.split("/", 1)
        return version, name
    port = str(make_url(server_url).port or 5432)
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in listed.splitlines():
        version, name, cluster_port, status, *_ = line.split()
        if cluster_port == port and status == "online":
            return version, name
    raise SystemExit(f"no online cluster on port {port} in pg_lsclusters:\n{listed}")


def pytest_processes() -> list[str]:
    """Command lines of the pytest runs on this machine (other than this process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if any(b"pytest" in part for part in argv[:3]):
                found.append(f"{entry.name}: {b' '.join(argv).decode(errors='replace')[:150]}")
    return found


def other_sessions(server_url: str, ours: str) -> list[str]:
    """Client sessions on the server that are neither this script's nor on its database `ours`."""
    engine = create_engine(engine_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pid, datname, application_name, state FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
                    "AND datname IS DISTINCT FROM :ours"
                ),
                {"ours": ours},
            ).all()
    finally:
        engine.dispose()
    return [
        f"pid {pid} on {datname} ({application or 'no name'}, {state})" for pid, datname, application, state in rows
    ]


def wait_until_alone(server_url: str, ours: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        others = pytest_processes() + other_sessions(server_url, ours)
        if not others:
            return True
        if time.monotonic() > deadline:
            print("others still use PostgreSQL; not restarting it:\n  " + "\n  ".join(others), file=sys.stderr)
            return False
        print(f"waiting: {len(others)} other user(s) of PostgreSQL, e.g. {others[0]}", file=sys.stderr)
        time.sleep(10)


@contextmanager
def throwaway_database(server_url: str) -> Iterator[tuple[str, str]]:
    name = f"chronicle_faults_{os.getpid()}"
    admin(server_url, f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'")
    try:
        yield name, make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        for _ in range(30):  # the server may still be starting after a failed run
            try:
                admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                break
            except Exception:
                time.sleep(1)


# --- the load -------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # when it was sent, seconds since the load started
    kind: str  # "read" or "write"
    status: int  # 0: no answer (a transport error or a timeout)
    seconds: float
    slug: str = ""
    problem: bool = True  # a failure's answer was problem+json with Retry-After (2xx: True)


@dataclass
class Load:
    base: str
    key: str
    timeout: float
    started: float = field(default_factory=time.monotonic)
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def now(self) -> float:
        return time.monotonic() - self.started

    def run(self, kind: str, number: int) -> None:
        auth = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base, timeout=self.timeout, headers=auth) as http:
            i = 0
            while not self.stop.is_set():
                i += 1
                slug = f"fault-{number}-{i}" if kind == "write" else ""
                began = self.now()
                try:
                    if kind == "write":
                        answer = http.post("/v1/events", json={**EVENT, "slug": slug, "title": f"Fault {number} {i}"})
                    elif i % 2:
                        answer = http.get("/v1/events/october-revolution")
                    else:
                        answer = http.get("/v1/events", params={"year": 1929, "limit": 5})
                    status = answer.status_code
                    problem = status < 300 or (
                        answer.headers.get("content-type") == PROBLEM_JSON and "retry-after" in answer.headers
                    )
                except httpx.HTTPError:
                    status, problem = 0, False
                with self.lock:
                    self.outcomes.append(Outcome(began, kind, status, self.now() - began, slug, problem))
                time.sleep(PAUSE)


def ok(outcome: Outcome) -> bool:
    return 200 <= outcome.status < 300


def recovered_at(outcomes: list[Outcome], kind: str, since: float) -> float | None:
    """When `kind` requests succeeded again for good: the send time of the first success after the last
    failure sent at or after `since` (None if they never failed, or never succeeded after)."""
    mine = sorted((o for o in outcomes if o.kind == kind and o.at >= since), key=lambda o: o.at)
    failures = [o.at for o in mine if not ok(o)]
    if not failures:
        return None
    after = [o.at for o in mine if o.at > failures[-1] and ok(o)]
    return after[0] if after else float("nan")


def tally(outcomes: list[Outcome]) -> str:
    counts = Counter(f"{o.kind} {o.status or 'no answer'}" for o in outcomes)
    return ", ".join(f"{label}: {count:,}" for label, count in sorted(counts.items())) or "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CHRONICLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--cluster", help="VERSION/NAME of the local cluster (default: pg_lsclusters, by port)")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--before", type=float, default=3.0, help="seconds of load before the restart")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of load after the restart returned")
    parser.add_argument("--hang", type=float, default=5.0, help="a request slower than this counts as a hang")
    parser.add_argument("--wait-for-others", type=float, default=300.0, help="seconds to wait for pytest to end")
    args = parser.parse_args()
    version, cluster = cluster_of(args.postgres_url, args.cluster)

    failures: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="chronicle-faults-") as tmp,
        throwaway_database(args.postgres_url) as (name, url),
    ):
        chronicle("db", "seed", url=url)
        key = chronicle("keys", "create", "--name", "faults", "--scope", "write", url=url).strip()
        with replicas(url, 1, Path(tmp)) as (server,):
            if not wait_until_alone(args.postgres_url, name, args.wait_for_others):
                return 2
            load = Load(server.base, key, timeout=args.hang * 4)
            clients = [threading.Thread(target=load.run, args=("read", n)) for n in range(args.readers)]
            clients += [threading.Thread(target=load.run, args=("write", n)) for n in range(args.writers)]
            for client in clients:
                client.start()
            time.sleep(args.before)
            if pytest_processes():  # one last look: a run may have started while the load warmed up
                load.stop.set()
                for client in clients:
                    client.join()
                print("a pytest run started; not restarting PostgreSQL", file=sys.stderr)
                return 2
            restart_began = load.now()
            subprocess.run(["pg_ctlcluster", version, cluster, "restart"], check=True)
            restart_ended = load.now()
            time.sleep(args.after)
            load.stop.set()
            for client in clients:
                client.join()

            outcomes = sorted(load.outcomes, key=lambda o: o.at)
            read_back = recovered_at(outcomes, "read", restart_began)
            write_back = recovered_at(outcomes, "write", restart_began)
            back = max((t for t in (read_back, write_back) if t is not None), default=restart_ended)
            before = [o for o in outcomes if o.at < restart_began]
            during = [o for o in outcomes if restart_began <= o.at < back]
            after = [o for o in outcomes if o.at >= back]
            failed = [o for o in outcomes if not ok(o)]
            acknowledged = [o.slug for o in outcomes if o.kind == "write" and o.status == 201]
            refused_writes = [o.slug for o in outcomes if o.kind == "write" and o.status == 503]
            with httpx.Client(base_url=server.base, timeout=10) as http:
                lost = [slug for slug in acknowledged if http.get(f"/v1/events/{slug}").status_code != 200]
                written_anyway = [s for s in refused_writes if http.get(f"/v1/events/{s}").status_code == 200]
                ready = http.get("/readyz").status_code
            same_process = server.process.poll() is None

            def since(moment: float | None, none: str = "never failed") -> str:
                if moment is None:
                    return none
                began, returned = moment - restart_began, moment - restart_ended
                return f"{began:.2f} s after the restart began, {returned:+.2f} s after it returned"

            print(f"\nPostgreSQL {version}/{cluster} restarted under load ({args.readers} readers, {args.writers} "
                  f"writers, a request every {PAUSE * 1000:.0f} ms each); `pg_ctlcluster restart` took "
                  f"{restart_ended - restart_began:.2f} s.\n")  # fmt: skip
            print("| window | requests | answers |")
            print("|---|---:|---|")
            print(f"| before the restart | {len(before):,} | {tally(before)} |")
            print(f"| outage (restart began - both recovered) | {len(during):,} | {tally(during)} |")
            print(f"| after | {len(after):,} | {tally(after)} |")
            slowest = max((o.seconds for o in failed), default=0.0)
            slowest_any = max((o.seconds for o in outcomes if o.at >= restart_began), default=0.0)
            print(f"\nfailed requests: {len(failed):,}; the slowest failure took {slowest * 1000:.0f} ms; the "
                  f"slowest request from the restart on {slowest_any * 1000:.0f} ms")  # fmt: skip
            first_failure = min((o.at for o in failed if o.at + o.seconds >= restart_began), default=None)
            print(f"first failure sent: {since(first_failure, 'no failure')}")
            print(f"reads 2xx again: {since(read_back)}")
            print(f"writes 2xx again: {since(write_back)}")
            print(f"writes answered 201: {len(acknowledged):,}, lost: {len(lost)}; answered 503 yet written: "
                  f"{len(written_anyway)}; /readyz after: {ready}; one API process throughout: "
                  f"{same_process}")  # fmt: skip

            if any(o.status >= 500 and o.status != 503 for o in outcomes):
                failures.append(f"answers other than 503 among the failures: {tally(failed)}")
            if any(o.status == 0 for o in outcomes):
                failures.append("requests without an answer (a hang or a dropped connection)")
            if any(not o.problem for o in failed):
                failures.append("a failure that is not problem+json with Retry-After")
            if slowest_any > args.hang:
                failures.append(f"a request took {slowest_any:.1f} s (over --hang {args.hang} s)")
            for kind, moment in (("reads", read_back), ("writes", write_back)):
                if moment is not None and moment != moment:  # NaN: failed, never succeeded again
                    failures.append(f"{kind} did not recover within {args.after} s")
            if lost:
                failures.append(f"{len(lost)} writes answered 201 are missing, e.g. {lost[:3]}")
            if ready != 200 or not same_process:
                failures.append("the API is not ready after the outage, or its process ended")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
