"""The place endpoints' query and answers (the OpenAPI components)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas import (
    BBOX,
    NEAR,
    RADIUS,
    TEXT_QUERY,
    Box,
    Kind,
    LinkedEvent,
    ListQuery,
    PageBase,
    PlaceName,
    PlaceRef,
    Point,
    RadiusKm,
    RecordMeta,
    SearchText,
    Slug,
)


class PlaceQuery(ListQuery):
    q: SearchText | None = Field(
        None,
        description=f"Words in the name or a historical or alternative name. {TEXT_QUERY}",
        examples=["Constantinople"],
    )
    within: Slug | None = Field(None, description="Only places within this place (at any depth).", examples=["france"])
    kind: Kind | None = Field(None, description="Place kind (country, city...).", examples=["city"])
    near: Point | None = Field(
        None, description=f"{NEAR} Then nearest first, with `distance_km`.", examples=["41.01,28.95"]
    )
    radius_km: RadiusKm | None = Field(None, description=RADIUS, examples=[50])
    bbox: Box | None = Field(None, description=BBOX, examples=["26,36,45,42"])


class PlaceSummary(BaseModel):
    slug: str
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    parent: PlaceRef | None
    href: str
    distance_km: float | None = Field(None, description="With `near` only: the great-circle distance, in km.")


class PlacePage(PageBase):
    items: list[PlaceSummary]


class PlaceDetail(RecordMeta, PlaceSummary):
    description: str | None
    names: list[PlaceName] = Field(description="Historical and alternative names, with the years they were used.")
    ancestors: list[PlaceRef] = Field(description="The places this one lies within, nearest first.")
    children: list[PlaceRef]
    events: list[LinkedEvent] = Field(description="The first events here or within (see /v1/events?place=).")
