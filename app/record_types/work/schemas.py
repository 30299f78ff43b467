"""The work endpoints' query and answers (the OpenAPI components)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.schemas import (
    TEXT_QUERY,
    LinkedEvent,
    ListQuery,
    OtherName,
    PageBase,
    PlaceRef,
    RecordMeta,
    SearchText,
    Slug,
    WorkSummary,
    YearParam,
)


class WorkQuery(ListQuery):
    q: SearchText | None = Field(
        None, description=f"Words in the title or a subject. {TEXT_QUERY}", examples=["Revolution"]
    )
    author: Slug | None = Field(None, description="Only works this person wrote.", examples=["leon-trotsky"])
    subject: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="Only works with this subject (exact).", examples=["Russian Revolution"]
    )
    published_from: YearParam | None = Field(None, description="Published in or after this year.", examples=[1930])
    published_to: YearParam | None = Field(None, description="Published in or before this year.", examples=[1936])


class WorkPage(PageBase):
    items: list[WorkSummary]


class WorkDetail(RecordMeta, WorkSummary):
    description: str | None
    publisher: str | None
    publication_place: PlaceRef | None
    language: str | None
    subjects: list[str]
    names: list[OtherName] = Field(description="Its title in other languages and scripts.")
    events: list[LinkedEvent]
