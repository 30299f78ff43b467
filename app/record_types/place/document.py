"""A place in the record format (docs/data-format.md), and the checks of its names over time."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from app.documents import (
    MAX_OTHER_NAMES,
    CitedRecordIn,
    Language,
    Latitude,
    Longitude,
    Name,
    Slug,
    Strict,
    Text,
    Word,
    Year,
)


class PlaceNameIn(Strict):
    name: Name
    language: Language | None = None
    from_year: Year | None = None
    to_year: Year | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PlaceNameIn:
        if self.from_year is not None and self.to_year is not None and self.from_year > self.to_year:
            raise ValueError(f"from_year {self.from_year} is after to_year {self.to_year}")
        return self


def name_language(language: str | None) -> str:
    """The language a place name is the name at the time in: English and untagged names answer for
    the API's English (app.record_types.event.queries, PLACES_SQL), each other tag for itself."""
    return "en" if language is None else language


def _years(name: PlaceNameIn) -> str:
    if name.from_year == name.to_year:
        return str(name.from_year)
    if name.from_year is None:
        return f"until {name.to_year}"
    return f"from {name.from_year}" if name.to_year is None else f"{name.from_year}-{name.to_year}"


def overlapping_names(names: list[PlaceNameIn]) -> str | None:
    """Why a place's name history cannot be right, or None. Names with years are the place's name
    at the time (a missing year is open: "until 1930", "from 1924"); two of one language may not both
    be the name of a year - but for the year of a renaming, which is one name's `to_year` and the
    next one's `from_year` (Petrograd 1914-1924, Leningrad 1924-1991): years are whole, and in that
    year the later name is the name at the time. A gap between names is allowed (nothing recorded:
    the answer is the current name); names without years are other names, never "at the time"."""
    low, high = -(10**6), 10**6
    dated = sorted(
        ((n.from_year if n.from_year is not None else low, n.to_year if n.to_year is not None else high, i, n)
         for i, n in enumerate(names) if n.from_year is not None or n.to_year is not None),
        key=lambda item: (name_language(item[3].language), item[0], item[1], item[2]),
    )  # fmt: skip
    for at, (start, end, i, name) in enumerate(dated):
        for later_start, later_end, j, later in dated[at + 1 :]:
            if name_language(later.language) != name_language(name.language) or later_start > end:
                continue
            if later_start == end and start < later_start:  # the year of a renaming
                continue
            first, last = later_start, min(end, later_end)
            if first == low:
                shared = "every year" + ("" if last == high else f" until {last}")
            elif last == high:
                shared = f"every year from {first}"
            else:
                shared = str(first) if first == last else f"{first}-{last}"
            return (
                f"names[{i}] {name.name!r} ({_years(name)}) and names[{j}] {later.name!r} ({_years(later)}) are "
                f"both names of language {name_language(name.language)!r} for {shared}: a place has one name a "
                "language a year, and two names may share only the year of a renaming (the first one's to_year "
                "is the next one's from_year)"
            )
    return None


class PlaceIn(CitedRecordIn):
    type: Literal["place"]
    name: Name
    kind: Word
    description: Text | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    parent: Slug | None = None
    names: Annotated[list[PlaceNameIn], Field(max_length=MAX_OTHER_NAMES)] = []

    @model_validator(mode="after")
    def _both_coordinates(self) -> PlaceIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together: give both or neither")
        if self.parent == self.slug:
            raise ValueError("a place cannot be its own parent")
        return self

    @field_validator("names")
    @classmethod
    def _one_name_a_year(cls, names: list[PlaceNameIn]) -> list[PlaceNameIn]:
        problem = overlapping_names(names)
        if problem is not None:
            raise ValueError(problem)
        return names

    def references(self) -> list[tuple[str, str, str]]:
        own = [("parent", "place", self.parent)] if self.parent else []
        return super().references() + own
