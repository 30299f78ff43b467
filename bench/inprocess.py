"""CPU per request of Chronicle's ASGI app called in process, against a baseline commit: a steadier
before/after than `run.py --quick` on a noisy machine (no sockets, no load generator, no uvicorn).

    .venv/bin/python bench/inprocess.py --baseline d5c562f [--rounds 5] [--requests 2000]
    .venv/bin/python bench/inprocess.py --baseline d5c562f --instructions   # under valgrind: exact

Each round runs this checkout's app and the baseline's (a git work tree under bench/data/, on its own
generated database, as `run.py --baseline` does) in fresh processes, one after the other, over the
issue-3 queries on 100k events; each process answers every query `--requests` times after a warm-up
and reports process CPU µs per request. Prints the medians and the ratios new/baseline. What it leaves
out - the HTTP server, the event loop under load - costs the same for both.

`--instructions` counts machine instructions per request instead of CPU time, with valgrind's
callgrind (apt `valgrind`): a count does not move with the machine's load or the neighbours' noise,
so a 5 % change is visible in one round, where CPU time on these shared machines moves by ±25 %
between runs of the same code. Only the measured loop is counted: it runs inside `operator.call`, and
callgrind collects only inside that C function (`--toggle-collect`), dumping once per query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    BIN,
    DATA,
    ROOT,
    build_workload,
    checkout,
    ensure_database,
    sqlite_cursor_key,
    with_cursor_key,
)

WARM_UP = 200
# operator.call (C: _operator_call) runs each measured loop: nothing in the app calls it, so callgrind
# counts exactly those loops, and dumps once after each.
CALLGRIND = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=_operator_call",
             "--dump-after=_operator_call"]  # fmt: skip


def measure(database: str, paths: list[str], requests: int) -> dict[str, float]:
    """CPU µs per request of each path, answered by create_app() of the importable `app` package."""
    from app.config import Settings
    from app.main import create_app

    application = create_app(Settings(database_url=f"sqlite:///{database}"))

    def receiver() -> Any:
        """A request's receive, as a server's: the (empty) body once, then nothing until the client
        leaves (never, here)."""
        sent = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        return receive

    async def send(_message: MutableMapping[str, Any]) -> None:
        return None

    loop = asyncio.new_event_loop()
    lifespan = application.router.lifespan_context(application)
    loop.run_until_complete(lifespan.__aenter__())
    found = {}
    try:
        for path in paths:
            route, _, query = path.partition("?")
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                "root_path": "", "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
                "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
            }  # fmt: skip

            def answer(times: int, scope: dict[str, Any] = scope) -> None:
                for _ in range(times):
                    loop.run_until_complete(application(scope, receiver(), send))

            answer(WARM_UP)
            started = time.process_time()
            operator.call(answer, requests)  # the measured loop (see --instructions)
            found[path] = (time.process_time() - started) / requests * 1e6
    finally:
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
    return found


def run_worker(cwd: Path, database: Path, paths: list[str], requests: int, instructions: bool) -> list[float]:
    """One fresh process on the code at `cwd`: CPU µs, or instructions, per request of each path."""
    command = [str(BIN / "python"), __file__, "--baseline", "-", "--worker", str(database), json.dumps(paths),
               str(requests)]  # fmt: skip
    if not instructions:
        output = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout
        return list(json.loads(output.splitlines()[-1]).values())
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        # The same hashes, so the same work, in every run. Under callgrind the program runs ~50x slower,
        # so the event loop's budget (milliseconds of wall time) would send every read off the loop:
        # it is set out of reach, to count the path a read takes on a machine at full speed.
        env = {**os.environ, "PYTHONHASHSEED": "0", "CHRONICLE_LOOP_BUDGET_MS": "1000000"}
        subprocess.run([*CALLGRIND, f"--callgrind-out-file={out}", *command], cwd=cwd, env=env, check=True,
                       capture_output=True)  # fmt: skip
        dumps = sorted(Path(scratch).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = [int(m.group(1)) for p in dumps if (m := re.search(r"^totals: (\d+)", p.read_text(), re.M))]
    if len(totals) != len(paths):
        raise SystemExit(f"expected {len(paths)} callgrind dumps, found {len(totals)}")
    return [total / requests for total in totals]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, metavar="GIT_REF")
    parser.add_argument("--rounds", type=int, help="default 5, or 1 with --instructions")
    parser.add_argument("--requests", type=int, help="per query: default 2000, or 300 with --instructions")
    parser.add_argument("--instructions", action="store_true", help="count instructions under valgrind")
    parser.add_argument("--worker", nargs=3, metavar=("DATABASE", "PATHS_JSON", "REQUESTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # inside a measuring process: `app` comes from the working directory's code
        sys.path.insert(0, os.getcwd())
        database, paths, requests = args.worker
        print(json.dumps(measure(database, json.loads(paths), int(requests))))
        return
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    rounds = args.rounds or (1 if args.instructions else 5)
    requests = args.requests or (300 if args.instructions else 2000)
    unit = "instructions" if args.instructions else "µs"
    tree = checkout(args.baseline)
    databases = {"new": ensure_database("100k"), "baseline": ensure_database("100k", tree)}
    work = build_workload(databases["new"])
    urls = work.chronicle
    paths = {  # Q4's cursor signed with each database's own key (or unsigned, before migration 0011)
        name: list(with_cursor_key(urls, work.q4_cursor, sqlite_cursor_key(database)).values())
        for name, database in databases.items()
    }
    results: dict[str, list[list[float]]] = {"new": [], "baseline": []}
    for round_number in range(rounds):
        for name in ("new", "baseline") if round_number % 2 == 0 else ("baseline", "new"):
            cwd = ROOT if name == "new" else tree
            results[name].append(run_worker(cwd, databases[name], paths[name], requests, args.instructions))
            print(f"round {round_number + 1} {name:8} " + " ".join(f"{v:9,.0f}" for v in results[name][-1]))
    print(f"\n| query | new {unit} | baseline ({args.baseline}) {unit} | new / baseline |\n|---|---|---|---|")
    for index, query in enumerate(urls):
        new = statistics.median(r[index] for r in results["new"])
        old = statistics.median(r[index] for r in results["baseline"])
        print(f"| {query} | {new:,.0f} | {old:,.0f} | {new / old:.3f}× |")
    print(f"\nmedians of {rounds} alternating round(s), {requests} requests per query, {unit} per request; "
          f"databases in {DATA}")  # fmt: skip


if __name__ == "__main__":
    main()
