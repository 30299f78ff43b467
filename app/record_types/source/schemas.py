"""The source endpoints' query and answers (the OpenAPI components)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas import DateOut, Kind, ListQuery, OtherName, PageBase, SearchText


class SourceQuery(ListQuery):
    q: SearchText | None = Field(None, description="Text in the title.", examples=["Wikipedia"])
    kind: Kind | None = Field(None, description="Source kind.", examples=["article"])


class SourceSummary(BaseModel):
    slug: str
    title: str
    kind: str
    url: str | None
    author: str | None
    publisher: str | None
    href: str


class SourcePage(PageBase):
    items: list[SourceSummary]


class CitingRecord(BaseModel):
    type: str
    slug: str
    href: str


class SourceDetail(SourceSummary):
    description: str | None
    published: DateOut | None
    names: list[OtherName] = Field(description="Its title in other languages and scripts.")
    cited_by: list[CitingRecord] = Field(description="The first records that cite this source.")
    notes: str | None
    revision: int
    created_at: str
    updated_at: str
