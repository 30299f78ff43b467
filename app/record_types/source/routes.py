"""Sources, /v1/sources: where the records come from, and which records cite each source."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.isolation import read_db, read_endpoint
from app.queries.common import Cursor, Page
from app.record_types.source import queries
from app.record_types.source.schemas import SourceDetail, SourcePage, SourceQuery, SourceSummary
from app.routers.common import (
    JSON_DETAIL_ERRORS,
    LIST_ERRORS,
    LIST_FORMATS,
    conditional,
    json_response,
    no_parameters,
    parse_query,
    query_docs,
    record_for_path,
    record_validators,
)
from app.routers.formats import list_response, negotiate
from app.schemas import Slug, slug_path

router = APIRouter(prefix="/v1/sources", tags=["sources"])


@router.get(
    "",
    response_model=SourcePage,
    summary="List sources",
    responses={**LIST_ERRORS, **LIST_FORMATS},
    openapi_extra=query_docs(SourceQuery),
)
@read_endpoint
def list_sources(request: Request) -> Response:
    """Sources in alphabetical order of title."""
    query = parse_query(request, SourceQuery)
    filters = queries.SourceFilters(q=query.q, kind=query.kind)
    cap = request.app.state.settings.total_count_cap

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page = queries.list_sources(db, filters=filters, limit=limit, cursor=cursor, count_cap=cap)
        return page, [queries.source_summary(row) for row in page.rows]

    return list_response(
        request, fmt=negotiate(request, query.format, geo=False), fields=query.fields, cursor=query.cursor,
        limit=query.limit,
        sort="title", read_page=read_page, item_model=SourceSummary, name="sources",
    )  # fmt: skip


@router.get("/{slug}", response_model=SourceDetail, summary="Get one source", responses=JSON_DETAIL_ERRORS)
@read_endpoint
def get_source(
    request: Request,
    slug: Annotated[Slug, slug_path("the-exile-of-leon-trotsky")],
) -> Response:
    """One source and the records that cite it."""
    no_parameters(request)
    db = read_db(request)
    found = record_for_path(db, "source", slug)
    return conditional(request, record_validators(found), lambda: json_response(queries.source_detail(db, found.id)))
