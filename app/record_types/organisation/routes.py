"""Organisations, /v1/organisations: organisations by any of their names, kind and the years they were active."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import ReadConnection
from app.isolation import read_db, read_endpoint
from app.languages import current_names
from app.queries.common import Cursor, Page, year_range
from app.queries.text import fts_query
from app.record_types.organisation import queries
from app.record_types.organisation.schemas import (
    OrganisationDetail,
    OrganisationPage,
    OrganisationQuery,
    OrganisationSummary,
)
from app.routers import linked_data
from app.routers.common import (
    GEO_DETAIL_ERRORS,
    GEO_LIST_FORMATS,
    LIST_ERRORS,
    parse_query,
    query_docs,
    record_for_path,
)
from app.routers.formats import detail_response, list_response, negotiate
from app.schemas import NameQuery, Slug, slug_path

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


@router.get(
    "", response_model=OrganisationPage, summary="List organisations", responses={**LIST_ERRORS, **GEO_LIST_FORMATS},
    openapi_extra=query_docs(OrganisationQuery),
)  # fmt: skip
@read_endpoint
def list_organisations(request: Request) -> Response:
    """Organisations in alphabetical order of name; as GeoJSON, each at its seat."""
    query = parse_query(request, OrganisationQuery)
    active_lo, active_hi = year_range(query.active_in, query.active_in)
    filters = queries.OrganisationFilters(
        q=fts_query(query.q) if query.q is not None else None, kind=query.kind, active_lo=active_lo, active_hi=active_hi
    )
    cap = request.app.state.settings.total_count_cap

    def read_page(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page = queries.list_organisations(db, filters=filters, limit=limit, cursor=cursor, count_cap=cap)
        return page, [queries.organisation_summary(row) for row in page.rows]

    return list_response(
        request, fmt=negotiate(request, query.format, geo=True), fields=query.fields, cursor=query.cursor,
        limit=query.limit, sort="name", read_page=read_page, item_model=OrganisationSummary, name="organisations",
        features=features,
    )  # fmt: skip


def feature(detail: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature: the organisation at its seat (no geometry when the seat is unknown or not located)."""
    seat = detail["seat"]
    located = seat is not None and seat["latitude"] is not None and seat["longitude"] is not None
    geometry = {"type": "Point", "coordinates": [seat["longitude"], seat["latitude"]]} if located else None
    return {"type": "Feature", "id": detail["slug"], "geometry": geometry, "properties": detail}


def features(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [feature(item) for item in items]


def jsonld(detail: dict[str, Any], base: str) -> dict[str, Any]:
    """schema.org's Organization: names, founding and dissolution, seat, parent, members with roles."""
    founded, _ = linked_data.date_range(detail["founded"])
    _, dissolved = linked_data.date_range(detail["dissolved"])
    return {"@context": linked_data.SCHEMA, **linked_data.node(
        "Organization", base, detail["href"], name=detail["name"], description=detail["description"],
        alternateName=[name["name"] for name in detail["names"]], foundingDate=founded, dissolutionDate=dissolved,
        location=linked_data.ref("Place", base, detail["seat"]) if detail["seat"] else None,
        parentOrganization=linked_data.ref("Organization", base, detail["part_of"]) if detail["part_of"] else None,
        subOrganization=[linked_data.ref("Organization", base, part) for part in detail["parts"]],
        member=[
            {"@type": "OrganizationRole", "member": linked_data.ref("Person", base, member), "roleName": member["role"]}
            for member in detail["members"]
        ],
        sameAs=linked_data.same_as(detail["identifiers"]),
    )}  # fmt: skip


@router.get(
    "/{slug}",
    response_model=OrganisationDetail,
    summary="Get one organisation",
    responses=GEO_DETAIL_ERRORS,
    openapi_extra=query_docs(NameQuery),
)
@read_endpoint
def get_organisation(request: Request, slug: Annotated[Slug, slug_path("red-army")]) -> Response:
    """One organisation with its names over time, founding and dissolution, seat, the organisations it
    was part of, continued and was continued by, its members' roles and the events it took part in."""
    db = read_db(request)
    found = record_for_path(db, "organisation", slug)
    return detail_response(
        request,
        found,
        lambda: queries.organisation_detail(db, found.id),
        linked_data=jsonld,
        feature=feature,
        names=current_names,
    )
