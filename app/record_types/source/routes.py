"""Sources, /v1/sources: where the records come from, and which records cite each source."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.isolation import read_db, read_endpoint
from app.languages import other_names
from app.queries.common import Cursor, Page
from app.record_types.source import queries
from app.record_types.source.schemas import SourceDetail, SourcePage, SourceQuery, SourceSummary
from app.routers import linked_data
from app.routers.common import (
    DETAIL_ERRORS,
    LIST_ERRORS,
    LIST_FORMATS,
    parse_query,
    query_docs,
    record_for_path,
)
from app.routers.formats import detail_response, list_response, negotiate
from app.schemas import NameQuery, Slug, slug_path

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


def jsonld(detail: dict[str, Any], base: str) -> dict[str, Any]:
    """schema.org's CreativeWork: a source's title (and titles in other languages), author, publisher,
    URL and date."""
    published, _ = linked_data.date_range(detail["published"])
    return {"@context": linked_data.SCHEMA, **linked_data.node(
        "CreativeWork", base, detail["href"], name=detail["title"], description=detail["description"],
        alternateName=[name["name"] for name in detail["names"]], author=detail["author"],
        publisher=detail["publisher"], url=detail["url"], datePublished=published,
    )}  # fmt: skip


@router.get(
    "/{slug}", response_model=SourceDetail, summary="Get one source", responses=DETAIL_ERRORS,
    openapi_extra=query_docs(NameQuery),
)  # fmt: skip
@read_endpoint
def get_source(
    request: Request,
    slug: Annotated[Slug, slug_path("the-exile-of-leon-trotsky")],
) -> Response:
    """One source, its titles in other languages and the records that cite it."""
    db = read_db(request)
    found = record_for_path(db, "source", slug)
    return detail_response(
        request,
        found,
        lambda: queries.source_detail(db, found.id),
        linked_data=jsonld,
        names=other_names,
        label="title",
    )
