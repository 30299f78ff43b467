"""/v1/places: places by any of their names over time, and what lies within them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.queries import places as queries
from app.queries.text import fts_query
from app.routers.common import (
    DETAIL_ERRORS,
    LIST_ERRORS,
    decode_cursor,
    json_response,
    page_response,
    parse_area,
    parse_query,
    query_docs,
    read_db,
    record_id_for_filter,
    record_id_for_path,
)
from app.schemas import PlaceDetail, PlacePage, PlaceQuery, Slug, slug_path

router = APIRouter(prefix="/v1/places", tags=["places"])


@router.get(
    "", response_model=PlacePage, summary="List places", responses=LIST_ERRORS, openapi_extra=query_docs(PlaceQuery)
)
async def list_places(request: Request) -> Response:
    """Places in alphabetical order of their current name, or nearest first with `near`."""
    query = parse_query(request, PlaceQuery)
    db = read_db(request)
    within_id = record_id_for_filter(db, "place", query.within, "within") if query.within else None
    area = parse_area(query.near, query.radius_km, query.bbox)
    page = queries.list_places(
        db,
        filters=queries.PlaceFilters(
            q=fts_query(query.q) if query.q is not None else None,
            within_id=within_id,
            kind=query.kind,
            area=area,
        ),
        limit=query.limit,
        cursor=decode_cursor(query.cursor, "distance" if query.near else "name"),
        count_cap=request.app.state.settings.total_count_cap,
    )
    return page_response(request, page, [queries.place_summary(row) for row in page.rows], query.limit)


@router.get("/{slug}", response_model=PlaceDetail, summary="Get one place", responses=DETAIL_ERRORS)
async def get_place(
    request: Request,
    slug: Annotated[Slug, slug_path("istanbul")],
) -> Response:
    """One place with its names over time, where it lies, what lies within it and events there."""
    db = read_db(request)
    return json_response(queries.place_detail(db, record_id_for_path(db, "place", slug)))
