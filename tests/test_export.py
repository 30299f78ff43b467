"""Export (`chronicle export`, GET /v1/export): every record in the record format, canonical, and a
file that import takes back unchanged - export, import into an empty database, export: the same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from app import registry
from app.cli import SEED_FILE, main
from app.config import get_settings
from app.db import SQLiteReads, make_engine, make_sessionmaker, sqlite_path
from app.documents import canonical_document
from app.export import SessionFetch, record_documents
from app.loader import load_records, read_file
from app.registry import record_adapter
from tests.conftest import load, make_database, serving

Key = tuple[str, str]


def canonical(records: list[Any]) -> dict[Key, dict[str, Any]]:
    documents = (canonical_document(record_adapter.validate_python(raw)) for raw in records)
    return {(document["type"], document["slug"]): document for document in documents}


def parse(body: bytes, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        records: list[dict[str, Any]] = json.loads(body)
        return records
    return [json.loads(line) for line in body.splitlines()]


def by_key(records: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    found = {(record["type"], record["slug"]): record for record in records}
    assert len(found) == len(records)
    return found


def cli_export(url: str, *args: str) -> bytes:
    get_settings.cache_clear()  # the settings are cached per process: read CHRONICLE_DATABASE_URL anew
    try:
        result = CliRunner().invoke(main, ["export", *args], env={"CHRONICLE_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_export_of_the_seed_is_its_records_in_canonical_form(client: httpx.Client) -> None:
    response = client.get("/v1/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == 'attachment; filename="chronicle-export.json"'
    etag = response.headers["etag"]
    assert etag.startswith('W/"d')
    assert client.get("/v1/export", headers={"If-None-Match": etag}).status_code == 304
    records = response.json()
    assert by_key(records) == canonical(read_file(SEED_FILE))
    order = list(registry.TYPES)  # sources, places, organisations, people, works, events; each by slug
    keys = [(record["type"], record["slug"]) for record in records]
    assert keys == sorted(keys, key=lambda key: (order.index(key[0]), key[1]))
    lines = response.content.split(b"\n")
    assert lines[0] == b"[" and lines[-2:] == [b"]", b""] and len(lines) == len(records) + 3  # a record a line


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_export_import_export_gives_the_same_bytes(
    fmt: str, seeded_url: str, client: httpx.Client, tmp_path: Path
) -> None:
    first = cli_export(seeded_url, "--format", fmt)
    assert client.get("/v1/export", params={"format": fmt}).content == first
    copy = make_database(tmp_path / "copy.sqlite3", seed=False)
    load(copy, parse(first, fmt))
    assert cli_export(copy, "--format", fmt) == first
    output = tmp_path / f"export.{fmt}"
    assert cli_export(copy, "--format", fmt, "--output", str(output)) == b""
    assert output.read_bytes() == first
    with serving(copy) as http:
        response = http.get("/v1/export", params={"format": fmt})
    assert response.content == first
    assert response.headers["content-type"] == {"json": "application/json", "ndjson": "application/x-ndjson"}[fmt]
    assert response.headers["content-disposition"] == f'attachment; filename="chronicle-export.{fmt}"'


RECORDS: list[dict[str, Any]] = [
    {"type": "source", "slug": "letters", "title": "Letters", "kind": "book", "url": "https://example.org/letters",
     "author": "A. Writer", "publisher": "A Press", "published": {"edtf": "1850-03-01", "calendar": "julian"},
     "description": "Collected letters.", "notes": "Second edition."},
    {"type": "source", "slug": "atlas", "title": "Atlas", "kind": "book", "published": "1930"},
    {"type": "place", "slug": "old-town", "name": "Old Town", "kind": "city", "latitude": 41.0082,
     "longitude": 28.9784, "parent": "realm", "description": "A town.",
     "names": [
         {"name": "Zeta Town", "language": "en", "from_year": -43, "to_year": 1453, "note": "Ancient name."},
         {"name": "Altstadt", "language": "de"},
         {"name": "New Old Town", "from_year": 1930},
     ],
     "identifiers": {"wikidata": "Q406", "geonames": "745044"},
     "citations": [{"source": "letters", "page": "12", "quote": "The town.", "note": "Loose."}, {"source": "atlas"},
                   {"source": "letters", "page": "3"}]},
    {"type": "place", "slug": "realm", "name": "Realm", "kind": "historical-state", "citations": [{"source": "atlas"}]},
    {"type": "person", "slug": "zed", "name": "Zed Zedson", "born": {"edtf": "1879-10-26", "calendar": "julian"},
     "died": "1940-08-21", "birth_place": "old-town", "death_place": "realm", "description": "A writer.",
     "aliases": [{"name": "Zeta", "kind": "pseudonym", "language": "ru"}, {"name": "Alpha Zed"},
                 {"name": "Zed Zedsohn", "kind": "transliteration"}],
     "identifiers": {"wikidata": "Q33391"}, "citations": [{"source": "letters"}], "notes": "Dates disputed."},
    {"type": "person", "slug": "abe", "name": "Abe", "born": "1900?", "citations": [{"source": "atlas"}]},
    {"type": "work", "slug": "memoir", "title": "Memoir", "kind": "book", "language": "ru", "publisher": "Granit",
     "published": "1930~", "publication_place": "old-town", "subjects": ["travel", "exile", "travel"],
     "creators": [{"person": "zed"}, {"person": "abe", "role": "translator"}, {"person": "abe", "role": "editor"}],
     "identifiers": {"isbn": "9780306406157"}, "citations": [{"source": "letters"}]},
    {"type": "event", "slug": "long-war", "title": "Long war", "kind": "war", "summary": "A war.",
     "date": {"edtf": "1917-10-25/1923-06-16", "calendar": "julian", "end_calendar": "gregorian"},
     "people": [{"person": "zed", "role": "leader"}, {"person": "abe"}, {"person": "abe", "role": "witness"}],
     "places": [{"place": "realm"}, {"place": "old-town", "role": "origin"}],
     "works": [{"work": "memoir", "role": "outcome"}], "tags": ["z-army", "a-league"],
     "citations": [{"source": "atlas"}]},
    {"type": "event", "slug": "battle", "title": "Battle", "kind": "war", "part_of": "long-war",
     "date": "[1918-11-12,1918-11-14]", "citations": [{"source": "letters"}]},
]  # fmt: skip


def test_every_field_round_trips(tmp_path: Path) -> None:
    url = make_database(tmp_path / "fields.sqlite3", seed=False)
    load(url, RECORDS)
    exported = cli_export(url)
    records = by_key(parse(exported, "json"))
    assert records == canonical(RECORDS)
    # Ordered lists keep their order (creators: zed before abe), unordered ones are sorted.
    assert records["work", "memoir"]["creators"] == [
        {"person": "zed"}, {"person": "abe", "role": "translator"}, {"person": "abe", "role": "editor"}
    ]  # fmt: skip
    assert records["work", "memoir"]["subjects"] == ["exile", "travel"]
    assert records["event", "long-war"]["people"] == [{"person": "abe"}, {"person": "abe", "role": "witness"},
                                                      {"person": "zed", "role": "leader"}]  # fmt: skip
    assert records["event", "long-war"]["date"] == {
        "edtf": "1917-10-25/1923-06-16", "calendar": "julian", "end_calendar": "gregorian"
    }  # fmt: skip
    assert records["source", "atlas"]["published"] == "1930"
    assert [n["name"] for n in records["place", "old-town"]["names"]] == ["Zeta Town", "Altstadt", "New Old Town"]
    copy = make_database(tmp_path / "copy.sqlite3", seed=False)
    load(copy, list(records.values()))
    assert cli_export(copy) == exported
    engine = make_engine(copy)  # and loading the export again into the database it came from changes nothing
    with make_sessionmaker(engine).begin() as session:
        summary = load_records(session, list(records.values()))
    engine.dispose()
    assert (summary.created, summary.updated, summary.unchanged) == ([], [], len(RECORDS))


@pytest.mark.sqlite_only  # counts statements with sqlite3's trace callback
def test_record_documents_in_a_write_transaction_and_one_statement_per_table(seeded_url: str) -> None:
    db = SQLiteReads(sqlite_path(seeded_url))
    ids = [row[0] for row in db.all("SELECT id FROM records ORDER BY slug")]
    statements: list[str] = []
    db.connection.set_trace_callback(statements.append)
    documents = record_documents(db, ids)
    db.connection.set_trace_callback(None)
    db.close()
    assert list(documents) == ids and len(ids) > 80
    # one per type table and one per table of rows a record owns, however many records
    assert len(statements) == len(registry.TYPES) + len(registry.LINKS) == 23
    engine = make_engine(seeded_url)
    with make_sessionmaker(engine).begin() as session:
        assert record_documents(SessionFetch(session), ids) == documents
    engine.dispose()


@pytest.mark.parametrize("params", [{"format": "xml"}, {"bogus": "1"}])
def test_a_bad_parameter_is_a_400_problem(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get("/v1/export", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["invalid_params"][0]["name"] == next(iter(params))
