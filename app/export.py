"""The whole database in the record format (docs/data-format.md): what `chronicle export` and
`GET /v1/export` write, and what import takes back unchanged.

Documents are read back from the rows app.loader wrote - one statement per table for a batch of
records, never one per record - and passed through the record model and `canonical_document`, so an
export is canonical: export, import into an empty database, export again gives the same bytes.

`fetch.all(sql, params)` runs one statement and returns its rows: a ReadConnection on the read path,
or `SessionFetch` inside a write transaction. For an export that is one consistent snapshot, run it
in one read transaction (the callers' job).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import json
from app.dialects.json import JSON
from app.documents import canonical_document, record_adapter

Document = dict[str, Any]

BATCH = 1000
FORMATS = ("json", "ndjson")
_IDS = "{ids}"  # IN the ids bound as :ids, in the engine's SQL (app.dialects.json); see _sql


class Fetch(Protocol):
    @property
    def dialect(self) -> str: ...

    def all(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]: ...


class SessionFetch:
    """Fetch through an ORM session: inside a write transaction, it sees the transaction's changes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def all(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        return list(self.session.execute(text(sql), params).all())


@functools.cache
def _sql(template: str, dialect: str) -> str:
    return template.replace(_IDS, JSON[dialect].in_ids("ids"))


class Shape(NamedTuple):
    """How a record type is stored: its table, own columns (named as the document's fields), dates
    (`<date>_edtf`, `_calendar`, `_end_calendar`) and references to other records (field, column)."""

    table: str
    columns: tuple[str, ...]
    dates: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()


# In export order: what a record refers to comes first (sources, places, people, works, events).
TYPES = {
    "source": Shape("sources", ("title", "kind", "url", "author", "publisher", "description"), ("published",)),
    "place": Shape("places", ("name", "kind", "description", "latitude", "longitude"), (), (("parent", "parent_id"),)),
    "person": Shape(
        "people", ("name", "description"), ("born", "died"),
        (("birth_place", "birth_place_id"), ("death_place", "death_place_id")),
    ),
    "work": Shape(
        "works", ("title", "kind", "description", "publisher", "language"), ("published",),
        (("publication_place", "publication_place_id"),),
    ),
    "event": Shape("events", ("title", "summary", "kind"), ("date",), (("part_of", "part_of_id"),)),
}  # fmt: skip


def _record_sql(shape: Shape) -> str:
    selected = [f"t.{c}" for c in shape.columns]
    selected += [f"t.{d}_{part}" for d in shape.dates for part in ("edtf", "calendar", "end_calendar")]
    selected += [f"(SELECT slug FROM records WHERE id = t.{column})" for _field, column in shape.references]
    return (
        f"SELECT t.id, r.slug, r.notes, {', '.join(selected)} FROM {shape.table} t JOIN records r ON r.id = t.id "
        f"WHERE t.id {_IDS}"
    )


RECORD_SQL = {record_type: _record_sql(shape) for record_type, shape in TYPES.items()}

# The rows a record owns, by field: the owner's type (None: every type), the item's keys (None: the
# item is a plain string) and the statement - the owner's id first, items in their stored order.
LINKS: dict[str, tuple[str | None, tuple[str, ...] | None, str]] = {
    "names": ("place", ("name", "language", "from_year", "to_year", "note"), f"""
SELECT place_id, name, language, from_year, to_year, note FROM place_names
WHERE place_id {_IDS} ORDER BY place_id, id"""),
    "aliases": ("person", ("name", "kind", "language"), f"""
SELECT person_id, name, kind, language FROM person_aliases WHERE person_id {_IDS} ORDER BY person_id, id"""),
    "creators": ("work", ("person", "role"), f"""
SELECT wc.work_id, r.slug, wc.role FROM work_creators wc JOIN records r ON r.id = wc.person_id
WHERE wc.work_id {_IDS} ORDER BY wc.work_id, wc.position, r.slug, wc.role"""),
    "subjects": ("work", None, f"SELECT work_id, subject FROM work_subjects WHERE work_id {_IDS}"),
    # People, places, works, tags: no stored order; canonical_document sorts them.
    "people": ("event", ("person", "role"), f"""
SELECT ep.event_id, r.slug, ep.role FROM event_people ep JOIN records r ON r.id = ep.person_id
WHERE ep.event_id {_IDS}"""),
    "places": ("event", ("place", "role"), f"""
SELECT ep.event_id, r.slug, ep.role FROM event_places ep JOIN records r ON r.id = ep.place_id
WHERE ep.event_id {_IDS}"""),
    "works": ("event", ("work", "role"), f"""
SELECT ew.event_id, r.slug, ew.role FROM event_works ew JOIN records r ON r.id = ew.work_id
WHERE ew.event_id {_IDS}"""),
    "tags": ("event", None, f"SELECT event_id, tag FROM event_tags WHERE event_id {_IDS}"),
    "identifiers": (None, ("scheme", "value"), f"""
SELECT record_id, scheme, value FROM identifiers WHERE record_id {_IDS}"""),
    "citations": (None, ("source", "page", "quote", "note"), f"""
SELECT c.record_id, r.slug, c.page, c.quote, c.note FROM citations c JOIN records r ON r.id = c.source_id
WHERE c.record_id {_IDS} ORDER BY c.record_id, c.id"""),
}  # fmt: skip

# Live records of one type in slug order, a batch after `after` (keyset on records' (type, slug) index).
KEYSET_SQL = {
    record_type: f"SELECT r.id, r.slug FROM records r JOIN {shape.table} t ON t.id = r.id "
    "WHERE r.type = :type AND r.slug > :after ORDER BY r.slug LIMIT :limit"
    for record_type, shape in TYPES.items()
}


def record_documents(fetch: Fetch, record_ids: list[int]) -> dict[int, Document]:
    """The canonical documents of these live records, by id, in the order given (unknown or deleted
    ids are left out). Raises pydantic's ValidationError if a stored record is not a valid document."""
    found: dict[int, Document] = {}
    for start in range(0, len(record_ids), BATCH):
        found.update(_batch(fetch, record_ids[start : start + BATCH]))
    return {record_id: found[record_id] for record_id in record_ids if record_id in found}


def _batch(fetch: Fetch, record_ids: list[int]) -> dict[int, Document]:
    ids = json.dumps(record_ids).decode()
    raw: dict[int, Document] = {}
    for record_type, shape in TYPES.items():
        for record_id, slug, notes, *values in fetch.all(_sql(RECORD_SQL[record_type], fetch.dialect), {"ids": ids}):
            raw[record_id] = {"type": record_type, "slug": slug, "notes": notes, **_own_fields(shape, values)}
    for name, (owner, keys, sql) in LINKS.items():
        owned = [i for i, document in raw.items() if owner is None or document["type"] == owner]
        if not owned:
            continue
        items: dict[int, list[Any]] = {i: [] for i in owned}
        for record_id, *values in fetch.all(_sql(sql, fetch.dialect), {"ids": json.dumps(owned).decode()}):
            items[record_id].append(values[0] if keys is None else dict(zip(keys, values, strict=True)))
        for record_id, found in items.items():
            raw[record_id][name] = {i["scheme"]: i["value"] for i in found} if name == "identifiers" else found
    return {i: canonical_document(record_adapter.validate_python(document)) for i, document in raw.items()}


def _own_fields(shape: Shape, values: list[Any]) -> Document:
    """A record's fields from its own row, in RECORD_SQL's order: columns, dates, references."""
    fields = dict(zip(shape.columns, values, strict=False))
    at = len(shape.columns)
    for name in shape.dates:
        edtf, calendar, end_calendar = values[at : at + 3]
        fields[name] = None if edtf is None else {"edtf": edtf, "calendar": calendar, "end_calendar": end_calendar}
        at += 3
    fields.update(zip([name for name, _column in shape.references], values[at:], strict=True))
    return fields


def export_documents(fetch: Fetch) -> Iterator[Document]:
    """Every live record's canonical document: by type (sources, places, people, works, events: what
    a record refers to comes first) then slug, read in batches so memory stays flat."""
    for record_type, sql in KEYSET_SQL.items():
        after = ""
        while True:
            rows = fetch.all(sql, {"type": record_type, "after": after, "limit": BATCH})
            yield from record_documents(fetch, [row[0] for row in rows]).values()
            if len(rows) < BATCH:
                break
            after = rows[-1][1]


def dump_export(documents: Iterable[Document], fmt: str) -> Iterator[bytes]:
    """The export file's bytes, in chunks of BATCH records: `ndjson`, one record a line; `json`, an
    array with one record a line. The same documents always give the same bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    chunk = [b"[\n"] if fmt == "json" else []
    count = 0
    for document in documents:
        if fmt == "ndjson":
            chunk.append(json.dumps(document) + b"\n")
        else:
            chunk.append((b",\n" if count else b"") + json.dumps(document))
        count += 1
        if count % BATCH == 0:  # one chunk per batch: a stream write per record would cost more
            yield b"".join(chunk)
            chunk = []
    if fmt == "json":
        chunk.append(b"\n]\n" if count else b"]\n")
    if chunk:
        yield b"".join(chunk)
