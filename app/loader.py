"""Load records in the record format (docs/data-format.md) into the database: validate all, then write.

`load_records` is the product's one import path: `chronicle db seed` uses it, and so will bulk import
and the benchmark generator. Nothing is written unless the whole input is valid; the write is one
transaction; loading the same input twice changes nothing the second time.

It runs in two halves. `prepare` validates documents and turns each into the rows it will become,
with references still as (type, slug): pure work, which a bulk load can spread over processes.
`load_prepared` checks the references against the input and the database, then writes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app import json
from app.documents import EventIn, PersonIn, PlaceIn, SourceIn, WorkIn, canonical_document, record_adapter
from app.models import (
    Citation,
    DataVersion,
    Event,
    EventPerson,
    EventPlace,
    EventTag,
    EventWork,
    Identifier,
    Person,
    PersonAlias,
    Place,
    PlaceName,
    Record,
    Revision,
    SlugRedirect,
    Source,
    Work,
    WorkCreator,
    WorkSubject,
    date_values,
    name_key,
    utcnow,
)

AnyRecordIn = SourceIn | PlaceIn | PersonIn | WorkIn | EventIn
MODELS: dict[str, type[Record]] = {"source": Source, "place": Place, "person": Person, "work": Work, "event": Event}
MAX_ERRORS = 100
T = TypeVar("T")
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


class LoadError(Exception):
    """The input cannot be loaded; `errors` name each record (index, type, slug) and field. Nothing
    was written. `conflict` tells records that exist and may not be overwritten from invalid ones."""

    def __init__(self, errors: list[LoadIssue], *, conflict: bool = False) -> None:
        shown = [str(e) for e in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            shown.append(f"... and {len(errors) - MAX_ERRORS} more")
        what = "conflict(s)" if conflict else "error(s) in the input"
        super().__init__(f"{len(errors)} {what}, nothing was written:\n" + "\n".join(shown))
        self.errors = errors
        self.conflict = conflict


@dataclass
class LoadSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # edited or deleted since loaded, kept (on_conflict=skip)

    def __str__(self) -> str:
        text = f"{len(self.created)} created, {len(self.updated)} updated, {self.unchanged} unchanged"
        return text + (f", {len(self.skipped)} skipped (changed by an editor)" if self.skipped else "")

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped}


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
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in MODELS else [str(p) for p in loc]
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
                message = str(err["msg"]).removeprefix("Value error, ")
                where = _location(err["loc"])
                if err["type"] in ("union_tag_not_found", "union_tag_invalid"):  # the discriminator
                    where, message = "type", "must be one of source, place, person, work, event"
                errors.append(LoadIssue(index, _describe(raw), where, message))
    return records, errors


class Ref(NamedTuple):
    """A reference to a record by type and slug, resolved to an id when written."""

    type: str
    slug: str


@dataclass(slots=True)
class Prepared:
    """One valid record as rows: its own table's values and the rows it owns, references as Refs."""

    key: Ref
    content_hash: str
    legacy_hash: str  # RecordIn.legacy_content_hash: what databases seeded before migration 0009 hold
    document: bytes | None  # the canonical document (JSON), kept in the revision history
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
        return f"{self.type} {self.slug!r}"


def prepare(
    raw_records: Sequence[Any], *, documents: bool = True, first_index: int = 0
) -> tuple[list[Prepared], list[LoadIssue]]:
    """Validate documents and prepare their rows; no database needed. Returns (prepared, errors).
    Without `documents` the canonical documents are not kept (a load without history)."""
    records, errors = validate(raw_records, first_index)
    prepared = [_prepare_one(record, documents) for record in records]
    if not errors:  # positions in the input (with errors, some records are missing from `records`)
        for index, item in enumerate(prepared, first_index):
            item.index = index
    return prepared, errors


def load_records(session: Session, raw_records: Sequence[Any], options: LoadOptions = LoadOptions()) -> LoadSummary:
    """Validate, then write all records in the caller's transaction. Raises LoadError, writing nothing."""
    prepared, errors = prepare(raw_records, documents=options.history)
    return load_prepared(session, prepared, errors, options)


def load_prepared(
    session: Session, prepared: list[Prepared], errors: list[LoadIssue] | None = None,
    options: LoadOptions = LoadOptions(),
) -> LoadSummary:  # fmt: skip
    """Check references (to the input or the database), then write. Raises LoadError, writing nothing
    (the caller rolls its transaction back)."""
    errors = list(errors or [])
    referred: dict[Ref, int] = {}
    if not errors:
        errors, referred = _check_references(session, prepared)
    if errors:
        raise LoadError(errors)
    return _write(session, prepared, referred, options)


def _chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one `IN (...)` (SQLite's bound-parameter limit)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _slug_ids(session: Session, record_type: str, slugs: Iterable[str]) -> dict[str, int]:
    """Ids of the live records of `record_type` with these slugs."""
    wanted = sorted(set(slugs))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(RECORDS.c.slug, RECORDS.c.id).where(
                RECORDS.c.type == record_type, RECORDS.c.slug.in_(chunk), RECORDS.c.deleted_at.is_(None)
            )
        )
        found.update(dict(rows.all()))
    for chunk in _chunks([slug for slug in wanted if slug not in found]):  # a renamed record's old slug names it
        rows = session.execute(
            select(REDIRECTS.c.slug, RECORDS.c.id)
            .join(RECORDS, RECORDS.c.id == REDIRECTS.c.record_id)
            .where(REDIRECTS.c.type == record_type, REDIRECTS.c.slug.in_(chunk), RECORDS.c.deleted_at.is_(None))
        )
        found.update(dict(rows.all()))
    return found


def _check_references(session: Session, prepared: list[Prepared]) -> tuple[list[LoadIssue], dict[Ref, int]]:
    """Errors for duplicates, references neither in the input nor in the database, identifiers that
    another record holds, and cycles; the ids of the referred records found in the database."""
    errors: list[LoadIssue] = []
    in_input: dict[Ref, int] = {}
    for record in prepared:
        if record.key in in_input:
            errors.append(
                LoadIssue(record.index, record.describe(), "slug", f"duplicate of record {in_input[record.key]}")
            )
        in_input[record.key] = record.index
    wanted: dict[str, set[str]] = {}
    for record in prepared:
        for _field, ref in record.references:
            if ref not in in_input:
                wanted.setdefault(ref.type, set()).add(ref.slug)
    in_database = {Ref(t, s): i for t, slugs in wanted.items() for s, i in _slug_ids(session, t, slugs).items()}
    if sum(map(len, wanted.values())) > len(in_database):
        for record in prepared:
            for field_name, ref in record.references:
                if ref not in in_input and ref not in in_database:
                    reason = f"no {ref.type} with slug {ref.slug!r} in the input or the database"
                    errors.append(LoadIssue(record.index, record.describe(), field_name, reason))
    errors += _check_identifiers(session, prepared)
    errors += _check_cycles(session, prepared, "place", "parent_id")
    errors += _check_cycles(session, prepared, "event", "part_of_id")
    return errors, in_database


def _check_identifiers(session: Session, prepared: list[Prepared]) -> list[LoadIssue]:
    """An external identifier names one record: not two in the input, nor one held by another record."""
    errors: list[LoadIssue] = []
    holder: dict[tuple[str, str], Prepared] = {}
    for record in prepared:
        for table_name, row in record.links:
            if table_name != "identifiers":
                continue
            scheme, value = row
            other = holder.setdefault((scheme, value), record)
            if other is not record:
                reason = f"{value} is also given to record {other.index} ({other.describe()})"
                errors.append(LoadIssue(record.index, record.describe(), f"identifiers.{scheme}", reason))
    for chunk in _chunks(list(holder), 300):  # two parameters a pair
        wanted = or_(*(and_(IDENTIFIERS.c.scheme == scheme, IDENTIFIERS.c.value == value) for scheme, value in chunk))
        rows = session.execute(
            select(IDENTIFIERS.c.scheme, IDENTIFIERS.c.value, RECORDS.c.type, RECORDS.c.slug)
            .join(RECORDS, RECORDS.c.id == IDENTIFIERS.c.record_id)
            .where(wanted)
        )
        for scheme, value, owner_type, owner_slug in rows:
            record = holder[(scheme, value)]
            if Ref(owner_type, owner_slug) != record.key:
                reason = f"{value} already identifies {owner_type} {owner_slug!r}"
                errors.append(LoadIssue(record.index, record.describe(), f"identifiers.{scheme}", reason))
    return errors


def _check_cycles(session: Session, prepared: list[Prepared], record_type: str, column: str) -> list[LoadIssue]:
    """A place may not end up within itself, nor an event part of itself: the chain of parents is
    followed through the input and, past it, through the database."""
    records = {r.slug: r for r in prepared if r.type == record_type}
    parent_of: dict[str, str | None] = {
        slug: (r.values[column].slug if r.values[column] is not None else None) for slug, r in records.items()
    }
    table = _table(MODELS[record_type])
    parent = RECORDS.alias("parent")

    @functools.cache
    def parent_in_database(slug: str) -> str | None:
        row = session.execute(
            select(parent.c.slug)
            .select_from(RECORDS.join(table, table.c.id == RECORDS.c.id))
            .join(parent, parent.c.id == table.c[column])
            .where(RECORDS.c.type == record_type, RECORDS.c.slug == slug)
        ).first()
        return None if row is None else str(row[0])

    errors = []
    for start, first_parent in parent_of.items():
        seen, current, steps = {start}, first_parent, 0
        while current is not None and steps < 1000:
            if current in seen:
                record = records[start]
                reason = f"forms a cycle through {current!r}"
                errors.append(LoadIssue(record.index, record.describe(), column.removesuffix("_id"), reason))
                break
            seen.add(current)
            current = parent_of[current] if current in parent_of else parent_in_database(current)
            steps += 1
    return errors


def _prepare_one(record: AnyRecordIn, documents: bool = True) -> Prepared:
    references: list[tuple[str, Ref]] = [(f, Ref(t, s)) for f, t, s in record.references()]
    links: list[tuple[str, tuple[Any, ...]]] = [
        ("citations", (Ref("source", c.source), c.page, c.quote, c.note)) for c in record.citations
    ]
    links += [("identifiers", (scheme, value)) for scheme, value in record.identifiers.items()]
    values: dict[str, Any]
    if isinstance(record, SourceIn):
        values = {
            "title": record.title, "kind": record.kind, "url": record.url, "author": record.author,
            "publisher": record.publisher, "description": record.description,
            **date_values("published", record.published.parsed() if record.published else None),
        }  # fmt: skip
    elif isinstance(record, PlaceIn):
        values = {
            "name": record.name, "kind": record.kind, "description": record.description,
            "latitude": record.latitude, "longitude": record.longitude,
            "parent_id": Ref("place", record.parent) if record.parent else None,
        }  # fmt: skip
        links += [("place_names", (n.name, n.language, n.from_year, n.to_year, n.note)) for n in record.names]
    elif isinstance(record, PersonIn):
        values = {
            "name": record.name, "name_key": name_key(record.name), "description": record.description,
            "birth_place_id": Ref("place", record.birth_place) if record.birth_place else None,
            "death_place_id": Ref("place", record.death_place) if record.death_place else None,
            **date_values("born", record.born.parsed() if record.born else None),
            **date_values("died", record.died.parsed() if record.died else None),
        }  # fmt: skip
        links += [("person_aliases", (a.name, a.kind, a.language)) for a in record.aliases]
    elif isinstance(record, WorkIn):
        values = {
            "title": record.title, "kind": record.kind, "description": record.description,
            "publisher": record.publisher, "language": record.language,
            "publication_place_id": Ref("place", record.publication_place) if record.publication_place else None,
            **date_values("published", record.published.parsed() if record.published else None),
        }  # fmt: skip
        # dict.fromkeys: a link given twice is one link (the primary key would refuse the second).
        creators = dict.fromkeys((c.person, c.role) for c in record.creators)
        links += [("work_creators", (Ref("person", person), role, i)) for i, (person, role) in enumerate(creators)]
        links += [("work_subjects", (subject,)) for subject in dict.fromkeys(record.subjects)]
    else:
        values = {
            "title": record.title, "summary": record.summary, "kind": record.kind,
            "part_of_id": Ref("event", record.part_of) if record.part_of else None,
            **date_values("date", record.date.parsed()),
        }  # fmt: skip
        links += [
            ("event_people", (Ref("person", p), r)) for p, r in dict.fromkeys((p.person, p.role) for p in record.people)
        ]
        links += [
            ("event_places", (Ref("place", p), r)) for p, r in dict.fromkeys((p.place, p.role) for p in record.places)
        ]
        links += [
            ("event_works", (Ref("work", w), r)) for w, r in dict.fromkeys((w.work, w.role) for w in record.works)
        ]
        links += [("event_tags", (tag,)) for tag in dict.fromkeys(record.tags)]
    document = json.dumps(canonical_document(record))
    return Prepared(
        Ref(record.type, record.slug), hashlib.sha256(document).hexdigest(),
        record.legacy_content_hash() if documents else "", document if documents else None, record.notes, values,
        links, references,
    )  # fmt: skip


RECORDS = cast(Table, Record.__table__)
RECORD_COLUMNS = (
    "id", "type", "slug", "revision", "notes", "content_hash", "created_at", "updated_at", "edited_at",
)  # fmt: skip
REVISION_COLUMNS = ("record_id", "revision", "action", "slug", "document", "changed", "author", "created_at")
# A record may refer to another of its own type; within one load the referred one is inserted first.
SELF_REFERENCES = {"place": "parent_id", "event": "part_of_id"}


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


REVISIONS = _table(Revision)
IDENTIFIERS = _table(Identifier)
REDIRECTS = _table(SlugRedirect)


# The rows a record owns: the table, then its columns - the owner's id first - in Prepared.links order.
LINK_COLUMNS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "citations": (_table(Citation), ("record_id", "source_id", "page", "quote", "note")),
    "identifiers": (_table(Identifier), ("record_id", "scheme", "value")),
    "place_names": (_table(PlaceName), ("place_id", "name", "language", "from_year", "to_year", "note")),
    "person_aliases": (_table(PersonAlias), ("person_id", "name", "kind", "language")),
    "work_creators": (_table(WorkCreator), ("work_id", "person_id", "role", "position")),
    "work_subjects": (_table(WorkSubject), ("work_id", "subject")),
    "event_people": (_table(EventPerson), ("event_id", "person_id", "role")),
    "event_places": (_table(EventPlace), ("event_id", "place_id", "role")),
    "event_works": (_table(EventWork), ("event_id", "work_id", "role")),
    "event_tags": (_table(EventTag), ("event_id", "tag")),
}


class Existing(NamedTuple):
    id: int
    content_hash: str | None
    revision: int
    deleted: bool
    edited: bool


def _write(session: Session, prepared: list[Prepared], referred: dict[Ref, int], options: LoadOptions) -> LoadSummary:
    """Insert new records, rewrite changed ones, skip unchanged ones - one executemany per table - and
    keep each written record's document in the revision history.

    Driver-level statements, not ORM objects: a bulk load writes millions of rows, and the ORM's
    unit of work (or even Core's parameter handling) costs far more than the database does.
    `referred` holds the ids of the records outside the input that the input refers to.
    A record an editor changed (or deleted) since it was loaded is a conflict: the whole load fails,
    unless `options.on_conflict` says to skip it or to overwrite it (a deleted one is then restored).
    """
    summary = LoadSummary()
    existing = _existing(session, prepared)
    now = utcnow()
    ids: dict[Ref, int] = dict(referred)
    ids.update({key: found.id for key, found in existing.items()})
    new: list[Prepared] = []
    changed: list[Prepared] = []  # live records whose content differs
    restored: list[Prepared] = []  # deleted records brought back (their type row is inserted again)
    conflicts: list[LoadIssue] = []
    renamed = _renamed(session, [r.key for r in prepared if r.key not in existing])
    skipped_deleted: set[Ref] = set()
    for record in prepared:
        found = existing.get(record.key)
        if found is None and record.key in renamed:  # an editor renamed it: never a second record
            if options.on_conflict == "skip":
                summary.skipped.append(f"{record.type}/{record.slug}")
                continue
            reason = f"was renamed {renamed[record.key]!r} by an editor: import it under that slug"
            conflicts.append(LoadIssue(record.index, record.describe(), "slug", reason))
        elif found is None:
            new.append(record)
            summary.created.append(f"{record.type}/{record.slug}")
        elif not found.deleted and found.content_hash in (record.content_hash, record.legacy_hash):
            summary.unchanged += 1
        elif (found.deleted or found.edited) and (
            options.on_conflict != "overwrite" or (found.deleted and not options.restore_deleted)
        ):
            if options.on_conflict == "skip":
                summary.skipped.append(f"{record.type}/{record.slug}")
                if found.deleted:
                    skipped_deleted.add(record.key)
                continue
            if found.deleted and options.on_conflict == "overwrite":
                reason = "was deleted by an editor; bringing it back needs an admin key"
            else:
                reason = (
                    "was deleted by an editor" if found.deleted else "was changed by an editor since it was loaded"
                ) + "; on_conflict=overwrite replaces it, on_conflict=skip keeps it"
            conflicts.append(LoadIssue(record.index, record.describe(), "(record)", reason))
        else:
            (restored if found.deleted else changed).append(record)
            summary.updated.append(f"{record.type}/{record.slug}")
    for record in new + changed + restored:  # a link to a deleted record that stays deleted
        for field_name, ref in record.references:
            if ref in skipped_deleted:
                reason = f"{ref.type} {ref.slug!r} was deleted by an editor and is skipped (on_conflict=skip)"
                conflicts.append(LoadIssue(record.index, record.describe(), field_name, reason))
    if conflicts:
        raise LoadError(conflicts, conflict=True)
    before = _documents_before(session, [existing[r.key] for r in changed + restored], now) if options.history else {}
    edited_at = now if options.edited else None
    for record in changed + restored:
        session.execute(
            update(RECORDS)
            .where(RECORDS.c.id == ids[record.key])
            .values(
                revision=RECORDS.c.revision + 1, notes=record.notes, content_hash=record.content_hash,
                updated_at=now, edited_at=edited_at, deleted_at=None,
            )
        )  # fmt: skip
    _delete_owned(session, [ids[record.key] for record in changed])
    if new:
        first = _next_record_id(session)
        ids.update({record.key: first + i for i, record in enumerate(new)})
        record_rows = [(ids[r.key], *r.key, 1, r.notes, r.content_hash, now, now, edited_at) for r in new]
        _insert_many(session, RECORDS, RECORD_COLUMNS, record_rows)

    # A Ref becomes its id; other values (str, int, float, None) are never keys of `ids` and stay.
    resolve = ids.get

    inserted_by_type: dict[str, list[Prepared]] = {}
    for record in new + restored:
        inserted_by_type.setdefault(record.key.type, []).append(record)
    for record_type, model in MODELS.items():  # in dependency order: sources, places, ...
        table = _table(model)
        inserts = inserted_by_type.get(record_type, [])
        if inserts:
            columns = ("id", *inserts[0].values)
            rows = [(ids[r.key], *map(resolve, r.values.values(), r.values.values())) for r in inserts]
            _insert_many(session, table, columns, _parents_first(rows, columns, SELF_REFERENCES.get(record_type)))
        updates = [r for r in changed if r.type == record_type]
        if updates:
            rewrite = update(table).where(table.c.id == bindparam("record_id"))
            rewrite = rewrite.values({c: bindparam(c) for c in updates[0].values})
            session.execute(rewrite, [
                {"record_id": ids[r.key], **{c: resolve(v, v) for c, v in r.values.items()}} for r in updates
            ])  # fmt: skip
    links: dict[str, list[tuple[Any, ...]]] = {}
    for record in new + changed + restored:
        own_id = ids[record.key]
        for table_name, row in record.links:
            links.setdefault(table_name, []).append((own_id, *map(resolve, row, row)))
    for table_name, rows in links.items():
        table, columns = LINK_COLUMNS[table_name]
        _insert_many(session, table, columns, rows)
    if options.history:
        previous = {r.key: existing[r.key].revision for r in changed + restored}
        _record_history(session, new, changed, restored, ids, before, options.author, now, previous, options.rewrite)
    if new or changed or restored:
        bump_data_version(session, now)
    return summary


def bump_data_version(session: Session, now: datetime) -> None:
    """Move the data version (lists' ETag) in the writing transaction: every write path calls this."""
    versions = _table(DataVersion)
    session.execute(update(versions).values(version=versions.c.version + 1, changed_at=now))


def _renamed(session: Session, keys: list[Ref]) -> dict[Ref, str]:
    """(type, old slug) -> current slug, for the keys that are a renamed record's old slug."""
    found: dict[Ref, str] = {}
    for record_type in MODELS:
        for chunk in _chunks([key.slug for key in keys if key.type == record_type]):
            rows = session.execute(
                select(REDIRECTS.c.slug, RECORDS.c.slug)
                .join(RECORDS, RECORDS.c.id == REDIRECTS.c.record_id)
                .where(REDIRECTS.c.type == record_type, REDIRECTS.c.slug.in_(chunk))
            )
            found.update({Ref(record_type, old): str(current) for old, current in rows})
    return found


def _existing(session: Session, prepared: list[Prepared]) -> dict[Ref, Existing]:
    """(type, slug) -> what the database holds of the input's records (deleted ones included)."""
    found: dict[Ref, Existing] = {}
    for record_type in MODELS:
        for chunk in _chunks([r.slug for r in prepared if r.type == record_type]):
            rows = session.execute(
                select(
                    RECORDS.c.slug, RECORDS.c.id, RECORDS.c.content_hash, RECORDS.c.revision,
                    RECORDS.c.deleted_at.is_not(None), RECORDS.c.edited_at.is_not(None),
                ).where(RECORDS.c.type == record_type, RECORDS.c.slug.in_(chunk))
            )  # fmt: skip
            found.update({
                Ref(record_type, slug): Existing(record_id, content_hash, revision, bool(deleted), bool(edited))
                for slug, record_id, content_hash, revision, deleted, edited in rows
            })  # fmt: skip
    return found


# --- the revision history ---------------------------------------------------------------------------


def _changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The top-level fields whose values differ between two documents (all of them for a creation)."""
    before, after = before or {}, after or {}
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def _latest_documents(session: Session, record_ids: list[int]) -> dict[int, tuple[int, dict[str, Any] | None]]:
    """record id -> (revision, document) of its latest revision row, for those that have one."""
    found: dict[int, tuple[int, dict[str, Any] | None]] = {}
    for chunk in _chunks(record_ids):
        latest = (
            select(REVISIONS.c.record_id, func.max(REVISIONS.c.revision).label("revision"))
            .where(REVISIONS.c.record_id.in_(chunk))
            .group_by(REVISIONS.c.record_id)
            .subquery()
        )
        rows = session.execute(
            select(REVISIONS.c.record_id, REVISIONS.c.revision, REVISIONS.c.document).join(
                latest, and_(latest.c.record_id == REVISIONS.c.record_id, latest.c.revision == REVISIONS.c.revision)
            )
        )
        found.update({rid: (rev, None if doc is None else json.loads(doc)) for rid, rev, doc in rows})
    return found


def _documents_before(session: Session, records: list[Existing], now: datetime) -> dict[int, dict[str, Any] | None]:
    """Each record's document before this change (None after a deletion), from its latest revision.
    Records whose current revision has no history row (loaded without history, or before migration
    0009) get one first, read back from the database: no version is ever lost."""
    from app.export import SessionFetch, record_documents  # the export reads documents back from the database

    latest = _latest_documents(session, [r.id for r in records])
    missing = [r for r in records if latest.get(r.id, (0, None))[0] != r.revision]
    if missing:
        documents = record_documents(SessionFetch(session), [r.id for r in missing])
        rows = [
            (r.id, r.revision, "snapshot", documents[r.id]["slug"], json.dumps(documents[r.id]).decode(), "[]",
             "(before history)", now)
            for r in missing
        ]  # fmt: skip
        _insert_many(session, REVISIONS, REVISION_COLUMNS, rows)
        latest.update({r.id: (r.revision, documents[r.id]) for r in missing})
    return {record_id: document for record_id, (_revision, document) in latest.items()}


def _record_history(
    session: Session, new: list[Prepared], changed: list[Prepared], restored: list[Prepared],
    ids: dict[Ref, int], before: dict[int, dict[str, Any] | None], author: str, now: datetime,
    previous: dict[Ref, int], rewrite: str,
) -> None:  # fmt: skip
    """One revision row per written record: its document now, and the fields that changed."""
    rows = []
    for action, records in (("create", new), (rewrite, changed), ("restore", restored)):
        for record in records:
            assert record.document is not None, "a load with history keeps documents (prepare(documents=True))"
            document = json.loads(record.document)
            old = before.get(ids[record.key])  # None after a deletion: every field is back
            rows.append((
                ids[record.key], previous.get(record.key, 0) + 1, action, record.slug, record.document.decode(),
                json.dumps(_changed_fields(old, document)).decode(), author, now,
            ))  # fmt: skip
    _insert_many(session, REVISIONS, REVISION_COLUMNS, rows)


def _next_record_id(session: Session) -> int:
    """The first free record id. Safe on SQLite because a write transaction holds the database's write
    lock (BEGIN IMMEDIATE) from its start, so no other writer can take the same ids. PostgreSQL
    (issue 6) must draw them from the id sequence instead (nextval), or later inserts collide."""
    return int(session.execute(select(func.coalesce(func.max(RECORDS.c.id), 0) + 1)).scalar_one())


def _parents_first(rows: list[tuple[Any, ...]], columns: tuple[str, ...], column: str | None) -> list[tuple[Any, ...]]:
    """Order rows so that a row referring to another row of the same load comes after it."""
    if column is None:
        return rows
    at = columns.index(column)
    by_id = {row[0]: row for row in rows}
    if not any(row[at] in by_id for row in rows):
        return rows
    depth: dict[int, int] = {}

    def depth_of(row_id: int) -> int:
        chain = []
        while row_id in by_id and row_id not in depth:
            chain.append(row_id)
            row_id = by_id[row_id][at]
        level = depth.get(row_id, 0)
        for link in reversed(chain):  # cycles were refused before writing
            level += 1
            depth[link] = level
        return level

    return sorted(rows, key=lambda row: depth_of(row[0]))


def _delete_owned(session: Session, record_ids: list[int]) -> None:
    for table, columns in LINK_COLUMNS.values():
        for chunk in _chunks(record_ids):
            session.execute(delete(table).where(table.c[columns[0]].in_(chunk)))


def _insert_many(session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT rows (tuples in `columns` order) through the driver's executemany.

    SQLAlchemy's executemany costs ~20 us a row in parameter handling; the driver alone ~2 us. The
    statement is written in the driver's parameter style, and values still go through the column
    types' bind processors (datetimes on SQLite), so the rows are what Core would have written.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    placeholder = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]  # sqlite3, psycopg
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
        f"VALUES ({', '.join(placeholder for _ in columns)})"
    )
    processors = [
        (i, p) for i, c in enumerate(columns)
        if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]  # fmt: skip
    if processors:
        rows = [_processed(row, processors) for row in rows]
    session.connection().exec_driver_sql(sql, rows)


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)
