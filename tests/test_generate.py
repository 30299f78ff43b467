"""The benchmark generator: deterministic, realistic, and loaded through the product's loader."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.generate import FULL_TEXT_ROWS, GEONAMES_SOURCE, SYNTHETIC_SOURCE, generate

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
