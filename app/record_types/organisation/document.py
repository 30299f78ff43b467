"""An organisation in the record format (docs/data-format.md), and the items of other types' documents
that link to one: a person's memberships and an event's organisations (their links are here too)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from app.documents import (
    MAX_OTHER_NAMES,
    CitedRecordIn,
    DateField,
    Name,
    Slug,
    Strict,
    Text,
    Word,
    _date_from_string,
)
from app.record_types.place.document import PlaceNameIn

# An organisation's other names have the shape of a place's: a name, its language, the years it was used.
OrganisationNameIn = PlaceNameIn
MAX_PREDECESSORS = 50


class OrganisationIn(CitedRecordIn):
    type: Literal["organisation"]
    name: Name
    kind: Word  # party, army, international, council, government-body, newspaper, ...
    names: list[OrganisationNameIn] = Field(default_factory=list, max_length=MAX_OTHER_NAMES)
    founded: DateField | None = None
    dissolved: DateField | None = None
    seat: Slug | None = None  # a place
    part_of: Slug | None = None  # a larger organisation
    predecessors: list[Slug] = Field(default_factory=list, max_length=MAX_PREDECESSORS)
    description: Text | None = None

    _dates = field_validator("founded", "dissolved", mode="before")(_date_from_string)

    @model_validator(mode="after")
    def _coherent(self) -> OrganisationIn:
        if self.founded and self.dissolved and self.founded.parsed().min_jdn > self.dissolved.parsed().max_jdn:
            raise ValueError("dissolved is before founded")
        if self.part_of == self.slug:
            raise ValueError("an organisation cannot be part of itself")
        if self.slug in self.predecessors:
            raise ValueError("an organisation cannot be its own predecessor")
        return self

    def references(self) -> list[tuple[str, str, str]]:
        refs = [("seat", "place", self.seat)] if self.seat else []
        if self.part_of:
            refs.append(("part_of", "organisation", self.part_of))
        refs += [(f"predecessors[{i}]", "organisation", slug) for i, slug in enumerate(self.predecessors)]
        return super().references() + refs


class MembershipIn(Strict):
    """A person's role in an organisation, from `start` to `end` (either may be unknown)."""

    organisation: Slug
    role: Word = "member"
    start: DateField | None = None
    end: DateField | None = None
    note: Text | None = None

    _dates = field_validator("start", "end", mode="before")(_date_from_string)

    @model_validator(mode="after")
    def _start_before_end(self) -> MembershipIn:
        if self.start and self.end and self.start.parsed().min_jdn > self.end.parsed().max_jdn:
            raise ValueError("end is before start")
        return self


class EventOrganisationIn(Strict):
    organisation: Slug
    role: Literal["subject", "founded", "participant", "dissolved", "perpetrator"] = "participant"
