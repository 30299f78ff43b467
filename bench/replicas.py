"""Three Chronicle replicas on one PostgreSQL database behind nginx, on loopback: a write through one
replica is read at once through another, and a replica killed with SIGKILL under load loses no
acknowledged write while the others keep serving.

    .venv/bin/python bench/replicas.py [--postgres-url URL] [--seconds 30] [--clients 8]

It makes a throwaway database on the server (default postgresql://postgres@127.0.0.1:5432/postgres,
as the tests), migrates and seeds it, starts three `chronicle serve` processes and nginx (Debian's
nginx-light; installed with apt-get if missing) in front of them, then:

1. Read-your-write across replicas: N events created through replica 1, each read at once through
   replica 2 (and through nginx): every one must be there, with the same revision.
2. Kill under load: clients write (POST) and read (GET) through nginx for --seconds; a third of the
   way in, replica 2 gets SIGKILL. Every write answered 201 must then be readable; failures and
   latency are reported before, around and after the kill.

It prints a markdown table and exits non-zero if a check fails. Everything is stopped and the
database dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

from app.db import engine_url

# The load comes from one address (127.0.0.1) but stands for many clients: lift the per-address limit
# (CHRONICLE_MAX_CONCURRENT_PER_ADDRESS, 16), as bench/run.py does.
MANY_CLIENTS_ONE_ADDRESS = {"CHRONICLE_MAX_CONCURRENT_PER_ADDRESS": "4096"}

BIN = Path(sys.executable).parent
EVENT = {
    "type": "event", "kind": "meeting", "date": "1932-11-27",
    "people": [{"person": "leon-trotsky", "role": "subject"}], "places": [{"place": "berlin"}],
    "citations": [{"source": "the-exile-of-leon-trotsky"}],
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def admin(server_url: str, statement: str) -> None:
    engine = create_engine(engine_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    name = f"chronicle_replicas_{os.getpid()}"
    admin(server_url, f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'")
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def chronicle(*args: str, url: str) -> str:
    env = {**os.environ, **MANY_CLIENTS_ONE_ADDRESS, "CHRONICLE_DATABASE_URL": url}
    done = subprocess.run([str(BIN / "chronicle"), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_for(url: str, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not answer {url} within {seconds:.0f} s")


@contextmanager
def replicas(url: str, count: int, logs: Path) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    env = {**os.environ, **MANY_CLIENTS_ONE_ADDRESS, "CHRONICLE_DATABASE_URL": url}
    try:
        for i in range(1, count + 1):
            port = free_port()
            log = (logs / f"replica-{i}.log").open("wb")
            command = [str(BIN / "chronicle"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            started.append(Replica(f"replica {i}", port, process))
        for replica in started:
            wait_for(f"{replica.base}/readyz", replica.name)
        yield started
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in started:
            with suppress(subprocess.TimeoutExpired):
                replica.process.wait(timeout=15)


NGINX_CONF = """
daemon off;
master_process off;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream chronicle {{
        least_conn;
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 33m;
        location / {{
            proxy_pass http://chronicle;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $request_id;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        print("nginx is missing: installing Debian's nginx-light", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        found = "/usr/sbin/nginx"
    return found


@contextmanager
def nginx(ports: list[int], workdir: Path) -> Iterator[str]:
    """nginx (the same settings as deploy/nginx.conf) on a free loopback port in front of `ports`."""
    port = free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    config = workdir / "nginx.conf"
    config.write_text(NGINX_CONF.format(dir=workdir, servers=servers, port=port))
    process = subprocess.Popen([nginx_binary(), "-p", str(workdir), "-c", str(config)])
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", "nginx")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


# --- 1. read-your-write across replicas -------------------------------------------------------------


def read_your_writes(writer: str, reader: str, balancer: str, key: str, count: int) -> list[str]:
    problems = []
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=10) as http:
        for i in range(count):
            slug = f"visible-{i}"
            created = http.post(
                f"{writer}/v1/events", json={**EVENT, "slug": slug, "title": f"Visible {i}"}, headers=auth
            )
            if created.status_code != 201:
                problems.append(f"{slug}: create answered {created.status_code}")
                continue
            for where in (reader, balancer):
                seen = http.get(f"{where}/v1/events/{slug}")
                if seen.status_code != 200 or seen.headers.get("etag") != created.headers.get("etag"):
                    problems.append(f"{slug}: {where} answered {seen.status_code} {seen.headers.get('etag')}")
    return problems


# --- 2. SIGKILL under load -------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # seconds since the start
    kind: str  # "read" or "write"
    status: int  # 0: no answer (transport error)
    seconds: float
    slug: str = ""


@dataclass
class Load:
    balancer: str
    key: str
    started: float = field(default_factory=time.monotonic)
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def client(self, number: int) -> None:
        auth = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.balancer, timeout=30) as http:
            i = 0
            while not self.stop.is_set():
                i += 1
                write = i % 4 == 0  # one write for three reads
                slug = f"load-{number}-{i}"
                began = time.monotonic()
                try:
                    if write:
                        body = {**EVENT, "slug": slug, "title": f"Load {number} {i}"}
                        status = http.post("/v1/events", json=body, headers=auth).status_code
                    else:
                        status = http.get("/v1/events", params={"year": 1929, "limit": 5}).status_code
                except httpx.HTTPError:
                    status = 0
                done = time.monotonic()
                with self.lock:
                    kind = "write" if write else "read"
                    self.outcomes.append(
                        Outcome(began - self.started, kind, status, done - began, slug if write else "")
                    )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report_rows(outcomes: list[Outcome], killed_at: float) -> list[str]:
    windows = {  # [from, to) in seconds since the start
        "before the kill": (float("-inf"), killed_at - 0.5),
        "kill +- 0.5 s": (killed_at - 0.5, killed_at + 0.5),
        "after the kill": (killed_at + 0.5, float("inf")),
    }
    rows = []
    for name, (start, end) in windows.items():
        chosen = [o for o in outcomes if start <= o.at < end]
        good = [o for o in chosen if o.status in (200, 201)]
        failed = len(chosen) - len(good)
        latencies = [o.seconds * 1000 for o in good]
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        rows.append(f"| {name} | {len(chosen):,} | {failed} | {p50:.1f} | {p99:.1f} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CHRONICLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--visibility-writes", type=int, default=50)
    args = parser.parse_args()

    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chronicle-replicas-") as tmp, throwaway_database(args.postgres_url) as url:
        work = Path(tmp)
        chronicle("db", "seed", url=url)
        key = chronicle("keys", "create", "--name", "replicas", "--scope", "write", url=url).strip()
        with replicas(url, 3, work) as running, nginx([r.port for r in running], work) as balancer:
            one, two, three = running
            problems = read_your_writes(one.base, two.base, balancer, key, args.visibility_writes)
            failures += problems
            print(f"read-your-write: {args.visibility_writes} events created through replica 1, each read at once "
                  f"through replica 2 and nginx: {len(problems)} missing or stale")  # fmt: skip

            load = Load(balancer, key)
            clients = [threading.Thread(target=load.client, args=(n,)) for n in range(args.clients)]
            for client in clients:
                client.start()
            time.sleep(args.seconds / 3)
            killed_at = time.monotonic() - load.started
            os.kill(two.process.pid, signal.SIGKILL)
            two.process.wait()
            time.sleep(args.seconds * 2 / 3)
            load.stop.set()
            for client in clients:
                client.join()

            acknowledged = [o.slug for o in load.outcomes if o.kind == "write" and o.status == 201]
            lost = []
            with httpx.Client(base_url=three.base, timeout=10) as http:
                for slug in acknowledged:
                    if http.get(f"/v1/events/{slug}").status_code != 200:
                        lost.append(slug)
            statuses: dict[str, int] = {}
            for o in load.outcomes:
                label = f"{o.kind} {o.status or 'no answer'}"
                statuses[label] = statuses.get(label, 0) + 1
            survivors_ok = all(httpx.get(f"{r.base}/readyz", timeout=5).status_code == 200 for r in (one, three))
            print(f"\nSIGKILL of replica 2 at {killed_at:.1f} s of {args.seconds:.0f} s, {args.clients} clients "
                  "(3 reads : 1 write) through nginx:\n")  # fmt: skip
            print("| window | requests | failed | p50 ms | p99 ms |")
            print("|---|---:|---:|---:|---:|")
            for row in report_rows(load.outcomes, killed_at):
                print(row)
            print(f"\nanswers: {json.dumps(dict(sorted(statuses.items())))}")
            print(f"acknowledged writes: {len(acknowledged):,}; lost: {len(lost)}; "
                  f"replicas 1 and 3 ready after: {survivors_ok}")  # fmt: skip
            if lost:
                failures.append(f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}")
            if not survivors_ok:
                failures.append("a surviving replica is not ready")
            after = [o for o in load.outcomes if o.at >= killed_at + 6]  # past nginx's fail_timeout
            if any(o.status not in (200, 201) for o in after):
                failures.append("requests still failed after the dead replica was taken out of rotation")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
