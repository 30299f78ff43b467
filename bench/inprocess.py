"""CPU per request of Chronicle's ASGI app called in process, against a baseline commit: a steadier
before/after than `run.py --quick` on a noisy machine (no sockets, no load generator, no uvicorn).

    .venv/bin/python bench/inprocess.py --baseline d5c562f [--rounds 5] [--requests 2000]

Each round runs this checkout's app and the baseline's (a git work tree under bench/data/, on its own
generated database, as `run.py --baseline` does) in fresh processes, one after the other, over the
issue-3 queries on 100k events; each process answers every query `--requests` times after a warm-up
and reports process CPU µs per request. Prints the medians and the ratios new/baseline. What it leaves
out - the HTTP server, the event loop under load - costs the same for both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import BIN, DATA, ROOT, build_workload, checkout, ensure_database


def measure(database: str, paths: list[str], requests: int) -> dict[str, float]:
    """CPU µs per request of each path, answered by create_app() of the importable `app` package."""
    from app.config import Settings
    from app.main import create_app

    application = create_app(Settings(database_url=f"sqlite:///{database}"))

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: MutableMapping[str, Any]) -> None:
        return None

    async def run() -> dict[str, float]:
        found = {}
        async with application.router.lifespan_context(application):
            for path in paths:
                route, _, query = path.partition("?")
                scope = {
                    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                    "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                    "root_path": "", "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
                    "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
                }  # fmt: skip
                for _ in range(200):
                    await application(scope, receive, send)
                started = time.process_time()
                for _ in range(requests):
                    await application(scope, receive, send)
                found[path] = (time.process_time() - started) / requests * 1e6
        return found

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, metavar="GIT_REF")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--worker", nargs=3, metavar=("DATABASE", "PATHS_JSON", "REQUESTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # inside a measuring process: `app` comes from the working directory's code
        sys.path.insert(0, os.getcwd())
        database, paths, requests = args.worker
        print(json.dumps(measure(database, json.loads(paths), int(requests))))
        return
    tree = checkout(args.baseline)
    databases = {"new": ensure_database("100k"), "baseline": ensure_database("100k", tree)}
    urls = build_workload(databases["new"]).chronicle
    paths = list(urls.values())
    results: dict[str, list[dict[str, float]]] = {"new": [], "baseline": []}
    for round_number in range(args.rounds):
        for name in ("new", "baseline") if round_number % 2 == 0 else ("baseline", "new"):
            cwd = ROOT if name == "new" else tree
            command = [str(BIN / "python"), __file__, "--baseline", "-", "--worker", str(databases[name]),
                       json.dumps(paths), str(args.requests)]  # fmt: skip
            output = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout
            results[name].append(json.loads(output.splitlines()[-1]))
            print(f"round {round_number + 1} {name:8} " + " ".join(f"{v:6.0f}" for v in results[name][-1].values()))
    print(f"\n| query | new µs | baseline ({args.baseline}) µs | new / baseline |\n|---|---|---|---|")
    for query, path in urls.items():
        new = statistics.median(r[path] for r in results["new"])
        old = statistics.median(r[path] for r in results["baseline"])
        print(f"| {query} | {new:,.0f} | {old:,.0f} | {new / old:.2f}× |")
    print(f"\nmedians of {args.rounds} alternating rounds, {args.requests} requests per query; databases in {DATA}")


if __name__ == "__main__":
    main()
