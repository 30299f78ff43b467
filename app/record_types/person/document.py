"""A person in the record format (docs/data-format.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from app.documents import (
    MAX_OTHER_NAMES,
    CitedRecordIn,
    DateField,
    Language,
    Name,
    Slug,
    Strict,
    Text,
    _date_from_string,
)
from app.models import name_key
from app.record_types.organisation.document import MembershipIn

NAME_KEY_LENGTH = 300  # people.name_key varchar(300): PersonIn checks it


class AliasIn(Strict):
    name: Name
    kind: Literal["birth-name", "pseudonym", "alternative", "transliteration"] = "alternative"
    language: Language | None = None


# A person's memberships: each one written is a row; the richest biographies hold a few dozen.
MAX_MEMBERSHIPS = 200


class PersonIn(CitedRecordIn):
    type: Literal["person"]
    name: Name
    aliases: Annotated[list[AliasIn], Field(max_length=MAX_OTHER_NAMES)] = []
    born: DateField | None = None
    died: DateField | None = None
    birth_place: Slug | None = None
    death_place: Slug | None = None
    description: Text | None = None
    memberships: Annotated[list[MembershipIn], Field(max_length=MAX_MEMBERSHIPS)] = []

    _dates = field_validator("born", "died", mode="before")(_date_from_string)

    @field_validator("name")
    @classmethod
    def _name_key_fits(cls, value: str) -> str:
        # people.name_key (varchar(300)) is the name decomposed and case-folded, which can lengthen it:
        # "ﬃ" is three letters, "ß" two. A name that long is no name, so it is refused, not cut.
        if len(name_key(value)) > NAME_KEY_LENGTH:
            raise ValueError(f"is longer than {NAME_KEY_LENGTH} characters once decomposed (Unicode NFKD)")
        return value

    @model_validator(mode="after")
    def _born_before_death(self) -> PersonIn:
        if self.born and self.died and self.born.parsed().min_jdn > self.died.parsed().max_jdn:
            raise ValueError("died is before born")
        return self

    def references(self) -> list[tuple[str, str, str]]:
        places = [
            (f, "place", s) for f, s in (("birth_place", self.birth_place), ("death_place", self.death_place)) if s
        ]
        memberships = [
            (f"memberships[{i}].organisation", "organisation", m.organisation) for i, m in enumerate(self.memberships)
        ]
        return super().references() + places + memberships
