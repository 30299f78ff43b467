"""Organisations: the list (by name or any other name, kind, active in a year) and one in full."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from app.db import ReadConnection
from app.dialects.fulltext import TextQuery, matches_text
from app.json import Fragment
from app.models import Record
from app.queries.common import Cursor, Page, Statement, alphabetical, bound, fetch_page, shape_of
from app.queries.records import citations, identifiers, linked, linked_event, timestamp
from app.record_types.organisation.model import Organisation
from app.record_types.place.model import Place

ORG = cast(Table, Organisation.__table__)
R = cast(Table, Record.__table__)
SEAT = aliased(cast(Table, Place.__table__), name="seat")
SEAT_RECORD = aliased(R, name="seat_record")

LIST_COLUMNS = (
    R.c.slug, ORG.c.name, ORG.c.kind, ORG.c.founded_json, ORG.c.dissolved_json, SEAT_RECORD.c.slug.label("seat_slug"),
    SEAT.c.name.label("seat_name"), SEAT.c.latitude, SEAT.c.longitude, ORG.c.id,
)  # fmt: skip
SOURCE = (
    ORG.join(R, R.c.id == ORG.c.id)
    .outerjoin(SEAT, SEAT.c.id == ORG.c.seat_id)
    .outerjoin(SEAT_RECORD, SEAT_RECORD.c.id == SEAT.c.id)
)


class OrganisationRow(NamedTuple):
    """A row of the list, in LIST_COLUMNS order; sorted by name, then id."""

    slug: str
    name: str
    kind: str
    founded: str | None  # the rendered date (JSON)
    dissolved: str | None
    seat_slug: str | None
    seat_name: str | None
    latitude: float | None
    longitude: float | None
    id: int

    @property
    def sort_key(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class OrganisationFilters:
    q: TextQuery | None = None
    kind: str | None = None
    active_lo: int | None = None  # the first and last day (JDN) of the year it was active in
    active_hi: int | None = None

    @property
    def params(self) -> dict[str, Any]:
        values = {"kind": self.kind, "active_lo": self.active_lo, "active_hi": self.active_hi}
        return bound(values) | (self.q.params if self.q is not None else {})


def _conditions(filters: OrganisationFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.q is not None:
        conditions.append(matches_text(ORG.c.id, "organisations_fts", ("name", "other_names")))
    if filters.kind is not None:
        conditions.append(ORG.c.kind == bindparam("kind"))
    if filters.active_lo is not None:
        # Founded by the year's end and not dissolved before its start; an organisation whose founding
        # is unknown cannot be placed in a year.
        conditions += [
            ORG.c.founded_min_jdn <= bindparam("active_hi"),
            (ORG.c.dissolved_max_jdn.is_(None)) | (ORG.c.dissolved_max_jdn >= bindparam("active_lo")),
        ]
    return conditions


def _statement(filters: OrganisationFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    return alphabetical(
        LIST_COLUMNS, SOURCE, _conditions(filters), name=ORG.c.name, row_id=ORG.c.id, after_cursor=after_cursor,
        ordered=ordered,
    )  # fmt: skip


def list_organisations(
    db: ReadConnection, *, filters: OrganisationFilters, limit: int, cursor: Cursor | None, count_cap: int
) -> Page[OrganisationRow]:
    return fetch_page(
        db, key=("organisations", shape_of(filters)), statement=partial(_statement, filters), row=OrganisationRow,
        params=filters.params, sort="name", limit=limit, cursor=cursor, count_cap=count_cap,
    )  # fmt: skip


def _date(rendered: str | None) -> Fragment | None:
    return None if rendered is None else Fragment(rendered)


def organisation_summary(row: OrganisationRow) -> dict[str, Any]:
    """A list item, and the head of an organisation's page."""
    seat = None if row.seat_slug is None else linked("place", row.seat_slug, name=row.seat_name)
    if seat is not None:
        seat |= {"latitude": row.latitude, "longitude": row.longitude}
    return {
        "slug": row.slug, "name": row.name, "kind": row.kind, "founded": _date(row.founded),
        "dissolved": _date(row.dissolved), "seat": seat, "href": linked("organisation", row.slug)["href"],
    }  # fmt: skip


ORGANISATION_SQL = """
SELECT r.slug, o.name, o.kind, o.founded_json, o.dissolved_json, seat_record.slug, seat.name, seat.latitude,
       seat.longitude, o.id, o.description, parent_record.slug, parent.name, r.notes, r.revision, r.created_at,
       r.updated_at
FROM organisations o JOIN records r ON r.id = o.id
LEFT JOIN places seat ON seat.id = o.seat_id LEFT JOIN records seat_record ON seat_record.id = seat.id
LEFT JOIN organisations parent ON parent.id = o.part_of_id
LEFT JOIN records parent_record ON parent_record.id = parent.id
WHERE o.id = :id
"""
NAMES_SQL = """
SELECT name, language, from_year, to_year, note FROM organisation_names WHERE organisation_id = :id
ORDER BY from_year IS NULL AND to_year IS NOT NULL DESC, coalesce(from_year, to_year), id
"""
PARTS_SQL = """
SELECT r.slug, o.name FROM organisations o JOIN records r ON r.id = o.id WHERE o.part_of_id = :id ORDER BY o.name, o.id
"""
PREDECESSORS_SQL = """
SELECT r.slug, o.name FROM organisation_predecessors p JOIN organisations o ON o.id = p.predecessor_id
JOIN records r ON r.id = o.id WHERE p.organisation_id = :id ORDER BY o.name, o.id
"""
SUCCESSORS_SQL = """
SELECT r.slug, o.name FROM organisation_predecessors p JOIN organisations o ON o.id = p.organisation_id
JOIN records r ON r.id = o.id WHERE p.predecessor_id = :id ORDER BY o.name, o.id
"""
MEMBERS_SQL = """
SELECT r.slug, p.name, m.role, m.start_json, m.end_json, m.note FROM memberships m
JOIN people p ON p.id = m.person_id JOIN records r ON r.id = p.id
WHERE m.organisation_id = :id ORDER BY m.start_min_jdn IS NULL, m.start_min_jdn, p.name_key, m.id LIMIT 200
"""
EVENTS_SQL = """
SELECT r.slug, e.title, e.date_json, eo.role FROM event_organisations eo JOIN events e ON e.id = eo.event_id
JOIN records r ON r.id = e.id WHERE eo.organisation_id = :id ORDER BY e.date_min_jdn, e.id, eo.role LIMIT 50
"""


def _refs(db: ReadConnection, sql: str, record_id: int) -> list[dict[str, Any]]:
    return [linked("organisation", slug, name=name) for slug, name in db.all(sql, {"id": record_id})]


def organisation_detail(db: ReadConnection, record_id: int) -> dict[str, Any]:
    row = db.one(ORGANISATION_SQL, {"id": record_id})
    assert row is not None
    description, parent_slug, parent_name, notes, revision, created, updated = row[10:]
    params = {"id": record_id}
    return {
        **organisation_summary(OrganisationRow._make(row[:10])),
        "description": description,
        "names": [
            {"name": n, "language": lang, "from_year": f, "to_year": t, "note": note}
            for n, lang, f, t, note in db.all(NAMES_SQL, params)
        ],
        "part_of": None if parent_slug is None else linked("organisation", parent_slug, name=parent_name),
        "parts": _refs(db, PARTS_SQL, record_id),
        "predecessors": _refs(db, PREDECESSORS_SQL, record_id),
        "successors": _refs(db, SUCCESSORS_SQL, record_id),
        "members": [
            {**linked("person", slug, name=name), "role": role, "start": _date(start), "end": _date(end), "note": note}
            for slug, name, role, start, end, note in db.all(MEMBERS_SQL, params)
        ],
        "events": [
            {**linked_event(slug, title, date), "role": role} for slug, title, date, role in db.all(EVENTS_SQL, params)
        ],
        "identifiers": identifiers(db, record_id),
        "sources": citations(db, record_id),
        "notes": notes,
        "revision": revision,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    }


MEMBERSHIPS_SQL = """
SELECT r.slug, o.name, m.role, m.start_json, m.end_json, m.note FROM memberships m
JOIN organisations o ON o.id = m.organisation_id JOIN records r ON r.id = o.id
WHERE m.person_id = :id ORDER BY m.id
"""


def memberships(db: ReadConnection, person_id: int) -> list[dict[str, Any]]:
    """A person's memberships, in the order recorded: for the person's own page."""
    return [
        {
            **linked("organisation", slug, name=name),
            "role": role,
            "start": _date(start),
            "end": _date(end),
            "note": note,
        }
        for slug, name, role, start, end, note in db.all(MEMBERSHIPS_SQL, {"id": person_id})
    ]


EVENT_ORGANISATIONS_SQL = """
SELECT r.slug, o.name, eo.role FROM event_organisations eo JOIN organisations o ON o.id = eo.organisation_id
JOIN records r ON r.id = o.id WHERE eo.event_id = :id ORDER BY o.name, o.id, eo.role
"""


def event_organisations(db: ReadConnection, event_id: int) -> list[dict[str, Any]]:
    """The organisations an event links, with their roles: for the event's own page."""
    return [
        {**linked("organisation", slug, name=name), "role": role}
        for slug, name, role in db.all(EVENT_ORGANISATIONS_SQL, {"id": event_id})
    ]
