"""Events: the list with its filters (date overlap, on this day, links, text) and one event in full."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.sql import ColumnElement

from app.dates import jdn_to_gregorian
from app.db import ReadConnection
from app.dialects.fulltext import TextQuery, matches_text
from app.dialects.json import JSON, JsonSQL
from app.hrefs import href, href_sql
from app.json import Fragment, dumps, loads
from app.models import Record
from app.queries.common import Cursor, Page, Statement, bound, fetch_page, shape_of
from app.queries.dated import DateColumns, dated_statement, on_day, overlap_arms
from app.queries.geo import Area, places_in
from app.queries.records import (
    citations_json,
    identifiers_json,
    linked,
    linked_event,
    place_tree,
    timestamp,
)
from app.record_types.event.model import Event, EventPerson, EventPlace, EventWork
from app.record_types.organisation.model import EventOrganisation
from app.record_types.place.model import Place

E = cast(Table, Event.__table__)
R = cast(Table, Record.__table__)
EP = cast(Table, EventPerson.__table__)
EO = cast(Table, EventOrganisation.__table__)
EPL = cast(Table, EventPlace.__table__)
EW = cast(Table, EventWork.__table__)
P = cast(Table, Place.__table__)

# The list's columns: EventRow's fields.
LIST_COLUMNS = (
    R.c.slug.label("slug"),
    E.c.title.label("title"),
    E.c.kind.label("kind"),
    E.c.summary.label("summary"),
    E.c.date_json.label("date_json"),
    E.c.date_min_jdn.label("date_min_jdn"),
    E.c.id.label("id"),
)


class EventRow(NamedTuple):
    """A row of the list, in LIST_COLUMNS order; sorted by its first day, then id."""

    slug: str
    title: str
    kind: str
    summary: str | None
    date: str  # the rendered date (JSON)
    min_jdn: int
    id: int

    @property
    def sort_key(self) -> int:
        return self.min_jdn


@dataclass(frozen=True, slots=True)
class EventFilters:
    """Resolved filters: slugs already turned into ids, years into inclusive JDN bounds."""

    min_jdn: int | None = None
    max_jdn: int | None = None
    month: int | None = None
    day: int | None = None
    recorded_calendar: bool = False
    person_id: int | None = None
    place_id: int | None = None
    work_id: int | None = None
    organisation_id: int | None = None
    kind: str | None = None
    q: TextQuery | None = None
    area: Area | None = None  # at a place near a point or in a box
    descending: bool = False

    @property
    def params(self) -> dict[str, Any]:
        values = {
            "min_jdn": self.min_jdn,
            "max_jdn": self.max_jdn,
            "month": self.month,
            "day": self.day,
            "person_id": self.person_id,
            "place_id": self.place_id,
            "work_id": self.work_id,
            "organisation_id": self.organisation_id,
            "kind": self.kind,
        }
        return (
            bound(values)
            | (self.q.params if self.q is not None else {})
            | (self.area.params if self.area is not None else {})
        )

    @property
    def uses_overlap(self) -> bool:
        # On this day matches single days only, whose bounds are equal: no overlap arms needed.
        return (self.min_jdn is not None or self.max_jdn is not None) and self.month is None


DATE = DateColumns(E, "date")
ROW_COLUMNS = LIST_COLUMNS[:5]  # then min_jdn and id, from the page's positions
ROWS = E.join(R, R.c.id == E.c.id)


def _conditions(filters: EventFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.month is not None:
        conditions += on_day(DATE, recorded=filters.recorded_calendar)
        if filters.min_jdn is not None:
            conditions.append(E.c.date_min_jdn >= bindparam("min_jdn"))
        if filters.max_jdn is not None:
            conditions.append(E.c.date_min_jdn <= bindparam("max_jdn"))
    if filters.person_id is not None:
        conditions.append(exists().where(EP.c.event_id == E.c.id, EP.c.person_id == bindparam("person_id")))
    if filters.place_id is not None:
        tree = place_tree("place_id")
        conditions.append(exists().where(EPL.c.event_id == E.c.id, EPL.c.place_id.in_(select(tree.c.id))))
    if filters.work_id is not None:
        conditions.append(exists().where(EW.c.event_id == E.c.id, EW.c.work_id == bindparam("work_id")))
    if filters.organisation_id is not None:
        conditions.append(exists().where(EO.c.event_id == E.c.id, EO.c.organisation_id == bindparam("organisation_id")))
    if filters.kind is not None:
        conditions.append(E.c.kind == bindparam("kind"))
    if filters.q is not None:
        conditions.append(matches_text(E.c.id, "events_fts"))
    if filters.area is not None:
        there = select(EPL.c.event_id).where(EPL.c.place_id.in_(places_in(filters.area)))
        conditions.append(E.c.id.in_(there))
    return conditions


def _statement(filters: EventFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    """The page (`ordered`) or what to count (app.queries.dated)."""
    arms = (
        [[]]
        if not filters.uses_overlap
        else overlap_arms(
            DATE, "min_jdn" if filters.min_jdn is not None else None, "max_jdn" if filters.max_jdn is not None else None
        )
    )
    return dated_statement(
        DATE, ROW_COLUMNS, ROWS, arms=arms, conditions=_conditions(filters), descending=filters.descending,
        after_cursor=after_cursor, ordered=ordered, counted=_counted_in_page(filters),
    )  # fmt: skip


def _counted_in_page(filters: EventFilters) -> bool:
    """Full-text matches are all read to be sorted by date: the page counts them too (fetch_page)."""
    return filters.q is not None and not filters.uses_overlap


def list_events(
    db: ReadConnection, *, filters: EventFilters, limit: int, cursor: Cursor | None, sort: str, count_cap: int
) -> Page[EventRow]:
    return fetch_page(
        db,
        key=("events", shape_of(filters)),
        statement=partial(_statement, filters),
        row=EventRow,
        params=filters.params,
        limit=limit,
        sort=sort,
        cursor=cursor,
        count_cap=count_cap,
        counted_in_page=_counted_in_page(filters),
    )


def event_summaries(db: ReadConnection, rows: list[EventRow], include: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The list's items, with the links asked for (`include`: people, places, works) read for the
    whole page at once."""
    link = href("event", "")  # the items' links: this and the slug (no call a row: a page is the hot path)
    items: list[dict[str, Any]] = [
        {"slug": row.slug, "title": row.title, "kind": row.kind, "summary": row.summary, "date": Fragment(row.date),
         "href": link + row.slug}
        for row in rows
    ]  # fmt: skip
    if include:
        links = page_links(db, [row.id for row in rows], include)
        for item, row in zip(items, rows, strict=True):
            item.update({kind: links[kind][row.id] for kind in include})
    return items


# --- the links of a page of events (include=) ------------------------------------------------------

# One statement per kind of link for a whole page: no query per event (N+1).
_PAGE_LINKS_SQL = {
    "people": """
SELECT ep.event_id, r.slug, p.name, ep.role FROM event_people ep
JOIN people p ON p.id = ep.person_id JOIN records r ON r.id = p.id
WHERE ep.event_id {ids} ORDER BY ep.event_id, p.name, ep.role
""",
    "places": """
SELECT epl.event_id, r.slug, pl.name, epl.role, pl.kind, pl.latitude, pl.longitude FROM event_places epl
JOIN places pl ON pl.id = epl.place_id JOIN records r ON r.id = pl.id
WHERE epl.event_id {ids} ORDER BY epl.event_id, epl.role, pl.name
""",
    "works": """
SELECT ew.event_id, r.slug, w.title, ew.role FROM event_works ew
JOIN works w ON w.id = ew.work_id JOIN records r ON r.id = w.id
WHERE ew.event_id {ids} ORDER BY ew.event_id, w.title
""",
}
PAGE_LINKS_SQL = {
    dialect: {kind: sql.format(ids=json.in_ids("ids")) for kind, sql in _PAGE_LINKS_SQL.items()}
    for dialect, json in JSON.items()
}


def page_links(db: ReadConnection, event_ids: list[int], kinds: tuple[str, ...]) -> dict[str, dict[int, list[Any]]]:
    """For each kind asked for (people, places, works): event id -> its links."""
    ids = dumps(event_ids).decode()
    found: dict[str, dict[int, list[Any]]] = {}
    for kind in kinds:
        links: dict[int, list[Any]] = {event_id: [] for event_id in event_ids}
        for event_id, slug, *fields in db.all(PAGE_LINKS_SQL[db.dialect][kind], {"ids": ids}):
            if kind == "people":
                name, role = fields
                links[event_id].append(linked("person", slug, name=name, role=role))
            elif kind == "places":
                name, role, place_kind, latitude, longitude = fields
                links[event_id].append(linked(
                    "place", slug, name=name, role=role, kind=place_kind, latitude=latitude, longitude=longitude
                ))  # fmt: skip
            else:
                title, role = fields
                links[event_id].append(linked("work", slug, title=title, role=role))
        found[kind] = links
    return found


# --- one event ------------------------------------------------------------------------------------


def _event_sql(json: JsonSQL) -> str:
    """One statement for the whole event, its lists as JSON arrays: no query per list (~13 us each
    in Python, by profile)."""
    parts = json.array(
        json.object(("slug", "slug"), ("title", "title"), ("date", json.embedded("date_json")),
                    ("href", href_sql("event", "slug"))),
        "SELECT pr.slug, p.title, p.date_json FROM events p JOIN records pr ON pr.id = p.id "
        "WHERE p.part_of_id = :id ORDER BY p.date_min_jdn, p.id",
    )  # fmt: skip
    people = json.array(
        json.object(("slug", "slug"), ("name", "name"), ("role", "role"), ("href", href_sql("person", "slug"))),
        "SELECT pr.slug, p.name, ep.role FROM event_people ep JOIN people p ON p.id = ep.person_id "
        "JOIN records pr ON pr.id = p.id WHERE ep.event_id = :id ORDER BY p.name, ep.role",
    )
    works = json.array(
        json.object(("slug", "slug"), ("title", "title"), ("role", "role"), ("href", href_sql("work", "slug"))),
        "SELECT wr.slug, w.title, ew.role FROM event_works ew JOIN works w ON w.id = ew.work_id "
        "JOIN records wr ON wr.id = w.id WHERE ew.event_id = :id ORDER BY w.title",
    )
    organisations = json.array(
        json.object(("slug", "slug"), ("name", "name"), ("role", "role"), ("href", href_sql("organisation", "slug"))),
        "SELECT o_r.slug, o.name, eo.role FROM event_organisations eo "
        "JOIN organisations o ON o.id = eo.organisation_id JOIN records o_r ON o_r.id = o.id "
        "WHERE eo.event_id = :id ORDER BY o.name, eo.role",
    )
    tags = json.array(json.quoted("tag"), "SELECT tag FROM event_tags WHERE event_id = :id ORDER BY tag")
    names = json.array(
        json.object(("name", "name"), ("language", "language"), ("note", "note")),
        "SELECT name, language, note FROM event_names WHERE event_id = :id ORDER BY id",
    )
    return f"""
SELECT e.id, e.title, e.kind, e.summary, e.date_json, e.date_min_jdn, r.notes, r.revision, r.created_at,
       r.updated_at, parent_record.slug, parent.title, parent.date_json,
       {parts} AS parts, {people} AS people, {works} AS works, {organisations} AS organisations, {tags} AS tags,
       {names} AS names,
       {identifiers_json(json)} AS identifiers, {citations_json(json)} AS sources
FROM events e JOIN records r ON r.id = e.id
LEFT JOIN events parent ON parent.id = e.part_of_id
LEFT JOIN records parent_record ON parent_record.id = parent.id
WHERE e.id = :id
"""


EVENT_SQL = {dialect: _event_sql(json) for dialect, json in JSON.items()}
# The name a place had when the event began: the English (or untagged) historical name whose years
# cover that year, else the current name. A name without years is another name, never "at the time".
# The loader lets two such names share only the year of a renaming (app.record_types.place.document.overlapping_names),
# where the later one is meant: hence `from_year DESC`, with a missing from_year lowest on both
# engines (PostgreSQL sorts NULL first in DESC, SQLite last).
PLACES_SQL = """
SELECT r.slug, pl.name, epl.role, pl.kind, pl.latitude, pl.longitude,
       (SELECT n.name FROM place_names n
        WHERE n.place_id = pl.id AND (n.from_year IS NOT NULL OR n.to_year IS NOT NULL)
          AND (n.language = 'en' OR n.language IS NULL)
          AND coalesce(n.from_year, -99999) <= :year AND :year <= coalesce(n.to_year, 99999)
        ORDER BY coalesce(n.from_year, -99999) DESC LIMIT 1) AS name_then
FROM event_places epl JOIN places pl ON pl.id = epl.place_id JOIN records r ON r.id = pl.id
WHERE epl.event_id = :id ORDER BY epl.role, pl.name
"""


def event_detail(db: ReadConnection, record_id: int) -> dict[str, Any]:
    row = db.one(EVENT_SQL[db.dialect], {"id": record_id})
    assert row is not None
    (event_id, title, kind, summary, date_json, min_jdn, notes, revision, created, updated, *rest) = row
    parent_slug, parent_title, parent_date, parts, people, works, organisations, tags, names, identifiers, sources = (
        rest
    )
    year = jdn_to_gregorian(min_jdn)[0]
    places = []
    for slug, name, role, place_kind, lat, lon, name_then in db.all(PLACES_SQL, {"id": event_id, "year": year}):
        places.append(linked(
            "place", slug, name=name, name_at_the_time=name_then or name, role=role, kind=place_kind,
            latitude=lat, longitude=lon,
        ))  # fmt: skip
    return {
        "title": title,
        "kind": kind,
        "summary": summary,
        "date": Fragment(date_json),
        "part_of": None if parent_slug is None else linked_event(parent_slug, parent_title, parent_date),
        "parts": Fragment(parts),
        "people": Fragment(people),
        "places": places,
        "works": Fragment(works),
        "organisations": Fragment(organisations),
        "tags": Fragment(tags),
        "names": loads(names),  # read: the title in the language asked is chosen from them
        "identifiers": Fragment(identifiers),
        "sources": Fragment(sources),
        "notes": notes,
        "revision": revision,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    }  # fmt: skip
