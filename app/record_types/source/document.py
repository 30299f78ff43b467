"""A source in the record format (docs/data-format.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from app.documents import MAX_OTHER_NAMES, DateField, Name, OtherNameIn, RecordIn, Text, Url, Word, _date_from_string


class SourceIn(RecordIn):
    type: Literal["source"]
    title: Name
    kind: Word
    url: Url | None = None
    author: Name | None = None
    publisher: Name | None = None
    published: DateField | None = None
    description: Text | None = None
    names: Annotated[list[OtherNameIn], Field(max_length=MAX_OTHER_NAMES)] = []

    _dates = field_validator("published", mode="before")(_date_from_string)
