"""Migrations, the seed data and its loader: idempotent, validated first, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from app.cli import SEED_FILE, main
from app.db import make_engine, make_sessionmaker, read_connection
from app.loader import LoadError, load_records, read_file
from app.migrate import downgrade, upgrade
from app.models import Base, Record
from app.queries.text import fts_query
from app.record_types.event.queries import EventFilters, list_events
from app.registry import managed_by_models
from tests.conftest import ENGINE, database_url, load, make_database, run_sql


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names()) | set(inspect(connection).get_view_names())
    engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    url = make_database(tmp_path / "m.sqlite3", seed=False)
    assert {"records", "events", "people", "places", "works", "sources", "citations"} <= table_names(url)
    assert {"events_fts", "people_fts", "places_fts", "works_fts", "places_rtree"} <= table_names(url)
    downgrade(url, "base")
    assert table_names(url) <= {"alembic_version"}
    upgrade(url)
    assert "events" in table_names(url)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(make_database(tmp_path / "m.sqlite3", seed=False))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": managed_by_models})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(make_database(tmp_path / "m.sqlite3", seed=False))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def count_records(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(Record)).scalar_one())
    engine.dispose()
    return total


def state(url: str) -> list[object]:
    """What a write would move: every record's revision and time, the revisions, the data version."""
    return [
        run_sql(url, "SELECT id, revision, updated_at, content_hash FROM records ORDER BY id"),
        run_sql(url, "SELECT count(*) FROM revisions"),
        run_sql(url, "SELECT version, changed_at FROM data_version"),
    ]


def test_seed_twice_changes_nothing(tmp_path: Path) -> None:
    url = make_database(tmp_path / "s.sqlite3")
    before = (tmp_path / "s.sqlite3").read_bytes() if ENGINE == "sqlite" else b""
    before_state = state(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        summary = load_records(session, read_file(SEED_FILE))
    engine.dispose()
    assert (summary.created, summary.updated) == ([], [])
    assert summary.unchanged == count_records(url)
    assert state(url) == before_state
    if ENGINE == "sqlite":  # not one byte of the file
        assert (tmp_path / "s.sqlite3").read_bytes() == before


def test_a_changed_record_is_rewritten_with_its_links_and_a_new_revision(tmp_path: Path) -> None:
    url = make_database(tmp_path / "c.sqlite3")
    records = read_file(SEED_FILE)
    event = next(r for r in records if r["type"] == "event" and len(r.get("people", [])) > 1)
    original_title = event["title"]
    event["title"] = "A corrected title"
    event["people"] = event["people"][:1]
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        summary = load_records(session, records)
    engine.dispose()
    assert (summary.created, summary.updated) == ([], [f"event/{event['slug']}"])
    [(title, revision, people)] = run_sql(
        url,
        "SELECT e.title, r.revision, (SELECT count(*) FROM event_people WHERE event_id = e.id) "
        "FROM events e JOIN records r ON r.id = e.id WHERE r.slug = :slug",
        {"slug": event["slug"]},
    )
    assert (title, revision, people) == ("A corrected title", 2, 1)
    db = read_connection(url)  # the full-text index followed, by trigger

    def matching(text: str) -> int:
        filters = EventFilters(q=fts_query(text))
        return list_events(db, filters=filters, limit=10, cursor=None, sort="date", count_cap=100).total.value

    assert matching("corrected") == 1
    assert matching(f'"{original_title}"') == 0
    db.close()


def test_a_place_may_come_before_its_parent_in_the_input(tmp_path: Path) -> None:
    url = make_database(tmp_path / "p.sqlite3", seed=False)
    source = {"type": "source", "slug": "s", "title": "S", "kind": "book"}
    child = {"type": "place", "slug": "town", "name": "Town", "kind": "city", "parent": "land",
             "citations": [{"source": "s"}]}  # fmt: skip
    parent = {"type": "place", "slug": "land", "name": "Land", "kind": "country", "citations": [{"source": "s"}]}
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        assert len(load_records(session, [source, child, parent]).created) == 3
    engine.dispose()
    query = "SELECT p.name FROM places c JOIN places p ON p.id = c.parent_id WHERE c.name = 'Town'"
    assert [tuple(row) for row in run_sql(url, query)] == [("Land",)]


def test_seed_data_meets_the_brief() -> None:
    records = json.loads(SEED_FILE.read_text())
    counts = {kind: sum(r["type"] == kind for r in records) for kind in ("event", "person", "place", "work")}
    assert counts["event"] >= 18 and counts["person"] >= 6 and counts["place"] >= 15 and counts["work"] >= 5
    assert all(r.get("citations") for r in records if r["type"] != "source")
    by_slug = {(r["type"], r["slug"]): r for r in records}
    # Julian dates are recorded as Julian.
    assert by_slug[("event", "october-revolution")]["date"] == {"edtf": "1917-10-25", "calendar": "julian"}
    # QIDs marked "check" in the research notes are not shipped.
    assert "wikidata" not in by_slug[("person", "robert-service")].get("identifiers", {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rs: rs[-1].update(date="1929-13"), "date: '1929-13'"),
        (lambda rs: rs[-1].update(colour="red"), "colour: Extra inputs are not permitted"),
        (lambda rs: rs[-1].update(people=[{"person": "nobody"}]), "people[0].person: no person with slug 'nobody'"),
        (lambda rs: rs[-1].update(citations=[]), "citations: List should have at least 1 item"),
        (lambda rs: rs.append(dict(rs[-1])), "slug: duplicate of record"),
    ],
)
def test_a_bad_file_names_the_record_and_field_and_writes_nothing(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    records = json.loads(SEED_FILE.read_text())
    records.sort(key=lambda r: r["type"] != "event")  # an event first, then the rest
    records.reverse()  # ... so that the last record is an event
    change(records)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records))
    url = make_database(tmp_path / "b.sqlite3", seed=False)
    engine = make_engine(url)
    with pytest.raises(LoadError) as raised, make_sessionmaker(engine).begin() as session:
        load_records(session, read_file(bad))
    engine.dispose()
    assert any(message in str(error) and error.index == len(records) - 1 for error in raised.value.errors), (
        raised.value.errors
    )
    assert count_records(url) == 0


def test_cli_seed_reports_errors_and_exits_non_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    monkeypatch.setenv("CHRONICLE_DATABASE_URL", make_database(tmp_path / "cli.sqlite3", seed=False))
    get_settings.cache_clear()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    runner = CliRunner()
    result = runner.invoke(main, ["db", "seed", str(bad)])
    assert result.exit_code == 1 and "not valid JSON" in result.output
    result = runner.invoke(main, ["db", "seed"])
    assert result.exit_code == 0 and "created" in result.output
    result = runner.invoke(main, ["db", "seed"])
    assert result.exit_code == 0 and "0 created, 0 updated" in result.output
    get_settings.cache_clear()


def test_a_record_cannot_be_marked_deleted_while_its_row_remains(tmp_path: Path) -> None:
    """List queries rely on it: the type tables hold live records only (app/models.py)."""
    url = make_database(tmp_path / "d.sqlite3")
    [(record_id,)] = run_sql(url, "SELECT id FROM records WHERE slug = 'october-revolution'")
    mark_deleted = "UPDATE records SET deleted_at = '2026-11-24 00:00:00+00:00' WHERE id = :id"
    with pytest.raises(DBAPIError, match="must leave its own table"):
        run_sql(url, mark_deleted, {"id": record_id})
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE part_of_id = :id"), {"id": record_id})
        connection.execute(text("DELETE FROM events WHERE id = :id"), {"id": record_id})
        connection.execute(text(mark_deleted), {"id": record_id})
    engine.dispose()


# Every stored date (app.models.date_columns): table, column prefix.
STORED_DATES = [("events", "date"), ("people", "born"), ("people", "died"), ("works", "published"),
                ("sources", "published")]  # fmt: skip


def recorded_days(url: str) -> dict[str, list[tuple[object, ...]]]:
    return {
        f"{table}.{prefix}": [
            tuple(row)
            for row in run_sql(
                url,
                f"SELECT r.slug, t.{prefix}_calendar, t.{prefix}_recorded_month, t.{prefix}_recorded_day "
                f"FROM {table} t JOIN records r ON r.id = t.id ORDER BY r.slug",
            )
        ]
        for table, prefix in STORED_DATES
    }


def seed_before_organisations() -> list[dict[str, Any]]:
    """The seed as a database before migrations 0013 to 0015 can hold it: no organisations, nor links
    to them, nor names in other languages of works, events and sources."""
    newer = {"person": ("memberships",), "event": ("organisations", "names"), "work": ("names",), "source": ("names",)}
    return [
        {k: v for k, v in record.items() if k not in newer.get(record["type"], ())}
        for record in read_file(SEED_FILE) if record["type"] != "organisation"
    ]  # fmt: skip


def test_migration_0010_keeps_recorded_days_for_julian_dates_only(tmp_path: Path) -> None:
    url = database_url(tmp_path / "j.sqlite3")
    upgrade(url, "0009")
    source = "wikipedia-october-revolution"
    gregorian_25_october = [
        {"type": "source", "slug": "test-source-25-october", "title": "Test source", "kind": "dataset",
         "published": "2001-10-25"},
        {"type": "event", "slug": "test-gregorian-25-october", "title": "A Gregorian 25 October", "kind": "test",
         "date": "1929-10-25", "citations": [{"source": source}]},
        {"type": "person", "slug": "test-person-25-october", "name": "Test Person", "born": "1881-10-25",
         "died": "1973-10-25", "citations": [{"source": source}]},
        {"type": "work", "slug": "test-work-25-october", "title": "Test Work", "kind": "book",
         "published": "1930-10-25", "citations": [{"source": source}]},
    ]  # fmt: skip
    load(url, [*seed_before_organisations(), *gregorian_25_october])
    for table, prefix in STORED_DATES:  # as the code before 0010 stored them: every day, whatever its calendar
        run_sql(
            url,
            f"UPDATE {table} SET {prefix}_recorded_month = {prefix}_month, {prefix}_recorded_day = {prefix}_day "
            f"WHERE {prefix}_calendar <> 'julian'",
        )
    old = recorded_days(url)
    assert ("test-gregorian-25-october", "gregorian", 10, 25) in old["events.date"]
    [(version_before,)] = run_sql(url, "SELECT version FROM data_version")

    upgrade(url)
    new = recorded_days(url)
    for column, rows in new.items():
        assert all((month, day) == (None, None) for _, calendar, month, day in rows if calendar != "julian"), column
    assert ("october-revolution", "julian", 10, 25) in new["events.date"]
    assert ("leon-trotsky", "julian", 10, 26) in new["people.born"]
    assert ("test-gregorian-25-october", "gregorian", None, None) in new["events.date"]
    [(version_after,)] = run_sql(url, "SELECT version FROM data_version")
    assert version_after > version_before  # lists changed: their ETags must too
    db = read_connection(url)
    filters = EventFilters(month=10, day=25, recorded_calendar=True)
    page = list_events(db, filters=filters, limit=10, cursor=None, sort="date", count_cap=100)
    db.close()
    assert [row[0] for row in page.rows] == ["october-revolution"]

    downgrade(url, "0009")
    assert recorded_days(url) == old
    upgrade(url)
    assert recorded_days(url) == new
