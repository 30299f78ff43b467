"""Works, /v1/works: books and articles, by title, author, subject and publication years."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.errors import bad_parameter
from app.hrefs import href
from app.isolation import read_db, read_endpoint
from app.languages import other_names
from app.queries.common import Cursor, Page, year_range
from app.queries.text import fts_query
from app.record_types.work import queries
from app.record_types.work.schemas import WorkDetail, WorkPage, WorkQuery
from app.routers import linked_data
from app.routers.common import (
    DETAIL_ERRORS,
    LIST_ERRORS,
    LIST_FORMATS,
    parse_query,
    query_docs,
    record_for_path,
    record_id_for_filter,
)
from app.routers.formats import detail_response, list_response, negotiate
from app.schemas import NameQuery, Slug, WorkSummary, slug_path

router = APIRouter(prefix="/v1/works", tags=["works"])


@router.get(
    "",
    response_model=WorkPage,
    summary="List works",
    responses={**LIST_ERRORS, **LIST_FORMATS},
    openapi_extra=query_docs(WorkQuery),
)
@read_endpoint
def list_works(request: Request) -> Response:
    """Works in alphabetical order of title, each with its creators."""
    query = parse_query(request, WorkQuery)
    first, last = query.published_from, query.published_to
    if first is not None and last is not None and first > last:
        raise bad_parameter("published_from", f"published_from={first} is after published_to={last}")
    db = read_db(request)
    author_id = record_id_for_filter(db, "person", query.author, "author") if query.author else None
    lo, hi = year_range(first, last)
    filters = queries.WorkFilters(
        q=fts_query(query.q) if query.q is not None else None,
        author_id=author_id,
        subject=query.subject,
        published_lo=lo,
        published_hi=hi,
    )
    cap = request.app.state.settings.total_count_cap

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page = queries.list_works(db, filters=filters, limit=limit, cursor=cursor, count_cap=cap)
        return page, queries.work_summaries(db, page.rows)

    return list_response(
        request, fmt=negotiate(request, query.format, geo=False), fields=query.fields, cursor=query.cursor,
        limit=query.limit,
        sort="title", read_page=read_page, item_model=WorkSummary, name="works",
    )  # fmt: skip


def jsonld(detail: dict[str, Any], base: str) -> dict[str, Any]:
    """schema.org's Book (or CreativeWork): creators, publication, language, subjects, ISBN."""
    published, _ = linked_data.date_range(detail["published"])
    authors = [linked_data.ref("Person", base, c) for c in detail["creators"] if c["role"] == "author"]
    others = [linked_data.ref("Person", base, c) for c in detail["creators"] if c["role"] != "author"]
    place_of_publication = detail.get("publication_place")
    return {"@context": linked_data.SCHEMA, **linked_data.node(
        "Book" if detail["kind"] == "book" else "CreativeWork", base, href("work", detail["slug"]),
        name=detail["title"], description=detail["description"], author=authors, contributor=others,
        datePublished=published, publisher=detail["publisher"], inLanguage=detail["language"],
        locationCreated=linked_data.ref("Place", base, place_of_publication) if place_of_publication else None,
        about=detail["subjects"], isbn=detail["identifiers"].get("isbn"),
        sameAs=linked_data.same_as(detail["identifiers"]),
    )}  # fmt: skip


@router.get(
    "/{slug}",
    response_model=WorkDetail,
    summary="Get one work",
    responses=DETAIL_ERRORS,
    openapi_extra=query_docs(NameQuery),
)
@read_endpoint
def get_work(
    request: Request,
    slug: Annotated[Slug, slug_path("the-history-of-the-russian-revolution")],
) -> Response:
    """One work with its creators, publication, subjects, related events and sources."""
    db = read_db(request)
    found = record_for_path(db, "work", slug)
    return detail_response(
        request, found, lambda: {"slug": slug, **queries.work_detail(db, found.id), "href": href("work", slug)},
        linked_data=jsonld, names=other_names, label="title",
    )  # fmt: skip
