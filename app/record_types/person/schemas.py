"""The people endpoints' query and answers (the OpenAPI components)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app import hrefs
from app.schemas import (
    TEXT_QUERY,
    DateOut,
    LinkedEvent,
    ListQuery,
    Membership,
    PageBase,
    PersonSummary,
    PlaceRef,
    RecordMeta,
    SearchText,
    Slug,
    Total,
    YearParam,
)


class PeopleQuery(ListQuery):
    q: SearchText | None = Field(
        None,
        description=f"Words in a name or an alias. {TEXT_QUERY}",
        examples=["Bronstein"],
    )
    name_prefix: SearchText | None = Field(
        None,
        description="Names that start with this text, case and diacritics ignored (`leon t` finds Leon Trotsky).",
        examples=["leon t"],
    )
    born_from: YearParam | None = Field(None, description="Born in or after this year (overlap).", examples=[1870])
    born_to: YearParam | None = Field(None, description="Born in or before this year (overlap).", examples=[1890])
    alive_in: YearParam | None = Field(
        None,
        description="Alive at some point of this year. Someone whose death is not recorded counts as alive "
        "for up to 120 years after birth. People with neither a birth nor a death date cannot be placed in "
        "any year and are not listed: the answer's `unplaced` says how many of them the other filters match, "
        "and links to them (`dated=false`).",
        examples=[1938],
    )
    dated: bool | None = Field(
        None,
        description="`true`: only people with a recorded birth or death date; `false`: only people with "
        "neither, whom `alive_in` cannot place.",
        examples=[False],
    )
    member_of: Slug | None = Field(
        None,
        description="Only members of this organisation (any role: member, leader, commissar...).",
        examples=["red-army"],
    )
    member_in: YearParam | None = Field(
        None,
        description="Only people with a membership (of `member_of`, or of any organisation) in this year. A "
        "membership's unknown start counts from the person's birth, its unknown end until their death.",
        examples=[1920],
    )


class Alias(BaseModel):
    name: str
    kind: str
    language: str | None


class Unplaced(Total):
    href: str = Field(
        description="The list of these people: the same filters, without `alive_in`, with `dated=false`.",
        examples=[hrefs.href("person", query={"dated": "false"})],
    )


class PersonPage(PageBase):
    items: list[PersonSummary]
    unplaced: Unplaced | None = Field(
        None,
        description="With `alive_in` only: the people the other filters match who have neither a birth nor a "
        "death date, so that no year can be said to contain their lives; they are not in `items`.",
    )


class PersonEvent(LinkedEvent):
    role: str


class PersonWork(BaseModel):
    slug: str
    title: str
    role: str
    published: DateOut | None
    href: str


class PersonDetail(RecordMeta, PersonSummary):
    aliases: list[Alias]
    birth_place: PlaceRef | None
    death_place: PlaceRef | None
    events: list[PersonEvent]
    works: list[PersonWork]
    memberships: list[Membership] = Field(description="Roles in organisations, in the order recorded.")
