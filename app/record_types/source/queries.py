"""Sources: the list and one source with the records that cite it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.sql import ColumnElement

from app.db import ReadConnection
from app.hrefs import href
from app.json import Fragment
from app.models import Record
from app.queries.common import (
    Cursor,
    Page,
    Statement,
    alphabetical,
    bound,
    contains,
    fetch_page,
    like_pattern,
    shape_of,
)
from app.queries.records import timestamp
from app.record_types.source.model import Source

S = cast(Table, Source.__table__)
R = cast(Table, Record.__table__)
LIST_COLUMNS = (R.c.slug, S.c.title, S.c.kind, S.c.url, S.c.author, S.c.publisher, S.c.id)


class SourceRow(NamedTuple):
    """A row of the list, in LIST_COLUMNS order; sorted by title, then id."""

    slug: str
    title: str
    kind: str
    url: str | None
    author: str | None
    publisher: str | None
    id: int

    @property
    def sort_key(self) -> str:
        return self.title


@dataclass(frozen=True, slots=True)
class SourceFilters:
    q: str | None = None
    kind: str | None = None

    @property
    def params(self) -> dict[str, Any]:
        values = {"q": like_pattern(self.q) if self.q else None, "kind": self.kind}
        return bound(values)


def _statement(filters: SourceFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    conditions: list[ColumnElement[bool]] = []
    if filters.q is not None:
        conditions.append(contains(S.c.title, bindparam("q")))
    if filters.kind is not None:
        conditions.append(S.c.kind == bindparam("kind"))
    return alphabetical(
        LIST_COLUMNS, S.join(R, R.c.id == S.c.id), conditions,
        name=S.c.title, row_id=S.c.id, after_cursor=after_cursor, ordered=ordered,
    )  # fmt: skip


def list_sources(
    db: ReadConnection, *, filters: SourceFilters, limit: int, cursor: Cursor | None, count_cap: int
) -> Page[SourceRow]:
    return fetch_page(
        db, key=("sources", shape_of(filters)), statement=partial(_statement, filters), row=SourceRow,
        params=filters.params, sort="title", limit=limit, cursor=cursor, count_cap=count_cap,
    )  # fmt: skip


def source_summary(row: SourceRow) -> dict[str, Any]:
    """A list item, and the head of a source's page."""
    return {
        "slug": row.slug, "title": row.title, "kind": row.kind, "url": row.url, "author": row.author,
        "publisher": row.publisher, "href": href("source", row.slug),
    }  # fmt: skip


SOURCE_SQL = """
SELECT r.slug, s.title, s.kind, s.url, s.author, s.publisher, s.id, s.description, s.published_json,
       r.notes, r.revision, r.created_at, r.updated_at
FROM sources s JOIN records r ON r.id = s.id WHERE s.id = :id
"""
CITED_BY_SQL = """
SELECT DISTINCT r.type, r.slug FROM citations c JOIN records r ON r.id = c.record_id
WHERE c.source_id = :id ORDER BY r.type, r.slug LIMIT 200
"""


NAMES_SQL = "SELECT name, language, note FROM source_names WHERE source_id = :id ORDER BY id"


def source_detail(db: ReadConnection, record_id: int) -> dict[str, Any]:
    row = db.one(SOURCE_SQL, {"id": record_id})
    assert row is not None
    description, published, notes, revision, created, updated = row[7:]
    return {
        **source_summary(SourceRow._make(row[:7])),
        "description": description,
        "published": Fragment(published) if published else None,
        "names": [
            {"name": n, "language": lang, "note": note} for n, lang, note in db.all(NAMES_SQL, {"id": record_id})
        ],
        "cited_by": [{"type": t, "slug": s, "href": href(t, s)} for t, s in db.all(CITED_BY_SQL, {"id": record_id})],
        "notes": notes,
        "revision": revision,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    }
