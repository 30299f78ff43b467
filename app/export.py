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
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import json
from app.dialects.json import JSON
from app.documents import canonical_document
from app.record_types import IDENTIFIERS, Link, RecordType
from app.registry import COMMON_LINKS, TYPES, record_adapter

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


def _record_sql(record_type: RecordType) -> str:
    """A batch of records of one type: id, slug, notes, then its columns, dates and references."""
    selected = [f"t.{c}" for c in record_type.columns]
    selected += [f"t.{d}_{part}" for d in record_type.dates for part in ("edtf", "calendar", "end_calendar")]
    selected += [f"(SELECT slug FROM records WHERE id = t.{r.column})" for r in record_type.references]
    return (
        f"SELECT t.id, r.slug, r.notes, {', '.join(selected)} FROM {record_type.table} t "
        f"JOIN records r ON r.id = t.id WHERE t.id {_IDS}"
    )


def _link_sql(link: Link) -> str:
    """The items of a batch of records' owned rows: the owner's id first, items in their stored
    order; a referred record's slug from its id; a date's three recorded columns."""
    selected = []
    for position, key in enumerate(link.keys or link.columns):
        if key in link.dates:
            selected += [f"l.{key}_{part}" for part in ("edtf", "calendar", "end_calendar")]
        elif link.refers_to and position == 0:
            selected.append("r.slug")
        else:
            selected.append(f"l.{key}")
    joined = f" JOIN records r ON r.id = l.{link.reference_column}" if link.refers_to else ""
    order = f" ORDER BY l.{link.owner}, l.{link.order}" if link.order else ""
    where = f"WHERE l.{link.owner} {_IDS}"
    return f"SELECT l.{link.owner}, {', '.join(selected)} FROM {link.table} l{joined} {where}{order}"


RECORD_SQL = {name: _record_sql(record_type) for name, record_type in TYPES.items()}
# Owned rows: the owner's type (None: every type's), the link, its statement.
LINK_SQL: list[tuple[str | None, Link, str]] = [
    (name, link, _link_sql(link)) for name, t in TYPES.items() for link in t.links
] + [(None, link, _link_sql(link)) for link in COMMON_LINKS]

# Live records of one type in slug order, a batch after `after` (keyset on records' (type, slug) index).
KEYSET_SQL = {
    name: f"SELECT r.id, r.slug FROM records r JOIN {record_type.table} t ON t.id = r.id "
    "WHERE r.type = :type AND r.slug > :after ORDER BY r.slug LIMIT :limit"
    for name, record_type in TYPES.items()
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
    for name, record_type in TYPES.items():
        for record_id, slug, notes, *values in fetch.all(_sql(RECORD_SQL[name], fetch.dialect), {"ids": ids}):
            fields = _fields((*record_type.columns, *record_type.dates), record_type.dates, values)
            references = values[len(record_type.columns) + 3 * len(record_type.dates) :]
            fields.update(zip([r.field for r in record_type.references], references, strict=True))
            raw[record_id] = {"type": name, "slug": slug, "notes": notes, **fields}
    for owner, link, sql in LINK_SQL:
        owned = [i for i, document in raw.items() if owner is None or document["type"] == owner]
        if not owned:
            continue
        items: dict[int, list[Any]] = {i: [] for i in owned}
        for record_id, *values in fetch.all(_sql(sql, fetch.dialect), {"ids": json.dumps(owned).decode()}):
            items[record_id].append(values[0] if link.keys is None else _fields(link.keys, link.dates, values))
        for record_id, found in items.items():
            raw[record_id][link.field] = {i["scheme"]: i["value"] for i in found} if link is IDENTIFIERS else found
    return {i: canonical_document(record_adapter.validate_python(document)) for i, document in raw.items()}


def _fields(names: tuple[str, ...], dates: tuple[str, ...], values: list[Any]) -> Document:
    """Fields read back in the order they were selected: each name's value, a date's three columns
    (edtf, calendar, end_calendar) as one date object (None when there is no date)."""
    fields: Document = {}
    at = 0
    for name in names:
        if name in dates:
            edtf, calendar, end_calendar = values[at : at + 3]
            fields[name] = None if edtf is None else {"edtf": edtf, "calendar": calendar, "end_calendar": end_calendar}
            at += 3
        else:
            fields[name] = values[at]
            at += 1
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
