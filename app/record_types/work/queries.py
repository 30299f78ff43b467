"""Works: the list (title, author, subject, publication years) and one work in full."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, exists, literal_column
from sqlalchemy.sql import ColumnElement

from app.db import ReadConnection
from app.dialects.fulltext import TextQuery, matches_text
from app.dialects.json import JSON
from app.hrefs import href
from app.json import Fragment, dumps
from app.models import Record
from app.queries.common import (
    Cursor,
    Page,
    Statement,
    alphabetical,
    bound,
    fetch_page,
    overlaps,
    shape_of,
)
from app.queries.records import citations, fragment, identifiers, linked_event, timestamp
from app.record_types.work.model import Work, WorkCreator, WorkSubject

W = cast(Table, Work.__table__)
R = cast(Table, Record.__table__)
WC = cast(Table, WorkCreator.__table__)
WS = cast(Table, WorkSubject.__table__)

LIST_COLUMNS = (R.c.slug, W.c.title, W.c.kind, W.c.published_json, W.c.id)


class WorkRow(NamedTuple):
    """A row of the list, in LIST_COLUMNS order; sorted by title, then id."""

    slug: str
    title: str
    kind: str
    published: str | None  # the rendered date (JSON)
    id: int

    @property
    def sort_key(self) -> str:
        return self.title


class DatedWorkRow(NamedTuple):
    """A row of the works published on a day or in a year (app.queries.calendar), sorted by that date."""

    slug: str
    title: str
    kind: str
    published: str | None
    min_jdn: int
    id: int

    @property
    def sort_key(self) -> int:
        return self.min_jdn


@dataclass(frozen=True, slots=True)
class WorkFilters:
    q: TextQuery | None = None
    author_id: int | None = None
    subject: str | None = None
    published_lo: int | None = None
    published_hi: int | None = None

    @property
    def params(self) -> dict[str, Any]:
        values = {
            "author_id": self.author_id,
            "subject": self.subject,
            "lo_jdn": self.published_lo,
            "hi_jdn": self.published_hi,
        }
        return bound(values) | (self.q.params if self.q is not None else {})


def _statement(filters: WorkFilters, after_cursor: bool, *, ordered: bool) -> Statement:
    conditions: list[ColumnElement[bool]] = []
    if filters.q is not None:
        conditions.append(matches_text(W.c.id, "works_fts", ("title", "subjects")))
    if filters.author_id is not None:
        author: ColumnElement[str] = literal_column("'author'")
        conditions.append(
            exists().where(WC.c.work_id == W.c.id, WC.c.person_id == bindparam("author_id"), WC.c.role == author)
        )
    if filters.subject is not None:
        conditions.append(exists().where(WS.c.work_id == W.c.id, WS.c.subject == bindparam("subject")))
    conditions += overlaps(
        W.c.published_min_jdn, W.c.published_max_jdn, filters.published_lo is not None, filters.published_hi is not None
    )
    return alphabetical(
        LIST_COLUMNS, W.join(R, R.c.id == W.c.id), conditions,
        name=W.c.title, row_id=W.c.id, after_cursor=after_cursor, ordered=ordered,
    )  # fmt: skip


def list_works(
    db: ReadConnection, *, filters: WorkFilters, limit: int, cursor: Cursor | None, count_cap: int
) -> Page[WorkRow]:
    return fetch_page(
        db, key=("works", shape_of(filters)), statement=partial(_statement, filters), row=WorkRow,
        params=filters.params, sort="title", limit=limit, cursor=cursor, count_cap=count_cap,
    )  # fmt: skip


CREATORS_SQL = {
    dialect: f"""
SELECT wc.work_id, r.slug, p.name, wc.role FROM work_creators wc
JOIN people p ON p.id = wc.person_id JOIN records r ON r.id = p.id
WHERE wc.work_id {json.in_ids("ids")} ORDER BY wc.work_id, wc.position
"""
    for dialect, json in JSON.items()
}


def creators_of(db: ReadConnection, work_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Creators of several works in one query (no N+1 on list pages)."""
    found: dict[int, list[dict[str, Any]]] = {work_id: [] for work_id in work_ids}
    for work_id, slug, name, role in db.all(CREATORS_SQL[db.dialect], {"ids": dumps(work_ids).decode()}):
        found[work_id].append({"slug": slug, "name": name, "role": role, "href": href("person", slug)})
    return found


def work_summaries(db: ReadConnection, rows: Sequence[WorkRow | DatedWorkRow]) -> list[dict[str, Any]]:
    """The items of a list of works (/v1/works, and the works published on a day or in a year), with
    their creators, read for the whole page at once."""
    creators = creators_of(db, [row.id for row in rows])
    return [
        {"slug": row.slug, "title": row.title, "kind": row.kind, "published": fragment(row.published),
         "creators": creators[row.id], "href": href("work", row.slug)}
        for row in rows
    ]  # fmt: skip


WORK_SQL = """
SELECT w.id, w.title, w.kind, w.published_json, w.description, w.publisher, w.language,
       place_record.slug, place.name, r.notes, r.revision, r.created_at, r.updated_at
FROM works w JOIN records r ON r.id = w.id
LEFT JOIN places place ON place.id = w.publication_place_id
LEFT JOIN records place_record ON place_record.id = place.id
WHERE w.id = :id
"""
SUBJECTS_SQL = "SELECT subject FROM work_subjects WHERE work_id = :id ORDER BY subject"
EVENTS_SQL = """
SELECT r.slug, e.title, e.date_json FROM event_works ew JOIN events e ON e.id = ew.event_id
JOIN records r ON r.id = e.id WHERE ew.work_id = :id ORDER BY e.date_min_jdn LIMIT 100
"""


NAMES_SQL = "SELECT name, language, note FROM work_names WHERE work_id = :id ORDER BY id"


def work_detail(db: ReadConnection, record_id: int) -> dict[str, Any]:
    row = db.one(WORK_SQL, {"id": record_id})
    assert row is not None
    work_id, title, kind, published, description, publisher, language, place_slug, place_name, *meta = row
    notes, revision, created, updated = meta
    params = {"id": work_id}
    return {
        "title": title,
        "kind": kind,
        "published": Fragment(published) if published else None,
        "creators": creators_of(db, [work_id])[work_id],
        "description": description,
        "publisher": publisher,
        "publication_place": None if place_slug is None else {
            "slug": place_slug, "name": place_name, "href": href("place", place_slug),
        },
        "language": language,
        "subjects": [subject for (subject,) in db.all(SUBJECTS_SQL, params)],
        "names": [{"name": n, "language": lang, "note": note} for n, lang, note in db.all(NAMES_SQL, params)],
        "events": [linked_event(*row) for row in db.all(EVENTS_SQL, params)],
        "identifiers": identifiers(db, work_id),
        "sources": citations(db, work_id),
        "notes": notes,
        "revision": revision,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    }  # fmt: skip
