"""Records as a load sees them: validated documents turned into rows, and what a load reports.

`prepare` validates documents and turns each into the rows it will become (`Prepared`), with
references still as (type, slug): pure work, which a bulk load can spread over processes. `outline`
is the part of it that pass 1 of an import keeps (app.loading.index): the key, the content hash,
the parent and what the record refers to - a fifth of the work, none of the rows.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, overload

from pydantic import ValidationError

from app import json
from app.documents import RecordIn, canonical_document
from app.errors import plain_reason
from app.record_types import CITATIONS, IDENTIFIERS, Ref
from app.record_types.event.document import EventIn
from app.registry import TYPES, record_adapter

AnyRecordIn = RecordIn  # a document of one of the registry's types
# A record may refer to another of its own type by a column of its own table.
SELF_REFERENCES = {name: t.parent.column for name, t in TYPES.items() if t.parent}
MAX_ERRORS = 100  # errors a LoadError's message shows
MAX_ISSUES = 1000  # errors reported for one input (each kind of check); past it the input is plainly wrong
OnConflict = Literal["fail", "skip", "overwrite"]


@dataclass(frozen=True, slots=True)
class LoadIssue:
    """What is wrong with one record of an input: its index, type and slug, the field, the reason."""

    index: int | None
    record: str  # "type 'slug'" as far as it could be read
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"record {self.index} ({self.record})" if self.index is not None else self.record
        return f"{where}: {self.field}: {self.reason}"

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "record": self.record, "field": self.field, "reason": self.reason}


class Issues:
    """The errors found in an input, the first MAX_ISSUES of them kept, the rest counted."""

    def __init__(self, limit: int = MAX_ISSUES) -> None:
        self.kept: list[LoadIssue] = []
        self.more = 0
        self.limit = limit

    def add(self, issue: LoadIssue) -> None:
        if len(self.kept) < self.limit:
            self.kept.append(issue)
        else:
            self.more += 1

    def extend(self, issues: Iterable[LoadIssue]) -> None:
        for issue in issues:
            self.add(issue)

    def __len__(self) -> int:
        return len(self.kept) + self.more

    def copy(self) -> Issues:
        copied = Issues(self.limit)
        copied.kept, copied.more = list(self.kept), self.more
        return copied

    def error(self, *, conflict: bool = False) -> LoadError:
        """The LoadError naming them, by record index."""
        return LoadError(sorted(self.kept, key=_by_index), conflict=conflict, more=self.more)


def _by_index(issue: LoadIssue) -> int:
    return -1 if issue.index is None else issue.index


class LoadError(Exception):
    """The input cannot be loaded; `errors` name each record (index, type, slug) and field, and `more`
    counts those left out of the list (past MAX_ISSUES). Nothing was written. `conflict` tells records
    that exist and may not be overwritten from invalid ones."""

    def __init__(self, errors: list[LoadIssue], *, conflict: bool = False, more: int = 0) -> None:
        total = len(errors) + more
        shown = [str(e) for e in errors[:MAX_ERRORS]]
        if total > MAX_ERRORS:
            shown.append(f"... and {total - len(shown)} more")
        what = "conflict(s)" if conflict else "error(s) in the input"
        super().__init__(f"{total} {what}, nothing was written:\n" + "\n".join(shown))
        self.errors = errors
        self.conflict = conflict
        self.more = more

    @property
    def total(self) -> int:
        return len(self.errors) + self.more


class KeyList(Sequence[str]):
    """The records ("type/slug") of one outcome of a load, in input order: numbers into the load's
    list of keys (4 bytes a record), not a list of strings - an answer naming 200,000 records is
    built once, at the end (`fragment`)."""

    __slots__ = ("_names", "_numbers")

    def __init__(self, names: Sequence[str] = (), numbers: Iterable[int] = ()) -> None:
        self._names = names
        self._numbers = array("l", numbers)

    def __len__(self) -> int:
        return len(self._numbers)

    @overload
    def __getitem__(self, position: int) -> str: ...
    @overload
    def __getitem__(self, position: slice) -> list[str]: ...
    def __getitem__(self, position: int | slice) -> str | list[str]:
        if isinstance(position, slice):
            return [self._names[n] for n in self._numbers[position]]
        return self._names[self._numbers[position]]

    def __iter__(self) -> Iterator[str]:
        return map(self._names.__getitem__, self._numbers)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a sequence compared by value, like a list

    def __repr__(self) -> str:
        return repr(list(self))

    def fragment(self) -> json.Fragment:
        """The JSON array, as one bytes object (orjson embeds it as it is)."""
        return json.Fragment(json.dumps(list(self)))


@dataclass
class LoadSummary:
    """What a load wrote (or, in a dry run, would): the records created, updated and skipped, by
    "type/slug" in input order (KeyLists), and how many were unchanged."""

    created: Sequence[str] = field(default_factory=KeyList)
    updated: Sequence[str] = field(default_factory=KeyList)
    unchanged: int = 0
    skipped: Sequence[str] = field(default_factory=KeyList)  # edited or deleted since loaded, kept (on_conflict=skip)

    def __str__(self) -> str:
        text = f"{len(self.created)} created, {len(self.updated)} updated, {self.unchanged} unchanged"
        return text + (f", {len(self.skipped)} skipped (changed by an editor)" if self.skipped else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "created": _json_list(self.created), "updated": _json_list(self.updated), "unchanged": self.unchanged,
            "skipped": _json_list(self.skipped),
        }  # fmt: skip


def _json_list(keys: Sequence[str]) -> json.Fragment | list[str]:
    return keys.fragment() if isinstance(keys, KeyList) else list(keys)


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How a load writes. An import or seed: `author` the command, `edited` False. An editor's write
    through the API: the key's name, `edited` True, and `on_conflict="overwrite"` (the API checks the
    revision itself, with If-Match)."""

    author: str = "loader"
    edited: bool = False  # mark the records as changed by an editor (an import will not overwrite them)
    on_conflict: OnConflict = "fail"  # what to do with records an editor changed or deleted since
    history: bool = True  # keep each record's document in the revision history
    rewrite: str = "update"  # the action a changed record's revision records ("restore" for a restore)
    restore_deleted: bool = True  # may on_conflict=overwrite bring back a deleted record (API: admin keys only)


def read_file(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise LoadError([LoadIssue(None, str(path), "(file)", f"cannot be read ({exc.strerror})")]) from None
    except ValueError as exc:
        raise LoadError([LoadIssue(None, str(path), "(file)", f"not valid JSON ({exc})")]) from None
    if not isinstance(data, list):
        raise LoadError([LoadIssue(None, str(path), "(file)", f"expected a JSON array, found {type(data).__name__}")])
    return data


def _describe(raw: Any) -> str:
    if isinstance(raw, dict):
        return f"{_shown(raw.get('type', '?'), 20)} {_shown(raw.get('slug', '?'), 100, quoted=True)}"
    return "not an object"


def _shown(value: Any, length: int, *, quoted: bool = False) -> str:
    """A field of an invalid record, for its description: never the repr of an array or object (it
    may be large, or nest deep enough to exhaust the stack)."""
    if isinstance(value, dict | list):
        return "(an object)" if isinstance(value, dict) else "(an array)"
    shown = repr(value) if quoted or not isinstance(value, str) else value
    return shown if len(shown) <= length else f"{shown[: length - 3]}..."


def _location(loc: tuple[int | str, ...]) -> str:
    # Drop the union tag pydantic adds ("event", ...) after the discriminator has chosen the model.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in TYPES else [str(p) for p in loc]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "(record)"


def validate(raw_records: Sequence[Any], first_index: int = 0) -> tuple[list[AnyRecordIn], list[LoadIssue]]:
    """Validate every record's shape and values; returns the records and the errors found."""
    records: list[AnyRecordIn] = []
    errors: list[LoadIssue] = []
    for index, raw in enumerate(raw_records, first_index):
        try:
            records.append(record_adapter.validate_python(raw))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                message = plain_reason(err)  # a pattern in words, never the pattern
                where = _location(err["loc"])
                if err["type"] in ("union_tag_not_found", "union_tag_invalid"):  # the discriminator
                    where, message = "type", f"must be one of {', '.join(TYPES)}"
                errors.append(LoadIssue(index, _describe(raw), where, message))
    return records, errors


def describe(key: Ref) -> str:
    return f"{key.type} {key.slug!r}"


class Outline(NamedTuple):
    """What pass 1 of an import keeps of a record (app.loading.index): no rows, no document."""

    key: Ref
    content_hash: str
    legacy_hash: str  # "" when not computed (a load without history)
    parent: Ref | None  # a place's parent, an event's larger event
    references: list[tuple[str, Ref]]  # (field, reference)
    identifiers: list[tuple[str, str]]  # (scheme, value)
    bounds: tuple[int, int] | None = None  # an event's date: its first and last day (Julian Day Numbers)


@dataclass(slots=True)
class Prepared:
    """One valid record as rows: its own table's values and the rows it owns, references as Refs."""

    key: Ref
    content_hash: str
    legacy_hash: str  # RecordIn.legacy_content_hash: what databases seeded before migration 0009 hold
    # The canonical document (JSON), kept in the revision history: a str, sized to fit (orjson's
    # bytes hold ~4 KB however short they are: 234 MB of 60,000 records).
    document: str | None
    notes: str | None
    values: dict[str, Any]  # the own table's columns (events, people, ...) but the id
    links: list[tuple[str, tuple[Any, ...]]]  # (table, row without the owner column, in LINK_COLUMNS order)
    references: list[tuple[str, Ref]]  # (field, reference), for error messages
    index: int = 0  # its position in the input, for error messages

    @property
    def type(self) -> str:
        return self.key.type

    @property
    def slug(self) -> str:
        return self.key.slug

    def describe(self) -> str:
        return describe(self.key)

    def outline(self) -> Outline:
        column = SELF_REFERENCES.get(self.type)
        parent = self.values[column] if column is not None else None
        identifiers = [(row[0], row[1]) for table, row in self.links if table == IDENTIFIERS.table]
        bounds = (self.values["date_min_jdn"], self.values["date_max_jdn"]) if self.type == "event" else None
        return Outline(self.key, self.content_hash, self.legacy_hash, parent, self.references, identifiers, bounds)


def prepare(
    raw_records: Sequence[Any], *, documents: bool = True, first_index: int = 0
) -> tuple[list[Prepared], list[LoadIssue]]:
    """Validate documents and prepare their rows; no database needed. Returns (prepared, errors).
    Without `documents` the canonical documents are not kept (a load without history)."""
    records, errors = validate(raw_records, first_index)
    prepared = [prepare_one(record, documents) for record in records]
    if not errors:  # positions in the input (with errors, some records are missing from `records`)
        for index, item in enumerate(prepared, first_index):
            item.index = index
    return prepared, errors


def _hashes(record: AnyRecordIn, legacy: bool) -> tuple[bytes, str, str]:
    """The canonical document, its hash, and (if asked: it costs) the legacy hash."""
    document = json.dumps(canonical_document(record))
    return document, hashlib.sha256(document).hexdigest(), record.legacy_content_hash() if legacy else ""


def _parent(record: AnyRecordIn) -> Ref | None:
    """A place's parent, an event's larger event: the record of its own type it refers to."""
    parent = TYPES[record.type].parent
    slug = None if parent is None else getattr(record, parent.field)
    return None if slug is None else Ref(record.type, slug)


def outline(record: AnyRecordIn, documents: bool = True) -> Outline:
    """The record's Outline, without building its rows."""
    _document, content_hash, legacy_hash = _hashes(record, documents)
    references = [(f, Ref(t, s)) for f, t, s in record.references()]
    bounds = None
    if isinstance(record, EventIn):
        date = record.date.parsed()
        bounds = (date.min_jdn, date.max_jdn)
    return Outline(
        Ref(record.type, record.slug), content_hash, legacy_hash, _parent(record), references,
        record.identifiers.items(), bounds,
    )  # fmt: skip


def prepare_one(record: AnyRecordIn, documents: bool = True, *, legacy: bool | None = None) -> Prepared:
    """The record as rows. Without `documents` the canonical document is not kept (a load without
    history); the legacy hash is computed with it unless `legacy` says otherwise (the write of an
    indexed import needs none: the index has it)."""
    references: list[tuple[str, Ref]] = [(f, Ref(t, s)) for f, t, s in record.references()]
    # A citation given twice (the same object) is one citation (RecordIn.distinct_citations).
    links: list[tuple[str, tuple[Any, ...]]] = [
        (CITATIONS.table, (Ref("source", c.source), c.page, c.quote, c.note)) for c in record.distinct_citations()
    ]
    links += [(IDENTIFIERS.table, (scheme, value)) for scheme, value in record.identifiers.items()]
    values, owned = TYPES[record.type].rows(record)
    links += owned
    document, content_hash, legacy_hash = _hashes(record, documents if legacy is None else legacy)
    return Prepared(
        Ref(record.type, record.slug), content_hash, legacy_hash, document.decode() if documents else None,
        record.notes, values, links, references,
    )  # fmt: skip
