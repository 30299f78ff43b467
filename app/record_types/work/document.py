"""A work in the record format (docs/data-format.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from app.documents import (
    MAX_OTHER_NAMES,
    CitedRecordIn,
    DateField,
    Language,
    Name,
    OtherNameIn,
    Slug,
    Strict,
    Subject,
    Text,
    Word,
    _date_from_string,
)


class CreatorIn(Strict):
    person: Slug
    role: Literal["author", "translator", "editor", "illustrator"] = "author"


class WorkIn(CitedRecordIn):
    type: Literal["work"]
    title: Name
    names: Annotated[list[OtherNameIn], Field(max_length=MAX_OTHER_NAMES)] = []
    kind: Word
    creators: list[CreatorIn] = []
    published: DateField | None = None
    publisher: Name | None = None
    publication_place: Slug | None = None
    language: Language | None = None
    subjects: list[Subject] = []
    description: Text | None = None

    _dates = field_validator("published", mode="before")(_date_from_string)

    def references(self) -> list[tuple[str, str, str]]:
        refs = [(f"creators[{i}].person", "person", c.person) for i, c in enumerate(self.creators)]
        if self.publication_place:
            refs.append(("publication_place", "place", self.publication_place))
        return super().references() + refs
