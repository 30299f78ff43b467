"""Strict reading of input, unit by unit: dates in ASCII digits only, the record format's strings and
numbers, If-Match and If-None-Match on writes, and how deep an import may nest. tests/test_hostile.py
sends the same through the API; these name the function that refuses each."""

from __future__ import annotations

import io
import json as stdlib_json
import re
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, Literal, cast, get_args, get_origin

import pytest
from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import Session

from app import importer, json, writes
from app.dates import DateError, parse_date
from app.documents import MAX_OTHER_NAMES, NO_NUL
from app.domain_errors import DomainError, InvalidRecord
from app.errors import problem_for
from app.etags import revision_of
from app.generate import generate
from app.loader import validate
from app.models import Base, name_key
from app.record_types.event.document import EventIn
from app.record_types.person.document import PersonIn
from app.record_types.place.document import PlaceIn
from app.record_types.source.document import SourceIn
from app.record_types.work.document import WorkIn
from app.writes import Current
from tests.test_editing_api import Editing
from tests.test_editing_api import editing as editing  # a fixture

# A battery (`-m "not hostile"` leaves it out); the format's own checks, and bodies refused before any query.
pytestmark = [pytest.mark.hostile, pytest.mark.engine_neutral]

NON_ASCII_DIGITS = [
    "\uff11\uff19\uff11\uff17",  # fullwidth
    "\u0661\u0669\u0661\u0667",  # Arabic-Indic
    "\u0967\u096f\u0967\u096d",  # Devanagari
    "19\uff117",
    "1917-1\uff12",
    "1917-12-0\uff11",
    "1917-10-25/19\uff118",
    "19\uff11X",
    "[1917,\uff11\uff19\uff11\uff18]",
    "1917-2\uff11",
]


@pytest.mark.parametrize("edtf", NON_ASCII_DIGITS, ids=ascii)
@pytest.mark.parametrize("calendar", ["gregorian", "julian"])
def test_dates_take_ascii_digits_only(edtf: str, calendar: str) -> None:
    with pytest.raises(DateError):
        parse_date(edtf, calendar)  # type: ignore[arg-type]


# --- the record format: no NUL in any string, strict numbers, strings no longer than their columns --------

# A document of each type with every field set: each string and each number in it is made hostile in turn.
FULL_DOCUMENTS: list[dict[str, Any]] = [
    {
        "type": "source", "slug": "a-source", "title": "A source", "kind": "article", "url": "https://example.org/a",
        "author": "An author", "publisher": "A publisher",
        "published": {"edtf": "1930/1931", "calendar": "julian", "end_calendar": "gregorian"},
        "description": "About it.", "identifiers": {"wikidata": "Q1", "isbn": "9780000000002", "geonames": "1"},
        "citations": [{"source": "another", "page": "12", "quote": "Said.", "note": "A note."}], "notes": "Notes.",
    },
    {
        "type": "place", "slug": "a-place", "name": "A place", "kind": "city", "description": "About it.",
        "latitude": 48.85, "longitude": 2.35, "parent": "france",
        "names": [{"name": "Old", "language": "fr", "from_year": 1800, "to_year": 1900, "note": "A note."}],
        "citations": [{"source": "a-source"}],
    },
    {
        "type": "person", "slug": "a-person", "name": "A person",
        "aliases": [{"name": "Alias", "kind": "pseudonym", "language": "ru"}], "born": "1879",
        "died": {"edtf": "1940-08-21"}, "birth_place": "a-place", "death_place": "another-place",
        "description": "About them.", "citations": [{"source": "a-source"}],
    },
    {
        "type": "work", "slug": "a-work", "title": "A work", "kind": "book",
        "creators": [{"person": "a-person", "role": "translator"}], "published": "1930", "publisher": "A publisher",
        "publication_place": "a-place", "language": "en", "subjects": ["exile"], "description": "About it.",
        "citations": [{"source": "a-source"}],
    },
    {
        "type": "event", "slug": "an-event", "title": "An event", "summary": "What happened.", "kind": "lecture",
        "date": "1932-11-27", "part_of": "another-event", "people": [{"person": "a-person", "role": "subject"}],
        "places": [{"place": "a-place", "role": "origin"}], "works": [{"work": "a-work", "role": "outcome"}],
        "tags": ["exile"], "citations": [{"source": "a-source"}],
    },
]  # fmt: skip


def leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def replaced(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return cast(dict[str, Any], copy)


def location(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))


def refused_at(document: dict[str, Any]) -> list[str]:
    _records, errors = validate([document])
    return [error.field for error in errors]


@pytest.mark.parametrize("document", FULL_DOCUMENTS, ids=lambda d: d["type"])
def test_the_full_documents_are_valid(document: dict[str, Any]) -> None:
    assert refused_at(document) == []
    assert not any(value is None for _path, value in leaves(document))


def string_leaves() -> list[tuple[dict[str, Any], tuple[str | int, ...], str]]:
    return [
        (document, path, value)
        for document in FULL_DOCUMENTS
        for path, value in leaves(document)
        if isinstance(value, str) and path != ("type",)
    ]


@pytest.mark.parametrize(
    ("document", "path", "value"), string_leaves(), ids=[f"{d['type']}.{location(p)}" for d, p, _v in string_leaves()]
)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_no_string_of_the_format_holds_a_nul(
    document: dict[str, Any], path: tuple[str | int, ...], value: str, where: str
) -> None:
    hostile = {"start": "\x00" + value, "middle": value[:1] + "\x00" + value[1:], "end": value + "\x00"}[where]
    errors = refused_at(replaced(document, path, hostile))
    assert errors, f"{location(path)} = {hostile!r} was accepted"
    # Named at the string itself (a date string is read as the object's edtf, a calendar is a choice).
    assert any(error.startswith(location(path)) for error in errors), errors


def number_leaves() -> list[tuple[dict[str, Any], tuple[str | int, ...], int | float]]:
    return [
        (document, path, value)
        for document in FULL_DOCUMENTS
        for path, value in leaves(document)
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


@pytest.mark.parametrize(
    ("document", "path", "number"), number_leaves(), ids=[f"{d['type']}.{location(p)}" for d, p, _v in number_leaves()]
)
def test_numbers_are_strict(document: dict[str, Any], path: tuple[str | int, ...], number: float) -> None:
    wrong: list[Any] = [str(number), True, False, [number], {"value": number}, f"{number}\x00", float("nan")]
    wrong += [float("inf"), float("-inf"), 10**400, -(10**400)]
    if isinstance(number, int):
        wrong += [float(number), number + 0.5]
    for value in wrong:
        assert refused_at(replaced(document, path, value)) == [location(path)], f"{location(path)} = {value!r}"
    assert refused_at(replaced(document, path, number)) == []


def test_every_string_field_refuses_nul() -> None:
    """Structurally, so that a field added later cannot forget it: each str in the models' annotations
    is an Annotated[str, ..., NO_NUL] (or a Literal, whose choices hold no NUL)."""
    missing: list[str] = []

    def check(annotation: Any, where: str, metadata: Sequence[Any] = ()) -> None:
        if annotation is str:
            if NO_NUL not in metadata:
                missing.append(where)
        elif get_origin(annotation) is Annotated:
            check(get_args(annotation)[0], where, [*metadata, *get_args(annotation)[1:]])
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            check_model(annotation)
        elif get_origin(annotation) is not Literal:
            for argument in get_args(annotation):
                check(argument, where)

    seen: set[type[BaseModel]] = set()

    def check_model(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            check(info.annotation, f"{model.__name__}.{name}", info.metadata)

    for model in (SourceIn, PlaceIn, PersonIn, WorkIn, EventIn):
        check_model(model)
    assert len(seen) > 10
    assert missing == []


def letters(n: int) -> str:
    return "x" * n


def url(n: int) -> str:
    return "https://" + "x" * (n - 8)


def language(n: int) -> str:
    return ("en" + "-ab" * n)[:n]


# Every string column a document is written to: (document, field, table, column, a valid value of n characters).
COLUMNS: list[tuple[int, tuple[str | int, ...], str, str, Callable[[int], str]]] = [
    (0, ("slug",), "records", "slug", letters), (4, ("slug",), "slug_redirects", "slug", letters),
    (4, ("slug",), "revisions", "slug", letters), (0, ("title",), "sources", "title", letters),
    (0, ("kind",), "sources", "kind", letters), (0, ("url",), "sources", "url", url),
    (0, ("author",), "sources", "author", letters), (0, ("publisher",), "sources", "publisher", letters),
    (0, ("published", "edtf"), "sources", "published_edtf", lambda n: "1" * n),
    (0, ("identifiers", "wikidata"), "identifiers", "value", lambda n: "Q" + "9" * (n - 1)),
    (0, ("identifiers", "geonames"), "identifiers", "value", lambda n: "9" * n),
    (0, ("identifiers", "isbn"), "identifiers", "value", lambda n: "978" + "0" * (n - 3)),
    (0, ("citations", 0, "source"), "records", "slug", letters),
    (0, ("citations", 0, "page"), "citations", "page", letters),
    (1, ("name",), "places", "name", letters), (1, ("kind",), "places", "kind", letters),
    (1, ("parent",), "records", "slug", letters), (1, ("names", 0, "name"), "place_names", "name", letters),
    (1, ("names", 0, "language"), "place_names", "language", language),
    (2, ("name",), "people", "name", letters), (2, ("name",), "people", "name_key", letters),
    (2, ("aliases", 0, "name"), "person_aliases", "name", letters),
    (2, ("aliases", 0, "language"), "person_aliases", "language", language),
    (2, ("born",), "people", "born_edtf", lambda n: "1" * n), (2, ("birth_place",), "records", "slug", letters),
    (3, ("title",), "works", "title", letters), (3, ("kind",), "works", "kind", letters),
    (3, ("publisher",), "works", "publisher", letters), (3, ("language",), "works", "language", language),
    (3, ("subjects", 0), "work_subjects", "subject", letters),
    (3, ("creators", 0, "person"), "records", "slug", letters),
    (4, ("title",), "events", "title", letters), (4, ("kind",), "events", "kind", letters),
    (4, ("date",), "events", "date_edtf", lambda n: "1" * n), (4, ("tags", 0), "event_tags", "tag", letters),
    (4, ("people", 0, "person"), "records", "slug", letters), (4, ("part_of",), "records", "slug", letters),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "path", "table", "column", "make"), COLUMNS,
    ids=[f"{FULL_DOCUMENTS[d]['type']}.{location(p)}->{t}.{c}" for d, p, t, c, _m in COLUMNS],
)  # fmt: skip
def test_no_string_is_longer_than_its_column(
    document: int, path: tuple[str | int, ...], table: str, column: str, make: Callable[[int], str]
) -> None:
    """A value one character wider than its column is refused by validation: the database never is
    what refuses a value (PostgreSQL would answer an error, SQLite would store it)."""
    column_type = Base.metadata.tables[table].columns[column].type
    assert isinstance(column_type, String) and isinstance(column_type.length, int)
    width = column_type.length
    assert len(make(width + 1)) == width + 1
    errors = refused_at(replaced(FULL_DOCUMENTS[document], path, make(width + 1)))
    assert any(error == location(path) or error.startswith(f"{location(path)}.") for error in errors), errors


def test_a_person_name_whose_key_outgrows_its_column_is_refused() -> None:
    person = FULL_DOCUMENTS[2]
    assert name_key("\ufb03" * 100) == "ffi" * 100  # 100 characters, a key of 300: taken
    assert refused_at(replaced(person, ("name",), "\ufb03" * 100)) == []
    assert refused_at(replaced(person, ("name",), "\ufb03" * 101)) == ["name"]
    assert refused_at(replaced(person, ("name",), "\ufdfa" * 20)) == ["name"]  # one character, 18 in the key


# --- If-Match and If-None-Match on writes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "revision"),
    [
        ('"4"', 4), ('"4-gzip"', 4), ('"4.ld"', 4), ('"4.ld-gzip"', 4), ('"4.geojson"', 4), ('"4.geojson-gzip"', 4),
        ('"123456789012"', 123456789012),
        ('"04"', None), ('"0"', None), ('"4.bogus"', None), ('"4.ld.ld"', None), ('"4-gzip-gzip"', None),
        ('"4-gzip.ld"', None), ('"4."', None), ('"4.json"', None), ('W/"4"', None), ("4", None), ('"4', None),
        ('4"', None), ('"+4"', None), ('"-4"', None), ('" 4"', None), ('"4 "', None), ('"4"x', None), ('""', None),
        ('"\xb9"', None), ('"\xb2"', None), ('"4\xb9"', None), ('"\u0664"', None), ('"\uff14"', None), ('"4\n"', None),
        ('"99999999999999999999999"', None), ('"*"', None), ("*", None), ('"abc"', None), ('"d4.json"', None),
    ],
)  # fmt: skip
def test_if_match_names_a_revision_only_by_an_etag_the_api_issues(tag: str, revision: int | None) -> None:
    assert revision_of(tag) == revision


class FakeCurrent(Current):
    def __init__(self, revision: int) -> None:  # no database: check() reads only these
        self.type, self.slug, self.id, self.revision, self.deleted = "event", "an-event", 1, revision, False


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "status"),
    [
        (None, None, 428), ('"4"', None, None), ("*", None, None), ('"3", "4"', None, None), ('"3"', None, 412),
        ('W/"4"', None, 412), ("*x", None, 412), ("W/*", None, 412), ('"3", *', None, 412), ('"04"', None, 412),
        ('"4"', "*", 412), ('"4"', '"4"', 412), ('"4"', 'W/"4"', 412), ('"4"', '"4-gzip"', 412),
        ('"4"', '"4.ld"', 412), ('"4"', '"3", W/"4.geojson-gzip"', 412), ("*", "*", 412), (None, "*", 428),
        ('"4"', '"3"', None), ('"4"', 'W/"3"', None), ('"4"', '"5", "abc"', None), ('"4"', "*x", None),
        ('"4"', "", None), ('"4"', '"04"', None), ('"4"', 'W/"d4.json"', None),
    ],
)  # fmt: skip
def test_preconditions_of_a_write(if_match: str | None, if_none_match: str | None, status: int | None) -> None:
    """RFC 9110 13.1: If-Match compares strongly (and must be there: 428); If-None-Match compares weakly,
    and a write whose If-None-Match names the record as it is (or is `*`) fails, whatever If-Match says."""
    current = FakeCurrent(4)
    if status is None:
        assert current.check(if_match, if_none_match) is current
    else:
        with pytest.raises(DomainError) as refused:
            current.check(if_match, if_none_match)
        assert problem_for(refused.value).status == status


# --- imports: JSON arrays cut into records, each parsed as a write body is -----------------------------

IMPORT_CASES: list[tuple[bytes, list[Any] | str]] = [
    (b"[]", []), (b" [ ]\n", []), (b"[1, 2]", [1, 2]),
    (b'[{"a": "x]}\\"["}, {"b": [1,[2]]}]', [{"a": 'x]}"['}, {"b": [1, [2]]}]),
    (b'[ "a\\\\\\"b" ]', ['a\\"b']), (b'["a\\\\"]', ["a\\"]), (b'["\\ud83d\\ude00"]', ["\U0001f600"]),
    (b'[{"a": "x"} , \n {"b": 2}\n]\n', [{"a": "x"}, {"b": 2}]),
    (b"[" + b"[" * 32 + b"]" * 32 + b"]", stdlib_json.loads("[" * 33 + "]" * 33)),  # 32 deep: taken
    (b"[", "it ends inside the array"), (b"[1", "expected , or ] at byte 2, the input ends"),
    (b"[{}, ", "it ends inside the array"), (b'[{"a": [1, ', "it ends inside a record"), (b"[1,]", "not valid JSON"),
    (b"[,]", "not valid JSON"), (b"[1 2]", "not valid JSON"), (b"[{}]x", "more after its end"),
    (b"[{}][]", "more after its end"), (b'{"item": []}', "expected a JSON array"), (b"", "expected a JSON array"),
    (b" \n", "expected a JSON array"), (b"\xef\xbb\xbf[]", "expected a JSON array"),
    (b'["\\ud800"]', "no low surrogate"), (b'[{"a": "x\\udc00y"}]', "not valid JSON"),
    (b'[{"\\ud800": 1}]', "not valid JSON"), (b'["\\ud800\\ud800"]', "not valid JSON"), (b"[NaN]", "not valid JSON"),
    (b"[1e400]", "not valid JSON"), (b'["\xc3\x28"]', "not valid JSON"), (b'["\xed\xa0\x80"]', "not valid JSON"),
    (b'[{"a": 1]]', "not valid JSON"), (b'[{"a": "never ends]', "a string never ends"),
    (b"[" * 100_000, "nests deeper than 32"), (b"[" + b'{"a": ' * 100_000, "nests deeper than 32"),
    (b"[" + b"[" * 33 + b"]" * 33 + b"]", "nests deeper than 32"),
    (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "nests deeper than 32"),
    (b'[{"a": 1}, ' + b"[" * 40 + b"]" * 40 + b"]", "nests deeper than 32"),
]  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 2, 7, 2**20])
@pytest.mark.parametrize(("body", "expected"), IMPORT_CASES, ids=lambda v: ascii(v)[:30])
def test_json_array_imports(monkeypatch: pytest.MonkeyPatch, body: bytes, expected: Any, chunk: int) -> None:
    monkeypatch.setattr(importer, "CHUNK", chunk)  # records and strings across every boundary
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=re.escape(expected)):
            list(importer.read_records(io.BytesIO(body), ndjson=False))
    else:
        assert list(importer.read_records(io.BytesIO(body), ndjson=False)) == expected


def test_deep_nesting_is_refused_before_anything_is_built() -> None:
    """However deep, the scanner stops at level 33: no structure is built, so the memory it takes
    stays far below the body's size (counted by tracemalloc, not timed: the machine's speed is no test)."""
    for body in (b"[" * 1_000_000, b"[" + b'{"a": ' * 1_000_000, b"[" + b"[" * 500_000 + b"]" * 500_000 + b"]"):
        tracemalloc.start()
        try:
            prepared, issues = importer.prepare_stream(io.BytesIO(body), ndjson=False)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < len(body) // 4, f"{peak:,} bytes traced for a {len(body):,}-byte body"
        assert prepared == [] and [issue.field for issue in issues] == ["(json)"]
        assert "nests deeper than 32" in issues[0].reason


@pytest.mark.parametrize("chunk", [7, 100, 2**20])
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("indent", [None, 2])
def test_imports_read_what_was_written(
    monkeypatch: pytest.MonkeyPatch, chunk: int, ensure_ascii: bool, indent: int | None
) -> None:
    """Generated records, dumped in several styles: read back as the whole array's parse reads them."""
    monkeypatch.setattr(importer, "CHUNK", chunk)
    records = [record for batch in generate(300, 7) for record in batch]
    records += [{"odd": 'a "quoted" \\ back]slash [ { }', "nested": [[{"x": [1.5, -2e-3, None, True]}]]}]
    body = stdlib_json.dumps(records, ensure_ascii=ensure_ascii, indent=indent).encode()
    assert list(importer.read_records(io.BytesIO(body), ndjson=False)) == json.loads(body)


# --- writes validate the document before its slug is looked up or taken ---------------------------------


class NoDatabase:
    """A session that fails the test if it is used: the write must be refused before any statement."""

    def execute(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the database was queried before the document was validated")


@pytest.mark.parametrize("slug", ["a\x00b", "x" * 101, "x" * 200, "Not A Slug", "a/../b"], ids=ascii)
def test_a_slug_the_format_refuses_never_reaches_the_database(slug: str) -> None:
    event = {**{k: v for k, v in FULL_DOCUMENTS[4].items() if k != "type"}, "slug": slug}
    with pytest.raises(InvalidRecord) as created:
        writes.create(cast(Session, NoDatabase()), "event", event, "an-editor")
    with pytest.raises(InvalidRecord) as renamed:
        writes._rewrite(cast(Session, NoDatabase()), FakeCurrent(4), {"type": "event", **event}, "an-editor")
    for refused in (created.value, renamed.value):
        assert [issue.field for issue in refused.issues] == ["slug"]
        assert problem_for(refused).status == 422


# --- nesting: refused before it is parsed, wherever JSON comes in ---------------------------------------


@pytest.mark.parametrize(
    ("body", "deep_at"),
    [
        (b"[]", None), (b"1", None), (b'"[[[["', None), (b'{"a": "' + b"[" * 100 + b'"}', None),
        (b"[" * 32 + b"]" * 32, None), (b"[" * 33 + b"]" * 33, 32), (b"[" * 33, 32), (b" " + b"{" * 40, 33),
        (b'{"a": ' * 33 + b"1" + b"}" * 33, 6 * 32), (b'{"s": [' + b'"x", ' * 1000 + b"[" * 40, 7 + 5 * 1000 + 30),
        (b'["' + b"[" * 40, None), (b"]" * 40 + b"[" * 40, None), (b"[" * 1000 + b"]" * 1000, 32),
        (b'[["a"], ' * 20 + b"[" * 20, 8 * 20 + 12),
    ],
)  # fmt: skip
def test_too_deep(body: bytes, deep_at: int | None) -> None:
    assert importer.too_deep(body) == deep_at


def test_ndjson_lines_nesting_too_deep_are_refused() -> None:
    line = b'{"type": "event", "slug": ' + b"[" * 1000 + b"]" * 1000 + b"}\n"
    prepared, issues = importer.prepare_stream(io.BytesIO(b"\n" + line), ndjson=True)
    assert prepared == [] and [(i.field, i.reason) for i in issues] == [
        ("(json)", "line 2: nests deeper than 32 arrays or objects (at byte 57)")
    ]


def test_invalid_records_are_described_without_their_arrays_and_objects() -> None:
    """A record's description (in every error about it) shows its type and slug, but not an array
    or object given for them: Python's repr of one nested 1,000 deep is a RecursionError."""
    deep: Any = []
    for _ in range(2000):
        deep = [deep]
    _records, errors = validate([{"type": "event", "slug": deep}, {"type": {"a": 1}, "slug": "x" * 300}])
    assert {error.record for error in errors} == {"event (an array)", f"(an object) {('x' * 300)!r}"[:109] + "..."}
    with pytest.raises(InvalidRecord) as refused:
        writes._typed("event", {"type": deep})
    assert problem_for(refused.value).invalid_params == [
        {"name": "type", "in": "body", "reason": "this URL takes event records, not a JSON array"}
    ]


def test_deep_bodies_over_http(editing: Editing) -> None:
    """Each way JSON comes in, nested past 32 (orjson alone would build 1,024 levels): a 4xx problem,
    never a 500 (a RecursionError where the body is described, as the audit row's label was)."""
    deep = b"[" * 1000 + b"]" * 1000
    event = stdlib_json.dumps({k: v for k, v in FULL_DOCUMENTS[4].items() if k != "part_of"})
    bodies = {
        "slug": event.replace('"an-event"', deep.decode()).encode(),
        "title": event.replace('"An event"', deep.decode()).encode(),
        "extra": event[:-1].encode() + b', "extra": ' + deep + b"}",
    }
    etag = editing.http.get("/v1/events/october-revolution").headers["etag"]
    json_body = {"Content-Type": "application/json"}
    for name, body in bodies.items():
        for method, path, headers in [
            ("POST", "/v1/events", editing.auth(**json_body)),
            ("PUT", "/v1/events/october-revolution", editing.auth(**json_body, **{"If-Match": etag})),
            ("PATCH", "/v1/events/october-revolution", editing.auth(**json_body, **{"If-Match": etag})),
            ("POST", "/v1/import", editing.auth(**json_body)),
            ("POST", "/v1/import", editing.auth(**{"Content-Type": "application/x-ndjson"})),
        ]:
            sent = b"[" + body + b"]" if path == "/v1/import" and "ndjson" not in headers["Content-Type"] else body
            answer = editing.http.request(method, path, headers=headers, content=sent)
            assert answer.status_code in (400, 422), (name, method, path, answer.status_code, answer.text[:300])
            assert answer.headers["content-type"] == "application/problem+json"
            assert "nests deeper than 32" in answer.text, (name, method, path, answer.text[:300])


@pytest.mark.parametrize(("document", "field", "item"), [(1, "names", {"name": "Old"}), (2, "aliases", {"name": "A"})])
def test_other_names_are_at_most_a_hundred(document: int, field: str, item: dict[str, str]) -> None:
    """Each one rebuilds the record's full-text row from all of them: n of them cost n squared."""
    assert refused_at(replaced(FULL_DOCUMENTS[document], (field,), [item] * MAX_OTHER_NAMES)) == []
    assert refused_at(replaced(FULL_DOCUMENTS[document], (field,), [item] * (MAX_OTHER_NAMES + 1))) == [field]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[x", "is not a URL a parser can read (Invalid IPv6 URL)"),
        ("https://example.org:99999/", "is not a URL a parser can read (Port out of range 0-65535)"),
        ("https://example.org:http/", "is not a URL a parser can read"),
        ("http:///no-host", "has no host"),
        ("http://example.org:0/", "has port 0"),
    ],
)
def test_a_source_url_is_one_a_url_parser_reads(url: str, reason: str) -> None:
    """A URL the pattern allows but urllib cannot read (schemathesis made `http://[x`) is refused in
    words, as the export's readers would otherwise fail on it."""
    from app.loader import validate

    source = {"type": "source", "slug": "s", "title": "A source", "kind": "website", "url": url}
    _records, errors = validate([source])
    assert [(e.field, e.reason.startswith(reason)) for e in errors] == [("url", True)], errors
    assert validate([{**source, "url": "http://[::1]:8080/archive"}])[1] == []
