"""People: the list (names and aliases, birth years, alive in a year) and one person in full."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, exists, func, literal_column, or_
from sqlalchemy.sql import ColumnElement

from app.db import ReadConnection
from app.dialects.fulltext import TextQuery, matches_text
from app.hrefs import href
from app.json import Fragment
from app.models import Record, name_key
from app.queries.common import (
    Cursor,
    Page,
    Statement,
    Total,
    alphabetical,
    bound,
    count_up_to,
    fetch_page,
    overlaps,
    shape_of,
)
from app.queries.records import citations, fragment, identifiers, linked_event, timestamp
from app.record_types.organisation.model import Membership
from app.record_types.organisation.queries import memberships
from app.record_types.person.model import Person, PersonAlias

PE = cast(Table, Person.__table__)
R = cast(Table, Record.__table__)
AL = cast(Table, PersonAlias.__table__)
MS = cast(Table, Membership.__table__)
# Someone whose death is not recorded counts as alive for up to 120 years after birth (documented).
LIFESPAN_DAYS = 43_830

LIST_COLUMNS = (R.c.slug, PE.c.name_key, PE.c.name, PE.c.description, PE.c.born_json, PE.c.died_json, PE.c.id)


class PersonRow(NamedTuple):
    """A row of the list, in LIST_COLUMNS order; sorted by name_key, then id."""

    slug: str
    name_key: str
    name: str
    description: str | None
    born: str | None  # the rendered date (JSON)
    died: str | None
    id: int

    @property
    def sort_key(self) -> str:
        return self.name_key


class DatedPersonRow(NamedTuple):
    """A row of the births or the deaths of a day or a year (app.queries.calendar), sorted by that date."""

    slug: str
    name: str
    description: str | None
    born: str | None
    died: str | None
    min_jdn: int  # of the birth or the death
    id: int

    @property
    def sort_key(self) -> int:
        return self.min_jdn


@dataclass(frozen=True, slots=True)
class PeopleFilters:
    q: TextQuery | None = None
    name_prefix: str | None = None
    born_lo: int | None = None
    born_hi: int | None = None
    alive_lo: int | None = None
    alive_hi: int | None = None
    dated: bool | None = None
    member_of_id: int | None = None  # an organisation
    member_lo: int | None = None  # a year a membership overlaps (its first and last day, JDN)
    member_hi: int | None = None

    def unplaced(self) -> PeopleFilters:
        """The people these filters would consider but `alive_in` cannot place: those with no life date."""
        return replace(self, alive_lo=None, alive_hi=None, dated=False)

    @property
    def params(self) -> dict[str, Any]:
        values = {
            # Keys starting with the prefix lie in [prefix, prefix + the highest code point).
            "prefix_lo": name_key(self.name_prefix) if self.name_prefix else None,
            "prefix_hi": name_key(self.name_prefix) + "\U0010ffff" if self.name_prefix else None,
            "lo_jdn": self.born_lo,
            "hi_jdn": self.born_hi,
            "alive_lo": self.alive_lo,
            "alive_hi": self.alive_hi,
            "member_of_id": self.member_of_id,
            "member_lo": self.member_lo,
            "member_hi": self.member_hi,
        }
        return bound(values) | (self.q.params if self.q is not None else {})


def _conditions(filters: PeopleFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.q is not None:
        conditions.append(matches_text(PE.c.id, "people_fts", ("name", "aliases")))
    if filters.name_prefix is not None:
        conditions += [PE.c.name_key >= bindparam("prefix_lo"), PE.c.name_key < bindparam("prefix_hi")]
    conditions += overlaps(
        PE.c.born_min_jdn, PE.c.born_max_jdn, filters.born_lo is not None, filters.born_hi is not None
    )
    if filters.dated is False:
        # The very terms of ix_people_undated's WHERE, so that SQLite uses that partial index.
        conditions += [PE.c.born_min_jdn.is_(None), PE.c.died_min_jdn.is_(None)]
    elif filters.dated:
        conditions.append(or_(PE.c.born_min_jdn.is_not(None), PE.c.died_min_jdn.is_not(None)))
    if filters.alive_lo is not None:
        lifespan: ColumnElement[int] = literal_column(str(LIFESPAN_DAYS))
        conditions += [
            or_(PE.c.born_min_jdn.is_not(None), PE.c.died_max_jdn.is_not(None)),
            func.coalesce(PE.c.born_min_jdn, PE.c.died_min_jdn - lifespan) <= bindparam("alive_hi"),
            func.coalesce(PE.c.died_max_jdn, PE.c.born_max_jdn + lifespan) >= bindparam("alive_lo"),
        ]
    if filters.member_of_id is not None or filters.member_lo is not None:
        conditions.append(exists().where(*_membership(filters)))
    return conditions


def _membership(filters: PeopleFilters) -> list[ColumnElement[bool]]:
    """A membership of the person's that the filters ask for: in the organisation, in the year. A
    membership's unknown start is taken as the person's birth, its unknown end as their death; one
    with neither a start nor an end cannot be placed in a year."""
    terms: list[ColumnElement[bool]] = [MS.c.person_id == PE.c.id]
    if filters.member_of_id is not None:
        terms.append(MS.c.organisation_id == bindparam("member_of_id"))
    if filters.member_lo is not None:
        terms += [
            or_(MS.c.start_min_jdn.is_not(None), MS.c.end_max_jdn.is_not(None)),
            or_(func.coalesce(MS.c.start_min_jdn, PE.c.born_min_jdn).is_(None),
                func.coalesce(MS.c.start_min_jdn, PE.c.born_min_jdn) <= bindparam("member_hi")),
            or_(func.coalesce(MS.c.end_max_jdn, PE.c.died_max_jdn).is_(None),
                func.coalesce(MS.c.end_max_jdn, PE.c.died_max_jdn) >= bindparam("member_lo")),
        ]  # fmt: skip
    return terms


def _statement(filters: PeopleFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    return alphabetical(
        LIST_COLUMNS, PE.join(R, R.c.id == PE.c.id), _conditions(filters),
        name=PE.c.name_key, row_id=PE.c.id, after_cursor=after_cursor, ordered=ordered,
    )  # fmt: skip


def list_people(
    db: ReadConnection, *, filters: PeopleFilters, limit: int, cursor: Cursor | None, count_cap: int
) -> Page[PersonRow]:
    return fetch_page(
        db, key=("people", shape_of(filters)), statement=partial(_statement, filters), row=PersonRow,
        params=filters.params, sort="name", limit=limit, cursor=cursor, count_cap=count_cap,
    )  # fmt: skip


def count_people(db: ReadConnection, *, filters: PeopleFilters, cap: int) -> Total:
    """How many people match, counted up to `cap` (then a lower bound), as a list's total is."""
    return count_up_to(
        db, key=("people", shape_of(filters)), statement=partial(_statement, filters), params=filters.params, cap=cap
    )


def person_summary(row: PersonRow | DatedPersonRow) -> dict[str, Any]:
    """An item of a list of people (/v1/people, and the births and deaths of a day or a year)."""
    return {
        "slug": row.slug, "name": row.name, "description": row.description, "born": fragment(row.born),
        "died": fragment(row.died), "href": href("person", row.slug),
    }  # fmt: skip


def person_summaries(rows: Sequence[PersonRow | DatedPersonRow]) -> list[dict[str, Any]]:
    """The items of a page of people, as person_summary makes each, in one comprehension: a call a
    row costs ~0.4 us, and a list of people is a hot path."""
    link = href("person", "")
    return [
        {"slug": row.slug, "name": row.name, "description": row.description, "born": fragment(row.born),
         "died": fragment(row.died), "href": link + row.slug}
        for row in rows
    ]  # fmt: skip


PERSON_SQL = """
SELECT p.id, p.name, p.description, p.born_json, p.died_json, r.notes, r.revision, r.created_at, r.updated_at,
       birth_record.slug, birth.name, death_record.slug, death.name
FROM people p JOIN records r ON r.id = p.id
LEFT JOIN places birth ON birth.id = p.birth_place_id LEFT JOIN records birth_record ON birth_record.id = birth.id
LEFT JOIN places death ON death.id = p.death_place_id LEFT JOIN records death_record ON death_record.id = death.id
WHERE p.id = :id
"""
ALIASES_SQL = "SELECT name, kind, language FROM person_aliases WHERE person_id = :id ORDER BY id"
EVENTS_SQL = """
SELECT r.slug, e.title, e.date_json, ep.role FROM event_people ep
JOIN events e ON e.id = ep.event_id JOIN records r ON r.id = e.id
WHERE ep.person_id = :id ORDER BY e.date_min_jdn, e.id LIMIT 100
"""
WORKS_SQL = """
SELECT r.slug, w.title, wc.role, w.published_json FROM work_creators wc
JOIN works w ON w.id = wc.work_id JOIN records r ON r.id = w.id
WHERE wc.person_id = :id ORDER BY w.published_min_jdn, w.title LIMIT 100
"""


def _place(slug: str | None, name: str | None) -> dict[str, Any] | None:
    return None if slug is None else {"slug": slug, "name": name, "href": href("place", slug)}


def person_detail(db: ReadConnection, record_id: int) -> dict[str, Any]:
    row = db.one(PERSON_SQL, {"id": record_id})
    assert row is not None
    person_id, name, description, born, died, notes, revision, created, updated, *places = row
    return {
        "name": name,
        "description": description,
        "born": Fragment(born) if born else None,
        "died": Fragment(died) if died else None,
        "aliases": [{"name": n, "kind": k, "language": lang} for n, k, lang in db.all(ALIASES_SQL, {"id": person_id})],
        "birth_place": _place(places[0], places[1]),
        "death_place": _place(places[2], places[3]),
        "events": [{**linked_event(s, t, d), "role": role} for s, t, d, role in db.all(EVENTS_SQL, {"id": person_id})],
        "works": [
            {"slug": s, "title": t, "role": role, "published": Fragment(p) if p else None, "href": href("work", s)}
            for s, t, role, p in db.all(WORKS_SQL, {"id": person_id})
        ],
        "memberships": memberships(db, person_id),
        "identifiers": identifiers(db, person_id),
        "sources": citations(db, person_id),
        "notes": notes,
        "revision": revision,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    }
