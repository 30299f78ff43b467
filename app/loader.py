"""Load records in the record format (docs/data-format.md) into the database: validate all, then write.

`load_records` is the product's one import path: `chronicle db seed` uses it, and so will bulk import
and the benchmark generator. Nothing is written unless the whole input is valid; the write is one
transaction; loading the same input twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import json
from app.documents import EventIn, PersonIn, PlaceIn, SourceIn, WorkIn, record_adapter
from app.models import (
    Citation,
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
    Source,
    Work,
    WorkCreator,
    WorkSubject,
    date_values,
)

AnyRecordIn = SourceIn | PlaceIn | PersonIn | WorkIn | EventIn
MODELS: dict[str, type[Record]] = {"source": Source, "place": Place, "person": Person, "work": Work, "event": Event}
MAX_ERRORS = 100


class LoadError(Exception):
    """The input is not valid; `errors` name each record (index, type, slug) and field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s) in the input, nothing was written:\n" + "\n".join(errors))
        self.errors = errors


@dataclass
class LoadSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {self.unchanged} unchanged"


def read_file(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise LoadError([f"{path}: cannot be read ({exc.strerror})"]) from None
    except ValueError as exc:
        raise LoadError([f"{path}: not valid JSON ({exc})"]) from None
    if not isinstance(data, list):
        raise LoadError([f"{path}: expected a JSON array of records, found {type(data).__name__}"])
    return data


def _describe(index: int, raw: Any) -> str:
    if isinstance(raw, dict):
        return f"record {index} ({raw.get('type', '?')} {raw.get('slug', '?')!r})"
    return f"record {index}"


def _location(loc: tuple[int | str, ...]) -> str:
    # Drop the union tag pydantic adds ("event", ...) after the discriminator has chosen the model.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in MODELS else [str(p) for p in loc]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "(record)"


def validate(raw_records: Sequence[Any]) -> tuple[list[AnyRecordIn], list[str]]:
    """Validate every record's shape and values; returns the records and the errors found."""
    records: list[AnyRecordIn] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_records):
        try:
            record = record_adapter.validate_python(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                message = str(err["msg"]).removeprefix("Value error, ")
                errors.append(f"{_describe(index, raw)}: {_location(err['loc'])}: {message}")
            continue
        key = (record.type, record.slug)
        if key in seen:
            errors.append(f"{_describe(index, raw)}: slug: duplicate of record {seen[key]}")
        seen[key] = index
        records.append(record)
    return records, errors


def _slug_ids(session: Session, record_type: str, slugs: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(slugs))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(Record.slug, Record.id).where(Record.type == record_type, Record.slug.in_(chunk))
        ).all()
        found.update(dict(rows))
    return found


def _check_references(session: Session, records: list[AnyRecordIn]) -> list[str]:
    in_input = {(r.type, r.slug) for r in records}
    wanted: dict[str, set[str]] = {}
    for record in records:
        for _field, record_type, slug in record.references():
            if (record_type, slug) not in in_input:
                wanted.setdefault(record_type, set()).add(slug)
    in_database = {(t, s) for t, slugs in wanted.items() for s in _slug_ids(session, t, slugs)}
    errors = []
    for index, record in enumerate(records):
        for field_name, record_type, slug in record.references():
            if (record_type, slug) not in in_input and (record_type, slug) not in in_database:
                errors.append(
                    f"record {index} ({record.type} {record.slug!r}): {field_name}: "
                    f"no {record_type} with slug {slug!r} in the input or the database"
                )
    errors += _check_cycles(records, "place", "parent") + _check_cycles(records, "event", "part_of")
    return errors


def _check_cycles(records: list[AnyRecordIn], record_type: str, attribute: str) -> list[str]:
    parent_of = {r.slug: getattr(r, attribute) for r in records if r.type == record_type}
    errors = []
    for start in parent_of:
        seen, current = {start}, parent_of[start]
        while current is not None and current in parent_of:
            if current in seen:
                errors.append(f"{record_type} {start!r}: {attribute}: forms a cycle through {current!r}")
                break
            seen.add(current)
            current = parent_of[current]
    return errors


def load_records(session: Session, raw_records: Sequence[Any]) -> LoadSummary:
    """Validate, then write all records in the caller's transaction. Raises LoadError, writing nothing."""
    records, errors = validate(raw_records)
    if not errors:
        errors = _check_references(session, records)
    if errors:
        raise LoadError(
            errors[:MAX_ERRORS] + ([f"... and {len(errors) - MAX_ERRORS} more"] if len(errors) > MAX_ERRORS else [])
        )
    return _write(session, records)


def _write(session: Session, records: list[AnyRecordIn]) -> LoadSummary:
    summary = LoadSummary()
    existing: dict[tuple[str, str], Record] = {}
    for record_type, model in MODELS.items():
        slugs = [r.slug for r in records if r.type == record_type]
        for start in range(0, len(slugs), 500):
            rows = session.scalars(select(model).where(model.slug.in_(slugs[start : start + 500])))
            existing.update({(record_type, row.slug): row for row in rows})

    changed: list[tuple[AnyRecordIn, Record]] = []
    for record in records:
        content_hash = record.content_hash()
        row = existing.get((record.type, record.slug))
        if row is not None and row.content_hash == content_hash:
            summary.unchanged += 1
            continue
        if row is None:
            row = MODELS[record.type](slug=record.slug)
            session.add(row)
            summary.created.append(f"{record.type}/{record.slug}")
        else:
            row.revision += 1
            summary.updated.append(f"{record.type}/{record.slug}")
        row.content_hash = content_hash
        row.notes = record.notes
        for name, value in _scalar_values(record).items():
            setattr(row, name, value)
        changed.append((record, row))
    session.flush()  # ids for the new rows

    ids = {t: _slug_ids(session, t, {s for r in records for _f, rt, s in r.references() if rt == t}) for t in MODELS}
    for record, row in changed:
        _write_links(session, record, row, ids)
    session.flush()
    return summary


def _scalar_values(record: AnyRecordIn) -> dict[str, Any]:
    if isinstance(record, SourceIn):
        return {
            "title": record.title,
            "kind": record.kind,
            "url": record.url,
            "author": record.author,
            "publisher": record.publisher,
            "description": record.description,
            **date_values("published", record.published.parsed() if record.published else None),
        }
    if isinstance(record, PlaceIn):
        return {
            "name": record.name,
            "kind": record.kind,
            "description": record.description,
            "latitude": record.latitude,
            "longitude": record.longitude,
        }
    if isinstance(record, PersonIn):
        return {
            "name": record.name,
            "description": record.description,
            **date_values("born", record.born.parsed() if record.born else None),
            **date_values("died", record.died.parsed() if record.died else None),
        }
    if isinstance(record, WorkIn):
        return {
            "title": record.title,
            "kind": record.kind,
            "description": record.description,
            "publisher": record.publisher,
            "language": record.language,
            **date_values("published", record.published.parsed() if record.published else None),
        }
    return {
        "title": record.title,
        "summary": record.summary,
        "kind": record.kind,
        **date_values("date", record.date.parsed()),
    }


# Rows owned by a record, replaced whenever the record is rewritten.
_OWNED: tuple[tuple[type[Any], str], ...] = (
    (Citation, "record_id"),
    (Identifier, "record_id"),
    (PlaceName, "place_id"),
    (PersonAlias, "person_id"),
    (WorkCreator, "work_id"),
    (WorkSubject, "work_id"),
    (EventPerson, "event_id"),
    (EventPlace, "event_id"),
    (EventWork, "event_id"),
    (EventTag, "event_id"),
)


def _write_links(session: Session, record: AnyRecordIn, row: Record, ids: dict[str, dict[str, int]]) -> None:
    for model, column in _OWNED:
        session.execute(delete(model).where(getattr(model, column) == row.id))
    rows: list[Any] = [
        Citation(record_id=row.id, source_id=ids["source"][c.source], page=c.page, quote=c.quote, note=c.note)
        for c in record.citations
    ]
    rows += [Identifier(record_id=row.id, scheme=scheme, value=value) for scheme, value in record.identifiers.items()]
    if isinstance(record, PlaceIn) and isinstance(row, Place):
        row.parent_id = ids["place"][record.parent] if record.parent else None
        rows += [PlaceName(place_id=row.id, **n.model_dump()) for n in record.names]
    elif isinstance(record, PersonIn) and isinstance(row, Person):
        row.birth_place_id = ids["place"][record.birth_place] if record.birth_place else None
        row.death_place_id = ids["place"][record.death_place] if record.death_place else None
        rows += [PersonAlias(person_id=row.id, **a.model_dump()) for a in record.aliases]
    elif isinstance(record, WorkIn) and isinstance(row, Work):
        row.publication_place_id = ids["place"][record.publication_place] if record.publication_place else None
        creators = dict.fromkeys((ids["person"][c.person], c.role) for c in record.creators)
        rows += [
            WorkCreator(work_id=row.id, person_id=person_id, role=role, position=i)
            for i, (person_id, role) in enumerate(creators)
        ]
        rows += [WorkSubject(work_id=row.id, subject=s) for s in dict.fromkeys(record.subjects)]
    elif isinstance(record, EventIn) and isinstance(row, Event):
        row.part_of_id = ids["event"][record.part_of] if record.part_of else None
        # dict.fromkeys: a link given twice is one link (the primary key would refuse the second).
        people = dict.fromkeys((ids["person"][p.person], p.role) for p in record.people)
        places = dict.fromkeys((ids["place"][p.place], p.role) for p in record.places)
        works = dict.fromkeys((ids["work"][w.work], w.role) for w in record.works)
        rows += [EventPerson(event_id=row.id, person_id=person_id, role=role) for person_id, role in people]
        rows += [EventPlace(event_id=row.id, place_id=place_id, role=role) for place_id, role in places]
        rows += [EventWork(event_id=row.id, work_id=work_id, role=role) for work_id, role in works]
        rows += [EventTag(event_id=row.id, tag=t) for t in dict.fromkeys(record.tags)]
    session.add_all(rows)
