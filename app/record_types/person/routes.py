"""People, /v1/people: who lived when, by name or alias, birth years, or a year they were alive in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.errors import bad_parameter
from app.hrefs import href
from app.isolation import read_db, read_endpoint
from app.languages import person_names
from app.queries.common import Cursor, Page, year_range
from app.queries.text import fts_query
from app.record_types.person import queries
from app.record_types.person.schemas import PeopleQuery, PersonDetail, PersonPage
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
from app.schemas import NameQuery, PersonSummary, Slug, slug_path

router = APIRouter(prefix="/v1/people", tags=["people"])


@router.get(
    "",
    response_model=PersonPage,
    summary="List people",
    responses={**LIST_ERRORS, **LIST_FORMATS},
    openapi_extra=query_docs(PeopleQuery),
)
@read_endpoint
def list_people(request: Request) -> Response:
    """People in alphabetical order of name."""
    query = parse_query(request, PeopleQuery)
    if query.born_from is not None and query.born_to is not None and query.born_from > query.born_to:
        raise bad_parameter("born_from", f"born_from={query.born_from} is after born_to={query.born_to}")
    born_lo, born_hi = year_range(query.born_from, query.born_to)
    alive_lo, alive_hi = year_range(query.alive_in, query.alive_in)
    member_lo, member_hi = year_range(query.member_in, query.member_in)
    db = read_db(request)
    member_of_id = record_id_for_filter(db, "organisation", query.member_of, "member_of") if query.member_of else None
    filters = queries.PeopleFilters(
        q=fts_query(query.q) if query.q is not None else None,
        name_prefix=query.name_prefix,
        born_lo=born_lo,
        born_hi=born_hi,
        alive_lo=alive_lo,
        alive_hi=alive_hi,
        dated=query.dated,
        member_of_id=member_of_id,
        member_lo=member_lo,
        member_hi=member_hi,
    )
    cap = request.app.state.settings.total_count_cap

    def unplaced(db: ReadConnection) -> dict[str, Any]:
        """Who `alive_in` leaves out for want of any life date: counted (capped, as totals are) and linked."""
        total = queries.count_people(db, filters=filters.unplaced(), cap=cap)
        kept = {"q": query.q, "name_prefix": query.name_prefix, "born_from": query.born_from, "born_to": query.born_to}
        params = {name: value for name, value in kept.items() if value is not None} | {"dated": "false"}
        return {"unplaced": {**total.as_json(), "href": href("person", query=params)}}

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page = queries.list_people(db, filters=filters, limit=limit, cursor=cursor, count_cap=cap)
        return page, queries.person_summaries(page.rows)

    return list_response(
        request, fmt=negotiate(request, query.format, geo=False), fields=query.fields, cursor=query.cursor,
        limit=query.limit,
        sort="name", read_page=read_page, item_model=PersonSummary, name="people",
        extra=unplaced if query.alive_in is not None else None,
    )  # fmt: skip


def role(base: str, membership: dict[str, Any]) -> dict[str, Any]:
    """A membership as schema.org's role pattern: the organisation, the role's name and its dates."""
    start, _ = linked_data.date_range(membership["start"])
    _, end = linked_data.date_range(membership["end"])
    found = {
        "@type": "OrganizationRole", "memberOf": linked_data.ref("Organization", base, membership),
        "roleName": membership["role"], "startDate": start, "endDate": end,
    }  # fmt: skip
    return {key: value for key, value in found.items() if value is not None}


def jsonld(detail: dict[str, Any], base: str) -> dict[str, Any]:
    """schema.org's Person: names, birth and death, their places, memberships with their roles."""
    born, _ = linked_data.date_range(detail["born"])
    _, died = linked_data.date_range(detail["died"])
    return {"@context": linked_data.SCHEMA, **linked_data.node(
        "Person", base, href("person", detail["slug"]), name=detail["name"], description=detail["description"],
        alternateName=[alias["name"] for alias in detail["aliases"]], birthDate=born, deathDate=died,
        birthPlace=linked_data.ref("Place", base, detail["birth_place"]) if detail["birth_place"] else None,
        deathPlace=linked_data.ref("Place", base, detail["death_place"]) if detail["death_place"] else None,
        memberOf=[role(base, membership) for membership in detail["memberships"]],
        sameAs=linked_data.same_as(detail["identifiers"]),
    )}  # fmt: skip


@router.get(
    "/{slug}",
    response_model=PersonDetail,
    summary="Get one person",
    responses=DETAIL_ERRORS,
    openapi_extra=query_docs(NameQuery),
)
@read_endpoint
def get_person(
    request: Request,
    slug: Annotated[Slug, slug_path("leon-trotsky")],
) -> Response:
    """One person with aliases, birth and death, events (with roles) and works."""
    db = read_db(request)
    found = record_for_path(db, "person", slug)
    return detail_response(
        request, found, lambda: {"slug": slug, **queries.person_detail(db, found.id), "href": href("person", slug)},
        linked_data=jsonld, names=person_names,
    )  # fmt: skip
