"""What a record type is, written down once: its table, the rows it owns, the records it refers to,
its document model and how a document becomes rows. `app.registry` lists the types; the loader, the
export, the editors' writes and the API iterate over that list instead of naming types.

Each type's descriptor (`RecordType`) lives in its own folder of this package (`<type>/__init__.py`),
beside what is specific to it: its tables (`model`), its document (`document`), its queries, its
answers (`schemas`) and its endpoints (`routes`). A new type is a new folder, one line of
`app.registry`, one migration (docs/record-types.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel

from app import json
from app.dates import HistoricalDate
from app.models import DATE_PARTS

# (table name, row without the owner's id): a row a record owns, as `rows` returns it.
LinkRow = tuple[str, tuple[Any, ...]]
Rows = tuple[dict[str, Any], list[LinkRow]]  # own table's values (but the id), owned rows


class Ref(NamedTuple):
    """A reference to a record by type and slug, resolved to an id when written."""

    type: str
    slug: str

    @property
    def name(self) -> str:
        """ "type/slug": how a load names a record (its index's keys, its answer's lists)."""
        return f"{self.type}/{self.slug}"


def ref(record_type: str, slug: str | None) -> Ref | None:
    """A Ref, or None for a field left empty."""
    return None if slug is None else Ref(record_type, slug)


@functools.cache
def _date_columns(prefix: str) -> tuple[str, ...]:
    """The names of `date_columns(prefix)` (app.models), made once: each record's values share them."""
    return tuple(f"{prefix}_{part}" for part in DATE_PARTS)


def date_values(prefix: str, date: Any) -> dict[str, Any]:
    """The stored columns of a document's date (a DateIn, or None) - app.models.date_values, with the
    column names made once rather than eleven f-strings a date."""
    names = _date_columns(prefix)
    if date is None:
        return dict.fromkeys(names)
    parsed: HistoricalDate = date.parsed()
    return dict(zip(names, (
        parsed.edtf, parsed.calendar, parsed.end_calendar, parsed.min_jdn, parsed.max_jdn, parsed.span_level,
        parsed.month, parsed.day, parsed.recorded_month, parsed.recorded_day, json.dumps(parsed.as_json()).decode(),
    ), strict=True))  # fmt: skip


def date_row(date: Any) -> tuple[Any, ...]:
    """A date's stored columns as a tuple, in DATE_PARTS order: for a link row."""
    return tuple(date_values("_", date).values())


@dataclass(frozen=True, slots=True)
class Reference:
    """A field of the document that names one other record, stored as a column of the own table."""

    field: str  # the document's field ("parent", "birth_place")
    column: str  # the own table's column holding the record's id ("parent_id")
    target: str  # the record type it names


@dataclass(frozen=True, slots=True)
class Link:
    """Rows a record owns in a table of their own, one per item of a list field of its document.

    The table's `owner` column holds the owner's id; `columns` are the rest of a row, in the order of
    the rows `RecordType.rows` gives. Items are read back as objects with `keys` - each the column of
    the same name, but the first key of a link that `refers_to` a record (its slug, from the id in
    `columns[0]`) and `dates` (from their `<key>_edtf`, `_calendar` and `_end_calendar` columns) - or,
    when `keys` is None, as plain strings (the one column after the owner's).
    """

    field: str  # the document's field ("names", "people")
    table: str
    owner: str  # the column holding the owner's id
    columns: tuple[str, ...]  # the rest of a row's columns, as written
    keys: tuple[str, ...] | None  # the item's keys as read back; None: a plain string
    refers_to: str | None = None  # the record type named by the first key (its id in columns[0])
    dates: tuple[str, ...] = ()  # keys that are dates (stored as app.models.date_columns)
    order: str = "id"  # the column the export reads items back in ("": no stored order, the document sorts them)

    @property
    def reference_column(self) -> str | None:
        """The column that holds the id of the record an item names."""
        return self.columns[0] if self.refers_to else None


@dataclass(frozen=True, slots=True)
class Search:
    """How /v1/search sees a type: its full-text table (kept by triggers: migrations 0002, 0005, 0013),
    whose columns are the name or title, other names and text, in falling weight."""

    fts: str  # the full-text table, keyed by the record's id
    label: str  # the own table's column a hit is called by
    weights: tuple[float, ...]  # BM25 weight of each FTS5 column, in order
    names: tuple[str, ...]  # the FTS columns that name the record (a match there ranks first)
    text: str  # PostgreSQL: the text a snippet is cut from, SQL over the own table as `x`
    columns: tuple[str, ...]  # the FTS5 table's columns, in order
    rows: str  # SQLite: every record's full-text row (rowid, then `columns`), as the triggers write it


@dataclass(frozen=True, slots=True)
class RecordType:
    """One record type, as everything that handles "all records" sees it."""

    name: str  # "event": the `type` of its documents and of its `records` rows
    collection: str  # "events": its path in the API (/v1/events)
    table: str  # its own table, joined to `records` by id
    document: type[BaseModel]  # the record format's model (its folder's `document`)
    rows: Callable[[Any], Rows]  # a valid document's own-table values and owned rows (Refs unresolved)
    columns: tuple[str, ...]  # own columns read back as document fields of the same name
    dates: tuple[str, ...] = ()  # document fields that are dates (app.models.date_columns)
    references: tuple[Reference, ...] = ()  # own columns naming other records
    links: tuple[Link, ...] = ()  # rows it owns, but citations and identifiers (every type's)
    search: Search | None = None  # None: /v1/search does not look at it
    routes: str = ""  # the module of its endpoints: `router`, and `get_<name>` answering GET of one record
    jsonld: str = "Thing"  # its schema.org type
    example: str = ""  # a seed slug, for the API's examples
    description: str = ""  # what its records are, in a sentence: its OpenAPI tag's description

    @property
    def parent(self) -> Reference | None:
        """The reference to a record of its own type (a place's parent), if it has one: the loader
        orders such records parents first and refuses cycles."""
        return next((r for r in self.references if r.target == self.name), None)

    @property
    def a(self) -> str:
        """ "an event", "a person": for messages and summaries."""
        return f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name}"


def other_titles(record_type: str) -> Link:
    """The link of a type's titles in other languages (app.models.OtherTitle): works, events, sources."""
    keys = ("name", "language", "note")
    return Link("names", f"{record_type}_names", f"{record_type}_id", keys, keys)


def other_title_rows(link: Link, names: Iterable[Any]) -> list[LinkRow]:
    """A document's titles in other languages (OtherNameIn) as rows of `link`."""
    return [(link.table, (n.name, n.language, n.note)) for n in names]


# The rows every record owns: its citations and its identifiers (app.models.Citation, Identifier).
CITATIONS = Link(
    "citations", "citations", "record_id", ("source_id", "page", "quote", "note"), ("source", "page", "quote", "note"),
    refers_to="source",
)  # fmt: skip
IDENTIFIERS = Link("identifiers", "identifiers", "record_id", ("scheme", "value"), ("scheme", "value"), order="")
