"""Search, /v1/search: one ranked search over events, people, places and works."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.isolation import read_endpoint
from app.queries import search as queries
from app.queries.common import Cursor, Page
from app.queries.text import fts_query
from app.routers.common import LIST_ERRORS, LIST_FORMATS, parse_query, query_docs
from app.routers.formats import list_response, negotiate
from app.schemas import SearchHit, SearchPage, SearchQuery

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.get(
    "",
    response_model=SearchPage,
    summary="Search all records",
    responses={**LIST_ERRORS, **LIST_FORMATS},
    openapi_extra=query_docs(SearchQuery),
)
@read_endpoint
def search(request: Request) -> Response:
    """Records of every type matching `q`, most relevant first (BM25: a match in a title or name
    counts most, then aliases and other names, then summaries and descriptions), with a highlighted
    snippet each. Totals are exact."""
    query = parse_query(request, SearchQuery)
    types = tuple(dict.fromkeys(query.type.split(","))) if query.type else tuple(queries.TARGETS)
    q = fts_query(query.q)

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        return queries.search(db, q=q, types=types, limit=limit, cursor=cursor)

    return list_response(
        request, fmt=negotiate(request, query.format, geo=False), fields=query.fields, cursor=query.cursor,
        limit=query.limit,
        sort="rank", read_page=read_page, item_model=SearchHit, name="search",
    )  # fmt: skip
