"""Imports in bounded memory (app.loader, app.importer): an import is validated into an index, checked,
then read again and written type by type in batches - here, batches of a few records, so that every
reference crosses a batch boundary. What is written must be what one batch writes; what a dry run
reports, what the import does; and what is held, the index and one batch."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import SEED_FILE
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.importer import index_stream
from app.loader import ImportIndex, LoadError, LoadOptions, LoadSummary, Prepared, load_index, load_records, read_file
from tests.conftest import ENGINE, LiveServer, make_database, run_sql
from tests.test_editing_api import make_keys
from tests.test_export import cli_export

CITE = [{"source": "a-source"}]
TEST_OPTIONS = LoadOptions(author="test")


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def load(
    url: str, records: list[dict[str, Any]] | bytes, *, batch_size: int = 2, dry_run: bool = False,
    options: LoadOptions = TEST_OPTIONS,
) -> LoadSummary:  # fmt: skip
    """Import `records` (NDJSON, or a JSON array given as bytes) as POST /v1/import does, in batches."""
    body = records if isinstance(records, bytes) else ndjson(records)
    index = index_stream(io.BytesIO(body), ndjson=not isinstance(records, bytes))
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            return load_index(session, index, options, dry_run=dry_run, batch_size=batch_size)
    finally:
        engine.dispose()


def source(slug: str, **fields: Any) -> dict[str, Any]:
    return {"type": "source", "slug": slug, "title": slug.title(), "kind": "book", **fields}


def place(slug: str, **fields: Any) -> dict[str, Any]:
    return {"type": "place", "slug": slug, "name": slug.title(), "kind": "city", "citations": CITE, **fields}


def event(slug: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "slug": slug, "title": slug.title(), "kind": "war", "date": "1900", "citations": CITE,
            **fields}  # fmt: skip


def foreign_keys_hold(url: str) -> None:
    if ENGINE == "sqlite":
        assert run_sql(url, "PRAGMA foreign_key_check") == []


# Every reference points forward, across batches (of 2) and types; places and events point to later
# records of their own type; a source cites a later source.
FORWARD = [
    event("e1", part_of="e5", places=[{"place": "p3"}], people=[{"person": "someone"}],
          citations=[{"source": "a-source", "page": "1"}, {"source": "s1"}]),
    event("e2", part_of="e1"),
    place("p1", parent="p3"),
    place("p2"),
    place("p3", parent="p4", names=[{"name": "Old P3"}]),
    source("s1", citations=[{"source": "a-source", "page": "7"}]),
    event("e5", works=[{"work": "w1"}]),
    {"type": "person", "slug": "someone", "name": "Some One", "birth_place": "p1", "citations": CITE},
    {"type": "work", "slug": "w1", "title": "W", "kind": "book", "creators": [{"person": "someone"}],
     "citations": [{"source": "s1"}]},
    place("p4"),
    source("a-source"),
]  # fmt: skip


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1000])
def test_forward_references_across_batches_and_types(tmp_path: Path, batch_size: int) -> None:
    url = make_database(tmp_path / "f.sqlite3", seed=False)
    summary = load(url, FORWARD, batch_size=batch_size)
    assert list(summary.created) == [f"{r['type']}/{r['slug']}" for r in FORWARD]
    foreign_keys_hold(url)
    parents = run_sql(url, "SELECT c.slug, p.slug FROM places x JOIN records c ON c.id = x.id "
                           "JOIN records p ON p.id = x.parent_id ORDER BY c.slug")  # fmt: skip
    assert [tuple(row) for row in parents] == [("p1", "p3"), ("p3", "p4")]
    parts = run_sql(url, "SELECT c.slug, p.slug FROM events x JOIN records c ON c.id = x.id "
                         "JOIN records p ON p.id = x.part_of_id ORDER BY c.slug")  # fmt: skip
    assert [tuple(row) for row in parts] == [("e1", "e5"), ("e2", "e1")]
    # Written as one batch writes it: the same export, the same history.
    reference = make_database(tmp_path / "r.sqlite3", seed=False)
    engine = make_engine(reference)
    with make_sessionmaker(engine).begin() as session:
        load_records(session, FORWARD)
    engine.dispose()
    assert cli_export(url) == cli_export(reference)
    history = "SELECT r.slug, v.revision, v.action, v.document FROM revisions v JOIN records r ON r.id = v.record_id"
    assert sorted(map(tuple, run_sql(url, history))) == sorted(map(tuple, run_sql(reference, history)))
    assert load(url, FORWARD, batch_size=batch_size).unchanged == len(FORWARD)


def test_the_seed_in_reverse_in_batches_of_three_is_the_seed(tmp_path: Path) -> None:
    """Every reference of the seed pointing forward: the export is the seed's, byte for byte."""
    url = make_database(tmp_path / "s.sqlite3", seed=False)
    records = list(reversed(read_file(SEED_FILE)))
    assert len(load(url, json.dumps(records).encode(), batch_size=3).created) == len(records)
    foreign_keys_hold(url)
    assert cli_export(url) == cli_export(make_database(tmp_path / "seeded.sqlite3"))


def test_changed_records_take_parents_written_in_later_batches(tmp_path: Path) -> None:
    url = make_database(tmp_path / "c.sqlite3", seed=False)
    load(url, [source("a-source"), place("p1"), place("p2"), event("e1"), event("e2")])
    # p1 and e1 change to point at records that come later (new ones), in later batches.
    again = [source("a-source"), place("p1", parent="p9"), place("p2"), place("p8"), place("p9"),
             event("e1", part_of="e9"), event("e2"), event("e8"), event("e9")]  # fmt: skip
    dry = load(url, again, batch_size=1, dry_run=True)
    done = load(url, again, batch_size=1)
    assert dry == done and list(done.updated) == ["place/p1", "event/e1"]
    assert list(done.created) == ["place/p8", "place/p9", "event/e8", "event/e9"] and done.unchanged == 3
    foreign_keys_hold(url)
    rows = run_sql(url, "SELECT c.slug, p.slug FROM places x JOIN records c ON c.id = x.id "
                        "JOIN records p ON p.id = x.parent_id")  # fmt: skip
    assert [tuple(row) for row in rows] == [("p1", "p9")]


def test_a_cycle_across_batches_names_each_record_in_it(tmp_path: Path) -> None:
    url = make_database(tmp_path / "y.sqlite3", seed=False)
    filler = [place(f"filler-{i}") for i in range(10)]
    records = [
        source("a-source"), place("c1", parent="c2"), *filler[:5], place("c2", parent="c3"),
        place("tail", parent="c1"), *filler[5:], place("c3", parent="c1"), place("fine", parent="filler-1"),
    ]  # fmt: skip
    with pytest.raises(LoadError) as refused:
        load(url, records)
    assert [(e.index, e.record, e.field, e.reason) for e in refused.value.errors] == [
        (1, "place 'c1'", "parent", "forms a cycle through 'c1'"),
        (7, "place 'c2'", "parent", "forms a cycle through 'c2'"),
        (8, "place 'tail'", "parent", "forms a cycle through 'c1'"),
        (14, "place 'c3'", "parent", "forms a cycle through 'c3'"),
    ]
    assert run_sql(url, "SELECT count(*) FROM records")[0][0] == 0


def test_a_duplicate_far_from_the_first_is_found(tmp_path: Path) -> None:
    url = make_database(tmp_path / "d.sqlite3")
    records = [event(f"ev-{i}", citations=[{"source": "the-exile-of-leon-trotsky"}]) for i in range(3000)]
    records.append({**records[2], "title": "Again"})
    with pytest.raises(LoadError) as refused:
        load(url, records, batch_size=500)
    assert [(e.index, e.field, e.reason) for e in refused.value.errors] == [(3000, "slug", "duplicate of record 2")]


def test_error_lists_are_capped_and_say_how_many_more(tmp_path: Path) -> None:
    url = make_database(tmp_path / "e.sqlite3")
    records = [event(f"ev-{i}", citations=[{"source": f"missing-{i}"}]) for i in range(1500)]
    with pytest.raises(LoadError) as refused:
        load(url, records, batch_size=100)
    assert len(refused.value.errors) == 1000 and refused.value.more == 500 and refused.value.total == 1500
    assert refused.value.errors[0].reason == "no source with slug 'missing-0' in the input or the database"
    assert str(refused.value).startswith("1500 error(s) in the input") and "... and 1400 more" in str(refused.value)


def test_an_input_changed_between_the_passes_is_refused(tmp_path: Path) -> None:
    url = make_database(tmp_path / "i.sqlite3")
    records = [event(f"ev-{i}", citations=[{"source": "the-exile-of-leon-trotsky"}]) for i in range(10)]
    path = tmp_path / "input.ndjson"
    path.write_bytes(ndjson(records))
    before = run_sql(url, "SELECT count(*) FROM records")
    for changed in (ndjson([*records[:7], {**records[7], "title": "Changed"}, *records[8:]]), ndjson(records[:6])):
        with path.open("rb") as stream:
            index = index_stream(stream, ndjson=True)
            path.write_bytes(changed)  # between pass 1 (outside the lock) and pass 2
            engine = make_engine(url)
            with pytest.raises(LoadError) as refused, make_sessionmaker(engine).begin() as session:
                load_index(session, index, LoadOptions(), batch_size=3)
            engine.dispose()
        assert "the input changed while it was loaded" in str(refused.value)
        assert run_sql(url, "SELECT count(*) FROM records") == before
        path.write_bytes(ndjson(records))


def test_a_dry_run_reports_what_the_import_does(tmp_path: Path) -> None:
    url = make_database(tmp_path / "r.sqlite3")
    seed = {(r["type"], r["slug"]): r for r in read_file(SEED_FILE)}
    run_sql(url, "UPDATE records SET edited_at = '2026-12-01 00:00:00+00:00', content_hash = 'x' "
                 "WHERE slug IN ('leon-trotsky', 'berlin')")  # fmt: skip
    records = [
        {**seed["event", "october-revolution"], "title": "Changed"},
        seed["person", "leon-trotsky"],  # edited since: skipped
        event(
            "brand-new",
            citations=[{"source": "the-exile-of-leon-trotsky"}],
            part_of="october-revolution",
            date="1917-11-07",
        ),  # within the October Revolution (25 Oct 1917 O.S.), as a part must be
        seed["place", "berlin"],  # edited since: skipped
        seed["place", "mexico-city"],  # unchanged
    ]
    options = LoadOptions(author="test", on_conflict="skip")
    dry = load(url, records, batch_size=1, dry_run=True, options=options)
    assert (list(dry.created), list(dry.updated), dry.unchanged, list(dry.skipped)) == (
        ["event/brand-new"], ["event/october-revolution"], 1, ["person/leon-trotsky", "place/berlin"],
    )  # fmt: skip
    assert load(url, records, batch_size=1, options=options) == dry
    with pytest.raises(LoadError) as conflict:
        load(url, records, batch_size=1, dry_run=True)  # on_conflict=fail
    assert conflict.value.conflict and [e.index for e in conflict.value.errors] == [1, 3]


def test_an_import_holds_its_index_and_one_batch(tmp_path: Path) -> None:
    """Measured with tracemalloc: the index costs a few hundred bytes a record, and the checks and
    the write (in batches of 500) hold a few MB however many records there are."""
    url = make_database(tmp_path / "m.sqlite3")
    count = 10_000
    body = ndjson([event(f"ev-{i}", citations=[{"source": "the-exile-of-leon-trotsky"}], date=str(1000 + i % 900))
                   for i in range(count)])  # fmt: skip
    engine = make_engine(url)
    tracemalloc.start()
    try:
        index = index_stream(io.BytesIO(body), ndjson=True)
        indexed = tracemalloc.get_traced_memory()[0]
        for dry_run in (True, False):
            tracemalloc.reset_peak()
            with make_sessionmaker(engine).begin() as session:
                summary = load_index(session, index, LoadOptions(), dry_run=dry_run, batch_size=500)
            assert len(summary.created) == count
            peak = tracemalloc.get_traced_memory()[1] - indexed
            assert peak < 12 * 2**20, f"{'dry run' if dry_run else 'import'}: {peak / 2**20:.1f} MB above the index"
    finally:
        tracemalloc.stop()
        engine.dispose()
    assert indexed < 400 * count + 3 * 2**20, f"{indexed / count:.0f} bytes a record"


def test_nothing_of_an_api_import_outlives_its_answer(tmp_path: Path) -> None:
    """No index, no prepared record left once the answer is in - after a dry run, an import, and a
    refused import (a dry run rolled back with an exception held a whole import in reference cycles)."""
    url = make_database(tmp_path / "a.sqlite3")
    key = make_keys(url)["write"]
    records = [event(f"ev-{i}", citations=[{"source": "the-exile-of-leon-trotsky"}]) for i in range(50)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    with LiveServer(Settings(database_url=url)) as base, httpx.Client(base_url=base) as http:
        for query, body, status in [
            ("?dry_run=true", ndjson(records), 200), ("", ndjson(records), 200),
            ("", ndjson([*records, {**records[0], "people": [{"person": "nobody"}]}]), 422),
        ]:  # fmt: skip
            assert http.post(f"/v1/import{query}", content=body, headers=headers).status_code == status
            gc.collect()
            assert [type(o).__name__ for o in gc.get_objects() if isinstance(o, ImportIndex | Prepared)] == []


@pytest.mark.parametrize("edtf", ["1917-10-25", "-0043-03-15", "1929?", "1985/..", "[1927-11-12,1927-11-14]"])
def test_the_loaders_date_values_are_the_models(edtf: str) -> None:
    """The loader's date_values shares its column names between records; the values are app.models'."""
    from app.documents import DateIn
    from app.models import date_values as model_date_values
    from app.record_types import date_values

    for calendar in ("gregorian", "julian"):
        date = DateIn(edtf=edtf, calendar=calendar)
        assert date_values("born", date) == model_date_values("born", date.parsed())
    assert date_values("died", None) == model_date_values("died", None)
