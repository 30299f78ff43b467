"""An event in the record format (docs/data-format.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from app.documents import (
    MAX_OTHER_NAMES,
    CitedRecordIn,
    DateField,
    Name,
    OtherNameIn,
    Slug,
    Strict,
    Tag,
    Text,
    Word,
    _date_from_string,
)
from app.record_types.organisation.document import EventOrganisationIn


class EventPersonIn(Strict):
    person: Slug
    role: Literal["subject", "participant", "leader", "victim", "perpetrator", "witness"] = "participant"


class EventPlaceIn(Strict):
    place: Slug
    role: Literal["location", "origin", "destination"] = "location"


class EventWorkIn(Strict):
    work: Slug
    role: Literal["subject", "outcome", "source"] = "subject"


class EventIn(CitedRecordIn):
    type: Literal["event"]
    title: Name
    summary: Text | None = None
    kind: Word
    date: DateField
    part_of: Slug | None = None
    people: list[EventPersonIn] = []
    places: list[EventPlaceIn] = []
    works: list[EventWorkIn] = []
    organisations: list[EventOrganisationIn] = []
    tags: list[Tag] = []
    names: Annotated[list[OtherNameIn], Field(max_length=MAX_OTHER_NAMES)] = []

    _dates = field_validator("date", mode="before")(_date_from_string)

    @model_validator(mode="after")
    def _not_part_of_itself(self) -> EventIn:
        if self.part_of == self.slug:
            raise ValueError("an event cannot be part of itself")
        return self

    def references(self) -> list[tuple[str, str, str]]:
        refs = [(f"people[{i}].person", "person", p.person) for i, p in enumerate(self.people)]
        refs += [(f"places[{i}].place", "place", p.place) for i, p in enumerate(self.places)]
        refs += [(f"works[{i}].work", "work", w.work) for i, w in enumerate(self.works)]
        refs += [
            (f"organisations[{i}].organisation", "organisation", o.organisation)
            for i, o in enumerate(self.organisations)
        ]
        if self.part_of:
            refs.append(("part_of", "event", self.part_of))
        return super().references() + refs
