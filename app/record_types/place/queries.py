"""Places: the list (any of their names, within a parent) and one place with its names over time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from app.db import ReadConnection
from app.dialects.fulltext import TextQuery, matches_text
from app.hrefs import href
from app.models import Record
from app.queries.common import Cursor, Page, Statement, alphabetical, bound, fetch_page, shape_of
from app.queries.geo import Area, distance_km, inside
from app.queries.records import citations, identifiers, linked_event, place_tree, timestamp
from app.record_types.place.model import Place, PlaceName

PL = cast(Table, Place.__table__)
R = cast(Table, Record.__table__)
NAMES = cast(Table, PlaceName.__table__)
PARENT = aliased(PL, name="parent")
PARENT_RECORD = aliased(R, name="parent_record")

LIST_COLUMNS = (
    R.c.slug, PL.c.name, PL.c.kind, PL.c.latitude, PL.c.longitude, PARENT_RECORD.c.slug.label("parent_slug"),
    PARENT.c.name.label("parent_name"), PL.c.id,
)  # fmt: skip


class PlaceRow(NamedTuple):
    """A row of the list, in LIST_COLUMNS order; sorted by name, then id."""

    slug: str
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    parent_slug: str | None
    parent_name: str | None
    id: int

    @property
    def sort_key(self) -> str:
        return self.name


class NearPlaceRow(NamedTuple):
    """A row of the places near a point: a PlaceRow's columns and the distance, nearest first."""

    slug: str
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    parent_slug: str | None
    parent_name: str | None
    distance_km: float
    id: int

    @property
    def sort_key(self) -> float:
        return self.distance_km


@dataclass(frozen=True, slots=True)
class PlaceFilters:
    q: TextQuery | None = None
    within_id: int | None = None
    kind: str | None = None
    area: Area | None = None  # near a point (then sorted by distance) or in a box

    @property
    def params(self) -> dict[str, Any]:
        values = {"within_id": self.within_id, "kind": self.kind}
        return (
            bound(values)
            | (self.q.params if self.q is not None else {})
            | (self.area.params if self.area is not None else {})
        )

    @property
    def near(self) -> bool:
        return self.area is not None and self.area.centre is not None


def _conditions(filters: PlaceFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.q is not None:
        conditions.append(matches_text(PL.c.id, "places_fts", ("name", "other_names")))
    if filters.within_id is not None:
        tree = place_tree("within_id")
        conditions += [PL.c.id.in_(select(tree.c.id)), PL.c.id != bindparam("within_id")]
    if filters.kind is not None:
        conditions.append(PL.c.kind == bindparam("kind"))
    if filters.area is not None:
        conditions += inside(filters.area)
    return conditions


SOURCE = (
    PL.join(R, R.c.id == PL.c.id)
    .outerjoin(PARENT, PARENT.c.id == PL.c.parent_id)
    .outerjoin(PARENT_RECORD, PARENT_RECORD.c.id == PARENT.c.id)
)


def _statement(filters: PlaceFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    return alphabetical(
        LIST_COLUMNS, SOURCE, _conditions(filters), name=PL.c.name, row_id=PL.c.id, after_cursor=after_cursor,
        ordered=ordered,
    )  # fmt: skip


def _nearest(filters: PlaceFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    """Places within the radius, nearest first: the rows end with (distance_km, id)."""
    distance = distance_km().label("distance_km")
    near = select(PL.c.id.label("id"), distance).where(*_conditions(filters)).subquery("near")
    if not ordered:
        return select(near.c.id)
    where = []
    if after_cursor:
        where.append(tuple_(near.c.distance_km, near.c.id) > tuple_(bindparam("after_key"), bindparam("after_id")))
    return (
        select(*LIST_COLUMNS[:-1], near.c.distance_km, near.c.id)
        .select_from(near.join(SOURCE, PL.c.id == near.c.id))
        .where(*where)
        .order_by(near.c.distance_km, near.c.id)
        .limit(bindparam("limit"))
    )


def list_places(
    db: ReadConnection, *, filters: PlaceFilters, limit: int, cursor: Cursor | None, count_cap: int
) -> Page[PlaceRow] | Page[NearPlaceRow]:
    if filters.near:
        return fetch_page(
            db, key=("places-near", shape_of(filters)), statement=partial(_nearest, filters), row=NearPlaceRow,
            params=filters.params, limit=limit, sort="distance", cursor=cursor, count_cap=count_cap,
        )  # fmt: skip
    return fetch_page(
        db, key=("places", shape_of(filters)), statement=partial(_statement, filters), row=PlaceRow,
        params=filters.params, sort="name", limit=limit, cursor=cursor, count_cap=count_cap,
    )  # fmt: skip


def place_summary(row: PlaceRow | NearPlaceRow) -> dict[str, Any]:
    """A list item (and the head of a place's page); a place near a point has its distance too."""
    parent = (
        None if row.parent_slug is None else
        {"slug": row.parent_slug, "name": row.parent_name, "href": href("place", row.parent_slug)}
    )  # fmt: skip
    summary = {
        "slug": row.slug, "name": row.name, "kind": row.kind, "latitude": row.latitude, "longitude": row.longitude,
        "parent": parent, "href": href("place", row.slug),
    }  # fmt: skip
    if isinstance(row, NearPlaceRow):
        summary["distance_km"] = round(row.distance_km, 3)
    return summary


PLACE_SQL = """
SELECT r.slug, p.name, p.kind, p.latitude, p.longitude, parent_record.slug, parent.name, p.id,
       p.description, r.notes, r.revision, r.created_at, r.updated_at
FROM places p JOIN records r ON r.id = p.id
LEFT JOIN places parent ON parent.id = p.parent_id LEFT JOIN records parent_record ON parent_record.id = parent.id
WHERE p.id = :id
"""
NAMES_SQL = """
SELECT name, language, from_year, to_year, note FROM place_names WHERE place_id = :id
ORDER BY from_year IS NULL AND to_year IS NOT NULL DESC, coalesce(from_year, to_year), id
"""
ANCESTORS_SQL = """
WITH RECURSIVE up(id, depth) AS (
  SELECT parent_id, 1 FROM places WHERE id = :id AND parent_id IS NOT NULL
  UNION ALL SELECT p.parent_id, up.depth + 1 FROM places p JOIN up ON p.id = up.id
  WHERE p.parent_id IS NOT NULL AND up.depth < 50
)
SELECT r.slug, p.name FROM up JOIN places p ON p.id = up.id JOIN records r ON r.id = p.id ORDER BY up.depth
"""
CHILDREN_SQL = """
SELECT r.slug, p.name FROM places p JOIN records r ON r.id = p.id
WHERE p.parent_id = :id ORDER BY p.name LIMIT 200
"""
EVENTS_SQL = """
WITH RECURSIVE tree(id) AS (
  SELECT CAST(:id AS INTEGER) UNION SELECT p.id FROM places p JOIN tree ON p.parent_id = tree.id
)
SELECT r.slug, e.title, e.date_json FROM events e JOIN records r ON r.id = e.id
WHERE e.id IN (SELECT event_id FROM event_places WHERE place_id IN (SELECT id FROM tree))
ORDER BY e.date_min_jdn, e.id LIMIT 20
"""


def _ref(slug: str, name: str) -> dict[str, Any]:
    return {"slug": slug, "name": name, "href": href("place", slug)}


def place_detail(db: ReadConnection, record_id: int) -> dict[str, Any]:
    row = db.one(PLACE_SQL, {"id": record_id})
    assert row is not None
    description, notes, revision, created, updated = row[8:]
    params = {"id": record_id}
    return {
        **place_summary(PlaceRow._make(row[:8])),
        "description": description,
        "names": [
            {"name": n, "language": lang, "from_year": f, "to_year": t, "note": note}
            for n, lang, f, t, note in db.all(NAMES_SQL, params)
        ],
        "ancestors": [_ref(s, n) for s, n in db.all(ANCESTORS_SQL, params)],
        "children": [_ref(s, n) for s, n in db.all(CHILDREN_SQL, params)],
        "events": [linked_event(*row) for row in db.all(EVENTS_SQL, params)],
        "identifiers": identifiers(db, record_id),
        "sources": citations(db, record_id),
        "notes": notes,
        "revision": revision,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    }
