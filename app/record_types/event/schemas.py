"""The event endpoints' query and answers (the OpenAPI components)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas import (
    DateOut,
    EventFilterQuery,
    EventSummary,
    LinkedEvent,
    LinkedPerson,
    LinkedWork,
    ListQuery,
    OtherName,
    PageBase,
    RecordMeta,
    Searched,
    names_pattern,
)


class LinkedPlace(BaseModel):
    slug: str
    name: str
    name_at_the_time: str = Field(description="The place's name when the event began, from its historical names.")
    role: str
    kind: str
    latitude: float | None
    longitude: float | None
    href: str


class EventQuery(ListQuery, EventFilterQuery):
    sort: Literal["date", "-date"] = Field("date", description="`date` (oldest first) or `-date` (newest first).")
    include: Annotated[str, Field(pattern=names_pattern("people", "places", "works"))] | None = Field(
        None,
        description="Embed each event's links, comma-separated: `people`, `places` (with coordinates), `works`.",
        examples=["people,places"],
    )


class EventPage(PageBase):
    items: list[EventSummary]
    searched: Searched | None = Field(
        None, description="With `year`, `from` or `to` only: the years searched, in words."
    )


class EventOrganisation(BaseModel):
    slug: str
    name: str
    role: str = Field(examples=["founded"], description="What the organisation was in the event.")
    href: str


class EventDetail(RecordMeta):
    slug: str
    title: str
    kind: str
    summary: str | None
    date: DateOut
    part_of: LinkedEvent | None = Field(description="The larger event this one is part of.")
    parts: list[LinkedEvent]
    people: list[LinkedPerson]
    places: list[LinkedPlace]
    works: list[LinkedWork]
    organisations: list[EventOrganisation]
    tags: list[str]
    names: list[OtherName] = Field(description="Its title in other languages and scripts.")
