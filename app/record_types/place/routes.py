"""Places, /v1/places: places by any of their names over time, and what lies within them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.hrefs import href
from app.isolation import read_db, read_endpoint
from app.languages import current_names
from app.queries.common import Cursor, Page
from app.queries.text import fts_query
from app.record_types.place import queries
from app.record_types.place.schemas import PlaceDetail, PlacePage, PlaceQuery, PlaceSummary
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
from app.schemas import NameQuery, Slug, slug_path

router = APIRouter(prefix="/v1/places", tags=["places"])


@router.get(
    "",
    response_model=PlacePage,
    summary="List places",
    responses={**LIST_ERRORS, **GEO_LIST_FORMATS},
    openapi_extra=query_docs(PlaceQuery),
)
@read_endpoint
def list_places(request: Request) -> Response:
    """Places in alphabetical order of their current name, or nearest first with `near`."""
    query = parse_query(request, PlaceQuery)
    db = read_db(request)
    within_id = record_id_for_filter(db, "place", query.within, "within") if query.within else None
    area = parse_area(query.near, query.radius_km, query.bbox)
    filters = queries.PlaceFilters(
        q=fts_query(query.q) if query.q is not None else None, within_id=within_id, kind=query.kind, area=area
    )
    cap = request.app.state.settings.total_count_cap

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page = queries.list_places(db, filters=filters, limit=limit, cursor=cursor, count_cap=cap)
        return page, [queries.place_summary(row) for row in page.rows]

    return list_response(
        request, fmt=negotiate(request, query.format, geo=True), fields=query.fields, cursor=query.cursor,
        limit=query.limit,
        sort="distance" if query.near else "name", read_page=read_page, item_model=PlaceSummary, name="places",
        features=place_features,
    )  # fmt: skip


def place_features(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GeoJSON Features: a place is a Point (longitude, latitude), or has no geometry when not located."""
    return [feature(item) for item in items]


def feature(detail: dict[str, Any]) -> dict[str, Any]:
    """One place as a GeoJSON Feature."""
    located = detail["latitude"] is not None and detail["longitude"] is not None
    geometry = {"type": "Point", "coordinates": [detail["longitude"], detail["latitude"]]} if located else None
    return {"type": "Feature", "id": detail["slug"], "geometry": geometry, "properties": detail}


def jsonld(detail: dict[str, Any], base: str) -> dict[str, Any]:
    """schema.org's Place: names, coordinates, the place it lies within."""
    located = detail["latitude"] is not None and detail["longitude"] is not None
    return {"@context": linked_data.SCHEMA, **linked_data.node(
        "Place", base, href("place", detail["slug"]), name=detail["name"], description=detail["description"],
        alternateName=[name["name"] for name in detail["names"]],
        geo={"@type": "GeoCoordinates", "latitude": detail["latitude"], "longitude": detail["longitude"]}
        if located else None,
        containedInPlace=linked_data.ref("Place", base, detail["parent"]) if detail["parent"] else None,
        sameAs=linked_data.same_as(detail["identifiers"]),
    )}  # fmt: skip


@router.get(
    "/{slug}",
    response_model=PlaceDetail,
    summary="Get one place",
    responses=GEO_DETAIL_ERRORS,
    openapi_extra=query_docs(NameQuery),
)
@read_endpoint
def get_place(
    request: Request,
    slug: Annotated[Slug, slug_path("istanbul")],
) -> Response:
    """One place with its names over time, where it lies, what lies within it and events there."""
    db = read_db(request)
    found = record_for_path(db, "place", slug)
    return detail_response(
        request, found, lambda: queries.place_detail(db, found.id), linked_data=jsonld,
        feature=feature, names=current_names,
    )  # fmt: skip
