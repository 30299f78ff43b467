"""Import N minimal NDJSON records into a live server, and watch the server's memory.

    .venv/bin/python bench/import_memory.py                  # 60,000 events, ~120 bytes each (~7 MB)
    .venv/bin/python bench/import_memory.py --records 200000 --kind source --keep

Writes an NDJSON file of N minimal valid records (events citing a source of data/seed.json, or
sources), starts `chronicle serve` (one worker) on a fresh seeded SQLite database in a temporary
directory, creates a write key against it (`chronicle keys create`), then POSTs the file to
`/v1/import` three times: a dry run, the import, and a second dry run (every record now unchanged).
The server's VmRSS is sampled every 50 ms during each request; the table gives RSS before the
request, its peak (the larger of the samples and the kernel's VmHWM, reset before each request where
/proc/PID/clear_refs allows), RSS once the answer is in, and after --idle seconds of quiet: memory
not given back to the system shows as "after idle" above "before".

The bound (issue: imports in bounded memory): a dry run of 60,000 records grows the server by at most
100 MB at its peak, and what it held is given back. Measured (2 CPUs, SQLite): before, when every
prepared record was held until the write and a dry run's exception kept them after it, +469 MB at the
peak and +422 MB kept (200,000 records: +1,556 MB); with the import indexed in pass 1 and written in
batches in pass 2 (app.loader), +24 MB and +7 MB (200,000 records: +66 MB, the index's ~300 bytes a
record, and +17 MB kept).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import BIN, Server

SOURCE = "wikipedia-leon-trotsky"  # a source of data/seed.json, which `chronicle serve` loads into a new database
SAMPLE_SECONDS = 0.05


def write_records(path: Path, count: int, kind: str) -> int:
    """Write `count` minimal valid records of `kind` as NDJSON to `path`; returns the file's size."""
    with path.open("wb") as file:
        for i in range(count):
            if kind == "event":
                record = {
                    "type": "event", "slug": f"event-{i:06d}", "title": f"Event {i}", "kind": "war",
                    "date": f"{1000 + i % 1000}", "citations": [{"source": SOURCE}],
                }  # fmt: skip
            else:
                record = {
                    "type": "source", "slug": f"source-{i:06d}", "title": f"Source {i}", "kind": "article",
                    "url": f"https://example.org/{i:06d}",
                }  # fmt: skip
            file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
    return path.stat().st_size


def status_kb(pid: int, *keys: str) -> list[int]:
    """The named fields of /proc/PID/status, in kB (0 where absent)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = [re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE) for key in keys]
    return [int(match.group(1)) if match else 0 for match in found]


def rss_mb(pid: int) -> float:
    return status_kb(pid, "VmRSS")[0] / 1024


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0, our own process); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Phase:
    name: str
    status: int
    seconds: float
    answer: dict[str, object]
    answer_bytes: int
    before: float  # MB
    peak: float
    after: float
    idle: float
    anon_idle: float


def post_import(server: Server, key: str, body: bytes, *, dry_run: bool, name: str, idle: float) -> Phase:
    """POST `body` to /v1/import, sampling the server's RSS; then wait `idle` seconds and read it again."""
    assert server.process is not None
    pid = server.process.pid
    before = rss_mb(pid)
    hwm_ok = reset_peak(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    request = urllib.request.Request(
        server.url(f"/v1/import?dry_run={'true' if dry_run else 'false'}"),
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {key}"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = rss_mb(pid)
    top = max(peak[0], after)
    if hwm_ok:
        top = max(top, status_kb(pid, "VmHWM")[0] / 1024)
    time.sleep(idle)
    idle_rss, idle_anon = (kb / 1024 for kb in status_kb(pid, "VmRSS", "RssAnon"))
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {"raw": payload[:200].decode(errors="replace")}
    return Phase(name, status, seconds, answer, len(payload), before, top, after, idle_rss, idle_anon)


def counts(answer: dict[str, object]) -> str:
    """created / updated / unchanged / skipped of an answer, or its problem's title."""
    if "created" not in answer:
        return str(answer.get("title") or answer.get("detail") or answer)[:40]
    created, updated, unchanged, skipped = (answer.get(k) for k in ("created", "updated", "unchanged", "skipped"))
    listed = [len(v) if isinstance(v, list) else 0 for v in (created, updated, skipped)]
    return f"{listed[0]:,} / {listed[1]:,} / {unchanged:,} / {listed[2]:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=60_000, help="records in the NDJSON file (default 60,000)")
    parser.add_argument("--kind", choices=("event", "source"), default="event", help="the records' type")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of quiet before 'after idle' (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, file, log)")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="chronicle-import-memory-"))
    database = directory / "chronicle.sqlite3"
    env = {"CHRONICLE_DATABASE_URL": f"sqlite:///{database}"}
    input_file = directory / "records.ndjson"
    size = write_records(input_file, args.records, args.kind)
    body = input_file.read_bytes()
    server = Server("Chronicle", [str(BIN / "chronicle"), "serve", "--port", "{port}"], env, "/healthz", {})
    try:
        server.start()  # creates, migrates and seeds the database
        created = subprocess.run(
            [str(BIN / "chronicle"), "keys", "create", "--name", "bench", "--scope", "write"],
            env={**os.environ, **env}, capture_output=True, check=True, text=True,
        )  # fmt: skip
        key = created.stdout.strip().splitlines()[-1]
        time.sleep(args.idle)  # let the start-up settle
        assert server.process is not None
        print(
            f"{args.records:,} {args.kind} records, {size / 1e6:.1f} MB of NDJSON ({size / args.records:.0f} bytes "
            f"a record) · server at rest: RSS {rss_mb(server.process.pid):.0f} MB · {directory}"
        )
        print(
            "| request | status | seconds | created / updated / unchanged / skipped | answer KB | RSS before "
            "| peak | after answer | after idle | peak growth | kept (idle - before) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, dry_run in (("dry run", True), ("import", False), ("dry run again", True)):
            phase = post_import(server, key, body, dry_run=dry_run, name=name, idle=args.idle)
            print(
                f"| {phase.name} | {phase.status} | {phase.seconds:.1f} | {counts(phase.answer)} "
                f"| {phase.answer_bytes / 1024:,.0f} | {phase.before:.0f} MB | {phase.peak:.0f} MB "
                f"| {phase.after:.0f} MB | {phase.idle:.0f} MB | +{phase.peak - phase.before:.0f} MB "
                f"| {phase.idle - phase.before:+.0f} MB |",
                flush=True,
            )
    finally:
        server.stop()
        if args.keep:
            print(f"kept: {directory}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(directory)


if __name__ == "__main__":
    main()
