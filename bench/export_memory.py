"""Export every event as NDJSON and as CSV from a live server, and watch the server's memory.

    .venv/bin/python bench/export_memory.py bench/data/events-1M.sqlite3

Starts `chronicle serve` on the database (as shipped), streams `/v1/events?format=ndjson` and
`?format=csv` to /dev/null-like counters, samples the server's RSS and RssAnon every 0.1 s, and
prints a table: rows, MB sent, seconds, rows/s, peak RSS and RssAnon (private memory: pages of the
mapped database file do not count in RssAnon, but do in RSS).
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import BIN, Server


def memory_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss, anon = (re.search(rf"{key}:\s+(\d+) kB", status) for key in ("VmRSS", "RssAnon"))
    return (int(rss.group(1)) / 1024 if rss else 0.0), (int(anon.group(1)) / 1024 if anon else 0.0)


def export(server: Server, fmt: str) -> tuple[int, int, float, float, float]:
    """(rows, bytes, seconds, peak RSS MB, peak RssAnon MB) of one export."""
    assert server.process is not None
    pid = server.process.pid
    peaks = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, anon = memory_mb(pid)
            peaks[0], peaks[1] = max(peaks[0], rss), max(peaks[1], anon)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    rows = size = 0
    with urllib.request.urlopen(server.url(f"/v1/events?format={fmt}"), timeout=3600) as response:
        while chunk := response.read(1 << 20):
            size += len(chunk)
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return rows - (fmt == "csv"), size, seconds, peaks[0], peaks[1]  # the CSV header is no event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", type=Path)
    args = parser.parse_args()
    server = Server(
        "Chronicle",
        [str(BIN / "chronicle"), "serve", "--port", "{port}"],
        {"CHRONICLE_DATABASE_URL": f"sqlite:///{args.database.resolve()}"},
        "/v1/events?limit=1",
        {},
    )
    server.start()
    try:
        idle = memory_mb(server.process.pid if server.process else 0)
        print(f"database: {args.database} · server at rest: RSS {idle[0]:.0f} MB, RssAnon {idle[1]:.0f} MB")
        print("| format | rows | MB sent | seconds | rows/s | peak RSS | peak RssAnon |")
        print("|---|---|---|---|---|---|---|")
        for fmt in ("ndjson", "csv"):
            rows, size, seconds, rss, anon = export(server, fmt)
            print(
                f"| {fmt} | {rows:,} | {size / 1e6:,.0f} | {seconds:.0f} | {rows / seconds:,.0f} | {rss:.0f} MB "
                f"| {anon:.0f} MB |",
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
