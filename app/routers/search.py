"""/v1/search: one ranked search over events, people, places and works."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.queries import search as queries
from app.queries.text import fts_query
from app.routers.common import LIST_ERRORS, decode_cursor, page_response, parse_query, query_docs, read_db
from app.schemas import SearchPage, SearchQuery

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.get(
    "",
    response_model=SearchPage,
    summary="Search all records",
    responses=LIST_ERRORS,
    openapi_extra=query_docs(SearchQuery),
)
async def search(request: Request) -> Response:
    """Records of every type matching `q`, most relevant first (BM25: a match in a title or name
    counts most, then aliases and other names, then summaries and descriptions), with a highlighted
    snippet each. Totals are exact."""
    query = parse_query(request, SearchQuery)
    types = tuple(dict.fromkeys(query.type.split(","))) if query.type else tuple(queries.TARGETS)
    page, hits = queries.search(
        read_db(request),
        q=fts_query(query.q),
        types=types,
        limit=query.limit,
        cursor=decode_cursor(query.cursor, "rank"),
    )
    return page_response(request, page, hits, query.limit)
