"""The organisation endpoints' query and answers (the OpenAPI components)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas import (
    DateOut,
    Kind,
    LinkedEvent,
    ListQuery,
    Membership,
    OrganisationRef,
    PageBase,
    PlaceName,
    RecordMeta,
    SearchText,
    YearParam,
)


class OrganisationQuery(ListQuery):
    q: SearchText | None = Field(
        None, description="Text in the name or any other name (any language).", examples=["Red Army"]
    )
    kind: Kind | None = Field(None, description="Organisation kind (party, army, council...).", examples=["party"])
    active_in: YearParam | None = Field(
        None, description="Only organisations founded by the end of this year and not dissolved before it began.",
        examples=[1920],
    )  # fmt: skip


class Seat(OrganisationRef):
    latitude: float | None
    longitude: float | None


class OrganisationSummary(BaseModel):
    slug: str = Field(examples=["red-army"])
    name: str
    kind: str
    founded: DateOut | None
    dissolved: DateOut | None
    seat: Seat | None = Field(description="The place where it sat (its headquarters).")
    href: str


class OrganisationPage(PageBase):
    items: list[OrganisationSummary]


class Member(Membership):
    """A person's role in the organisation, with its dates (slug, name and href are the person's)."""


class OrganisationEvent(LinkedEvent):
    role: str = Field(description="What the organisation was in the event (founded, subject, participant...).")


class OrganisationDetail(RecordMeta, OrganisationSummary):
    description: str | None
    names: list[PlaceName] = Field(description="Other names, in any language, with the years they were used.")
    part_of: OrganisationRef | None = Field(description="The larger organisation it was part of.")
    parts: list[OrganisationRef]
    predecessors: list[OrganisationRef] = Field(description="The organisations it continued.")
    successors: list[OrganisationRef] = Field(description="The organisations that continued it.")
    members: list[Member] = Field(description="People's roles in it, earliest first (the first 200).")
    events: list[OrganisationEvent] = Field(
        description="The first events it took part in (see /v1/events?organisation=)."
    )
