"""The benchmark harness compares like with like: the ceilings return the records Chronicle returns."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import run

pytestmark = pytest.mark.sqlite_only  # the benchmark's ceilings read the SQLite file with sqlite3


def slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["items"]]


def test_the_ceilings_replay_chronicles_sql_and_return_the_same_records(
    seeded_url: str, client: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Path(seeded_url.removeprefix("sqlite:///"))
    work = run.build_workload(database)
    statements = tmp_path / "statements.json"
    statements.write_text(json.dumps(work.statements))
    monkeypatch.setenv("BENCH_DATABASE", str(database))
    monkeypatch.setenv("BENCH_STATEMENTS", str(statements))
    ceilings = importlib.reload(importlib.import_module("bench.ceilings"))

    for query in ("Q1", "Q2", "Q3", "Q4", "Q6"):
        ours = client.get(work.chronicle[query])
        assert ours.status_code == 200, query
        theirs = json.loads(ceilings.answer(work.ceiling[query]))
        assert slugs(theirs)[: len(slugs(ours.json()))] == slugs(ours.json()), query
    assert slugs(client.get(work.chronicle["Q1"]).json()), "1929 has events in the seed data"
    event = client.get(work.chronicle["Q5"]).json()
    detail = json.loads(ceilings.answer(work.ceiling["Q5"]))
    people = next(rows for rows in detail["more"] if rows and "role" in rows[0] and "name" in rows[0])
    assert {p["slug"] for p in people} <= {p["slug"] for p in event["people"]} | {p["slug"] for p in event["places"]}
