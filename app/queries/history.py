"""Revision history reads: one record's revisions, and every change in order (/v1/changes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import json
from app.db import ReadConnection
from app.hrefs import href
from app.queries.common import Cursor, Total
from app.queries.records import timestamp

REVISIONS_SQL = """
SELECT revision, action, slug, author, created_at, changed FROM revisions
WHERE record_id = :id AND revision > :after ORDER BY revision LIMIT :limit
"""
REVISION_COUNT_SQL = "SELECT count(*) FROM revisions WHERE record_id = :id"
REVISION_SQL = """
SELECT revision, action, slug, author, created_at, changed, document FROM revisions
WHERE record_id = :id AND revision = :revision
"""
CHANGES_SQL = """
SELECT v.id, r.type, v.slug, v.revision, v.action, v.author, v.created_at, r.slug
FROM revisions v JOIN records r ON r.id = v.record_id WHERE v.id > :after ORDER BY v.id LIMIT :limit
"""
# Counted up to a cap: the total never costs a scan of the whole history.
CHANGES_COUNT_SQL = "SELECT count(*) FROM (SELECT 1 FROM revisions WHERE id > :after LIMIT :cap) AS page"


def _summary(row: tuple[Any, ...], href: str) -> dict[str, Any]:
    revision, action, slug, author, created_at, changed = row[:6]
    return {
        "revision": revision, "action": action, "slug": slug, "author": author,
        "created_at": timestamp(created_at), "changed": json.Fragment(changed), "href": f"{href}/{revision}",
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of history items, the cursor of the next (the router encodes it) and the total."""

    items: list[dict[str, Any]]
    next_cursor: Cursor | None
    total: Total


def revisions(db: ReadConnection, record_id: int, *, limit: int, cursor: Cursor | None, href: str) -> Listing:
    """A record's revisions, oldest first (a record has few: counted exactly)."""
    after = 0 if cursor is None else cursor.id
    rows = db.all(REVISIONS_SQL, {"id": record_id, "after": after, "limit": limit + 1})
    total = (
        cursor.total if cursor is not None else Total(int(db.all(REVISION_COUNT_SQL, {"id": record_id})[0][0]), True)
    )
    next_cursor = Cursor("revision", None, rows[limit - 1][0], total) if len(rows) > limit else None
    return Listing([_summary(row, href) for row in rows[:limit]], next_cursor, total)


def revision(db: ReadConnection, record_id: int, number: int, *, href: str) -> dict[str, Any] | None:
    row = db.one(REVISION_SQL, {"id": record_id, "revision": number})
    if row is None:
        return None
    document = row[6]
    return {**_summary(row, href), "document": None if document is None else json.Fragment(document)}


def changes(db: ReadConnection, *, since: int, limit: int, cursor: Cursor | None, cap: int) -> Listing:
    after = since if cursor is None else cursor.id
    rows = db.all(CHANGES_SQL, {"after": after, "limit": limit + 1})
    if cursor is not None:
        total = cursor.total
    else:
        counted = int(db.all(CHANGES_COUNT_SQL, {"after": after, "cap": cap + 1})[0][0])
        total = Total(min(counted, cap), counted <= cap)
    items = [
        {"seq": seq, "type": record_type, "slug": slug, "revision": number, "action": action, "author": author,
         "created_at": timestamp(created_at), "href": href(record_type, now, "revisions", number)}
        for seq, record_type, slug, number, action, author, created_at, now in rows[:limit]
    ]  # fmt: skip
    next_cursor = Cursor("seq", None, rows[limit - 1][0], total) if len(rows) > limit else None
    return Listing(items, next_cursor, total)
