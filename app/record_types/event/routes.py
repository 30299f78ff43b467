"""Events, /v1/events: what happened, filtered by date, day of the year, people, places, works and text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.dates import days_in_month, year_label, years_label
from app.db import ReadConnection
from app.errors import bad_parameter
from app.hrefs import href
from app.isolation import read_db, read_endpoint
from app.languages import other_names
from app.queries.common import Cursor, Page, year_range
from app.queries.text import fts_query
from app.record_types.event import queries
from app.record_types.event.schemas import EventDetail, EventPage, EventQuery
from app.routers import linked_data
from app.routers.common import (
    GEO_DETAIL_ERRORS,
    GEO_LIST_FORMATS,
    LIST_ERRORS,
    parse_area,
    parse_query,
    query_docs,
    record_for_path,
    record_id_for_filter,
)
from app.routers.formats import detail_response, list_response, negotiate
from app.schemas import EventFilterQuery, EventSummary, NameQuery, Slug, slug_path

router = APIRouter(prefix="/v1/events", tags=["events"])


def event_filters(request: Request, query: EventFilterQuery, *, descending: bool = False) -> queries.EventFilters:
    """Check what one parameter alone cannot, and resolve slugs and years."""
    if query.year is not None and (query.from_ is not None or query.to is not None):
        raise bad_parameter("year", "give either year or from/to, not both")
    if query.from_ is not None and query.to is not None and query.from_ > query.to:
        raise bad_parameter("from", f"from={query.from_} is after to={query.to}")
    if (query.month is None) != (query.day is None):
        raise bad_parameter("day" if query.day is None else "month", "on this day needs both month and day")
    if query.month is not None and query.day is not None and query.day > days_in_month("julian", 2000, query.month):
        raise bad_parameter("day", f"month {query.month} has no day {query.day}")
    if query.calendar == "julian" and query.month is None:
        raise bad_parameter("calendar", "calendar applies to month and day only")
    min_jdn, max_jdn = year_range(
        query.year if query.year is not None else query.from_, query.year if query.year is not None else query.to
    )
    db = read_db(request)
    return queries.EventFilters(
        min_jdn=min_jdn,
        max_jdn=max_jdn,
        month=query.month,
        day=query.day,
        recorded_calendar=query.calendar == "julian",
        person_id=record_id_for_filter(db, "person", query.person, "person") if query.person else None,
        place_id=record_id_for_filter(db, "place", query.place, "place") if query.place else None,
        work_id=record_id_for_filter(db, "work", query.work, "work") if query.work else None,
        organisation_id=(
            record_id_for_filter(db, "organisation", query.organisation, "organisation") if query.organisation else None
        ),
        kind=query.kind,
        q=fts_query(query.q) if query.q is not None else None,
        area=parse_area(query.near, query.radius_km, query.bbox),
        descending=descending,
    )


@router.get(
    "",
    response_model=EventPage,
    summary="List events",
    responses={**LIST_ERRORS, **GEO_LIST_FORMATS},
    openapi_extra=query_docs(EventQuery),
)
@read_endpoint
def list_events(request: Request) -> Response:
    """Events in date order; every filter combines with the others (AND)."""
    query = parse_query(request, EventQuery)
    filters = event_filters(request, query, descending=query.sort == "-date")
    cap = request.app.state.settings.total_count_cap
    include = tuple(dict.fromkeys(query.include.split(","))) if query.include else ()
    fmt = negotiate(request, query.format, geo=True)
    if fmt == "geojson" and "places" not in include:
        include += ("places",)  # the geometry

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page = queries.list_events(db, filters=filters, limit=limit, cursor=cursor, sort=query.sort, count_cap=cap)
        return page, queries.event_summaries(db, page.rows, include)

    searched = searched_years(query)
    return list_response(
        request, fmt=fmt, fields=query.fields, cursor=query.cursor, limit=query.limit, sort=query.sort,
        read_page=read_page, item_model=EventSummary, name="events", features=event_features,
        extra=None if searched is None else lambda _db: {"searched": searched},
    )  # fmt: skip


def searched_years(query: EventFilterQuery) -> dict[str, Any] | None:
    """The years searched, as given and in words (schemas.Searched): `year=-44` is 45 BCE in the
    astronomical numbering the API uses, which few clients expect, so the answer says so."""
    if query.year is not None:
        return {"year": query.year, "label": year_label(query.year)}
    if query.from_ is None and query.to is None:
        return None
    given = {"from": query.from_, "to": query.to}
    label = years_label(query.from_, query.to)
    return {**{name: year for name, year in given.items() if year is not None}, "label": label}


def event_features(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GeoJSON Features: an event is where its places are (a Point, a MultiPoint, or no geometry)."""
    return [feature(item) for item in items]


def feature(detail: dict[str, Any]) -> dict[str, Any]:
    """One event as a GeoJSON Feature."""
    points = [[p["longitude"], p["latitude"]] for p in detail["places"] if p["latitude"] is not None]
    geometry = (
        None if not points else
        {"type": "Point", "coordinates": points[0]} if len(points) == 1 else
        {"type": "MultiPoint", "coordinates": points}
    )  # fmt: skip
    return {"type": "Feature", "id": detail["slug"], "geometry": geometry, "properties": detail}


def jsonld(detail: dict[str, Any], base: str) -> dict[str, Any]:
    """schema.org's Event: dates, places, people, the larger event and its parts, tags."""
    start, end = linked_data.date_range(detail["date"])
    return {"@context": linked_data.SCHEMA, **linked_data.node(
        "Event", base, href("event", detail["slug"]), name=detail["title"], description=detail["summary"],
        startDate=start, endDate=end,
        location=[linked_data.ref("Place", base, place) for place in detail["places"]],
        attendee=[linked_data.ref("Person", base, person) for person in detail["people"]],
        superEvent=linked_data.ref("Event", base, detail["part_of"], "title") if detail["part_of"] else None,
        subEvent=[linked_data.ref("Event", base, part, "title") for part in detail["parts"]],
        keywords=detail["tags"], sameAs=linked_data.same_as(detail["identifiers"]),
    )}  # fmt: skip


@router.get(
    "/{slug}",
    response_model=EventDetail,
    summary="Get one event",
    responses=GEO_DETAIL_ERRORS,
    openapi_extra=query_docs(NameQuery),
)
@read_endpoint
def get_event(
    request: Request,
    slug: Annotated[Slug, slug_path("october-revolution")],
) -> Response:
    """One event with its people, places (and their names at the time), works, parts and sources."""
    db = read_db(request)
    found = record_for_path(db, "event", slug)
    return detail_response(
        request, found, lambda: {"slug": slug, **queries.event_detail(db, found.id)},
        linked_data=jsonld, feature=feature, names=other_names, label="title",
    )  # fmt: skip
