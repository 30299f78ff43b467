"""What every record type shares: finding a record by slug, its citations and identifiers."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CTE, Integer, Table, bindparam, select
from sqlalchemy import cast as sa_cast

from app.db import ReadConnection
from app.dialects.json import JsonSQL
from app.hrefs import href, href_sql
from app.json import Fragment
from app.models import Record
from app.record_types.place.model import Place

R = cast(Table, Record.__table__)
P = cast(Table, Place.__table__)

FIND_SQL = "SELECT id, deleted_at IS NOT NULL, revision, updated_at FROM records WHERE type = :type AND slug = :slug"
DATA_VERSION_SQL = "SELECT version, changed_at FROM data_version WHERE id = 1"
CITATIONS_SQL = """
SELECT r.slug, s.title, s.kind, s.url, c.page, c.quote, c.note
FROM citations c JOIN sources s ON s.id = c.source_id JOIN records r ON r.id = s.id
WHERE c.record_id = :id ORDER BY c.id
"""
IDENTIFIERS_SQL = "SELECT scheme, value FROM identifiers WHERE record_id = :id ORDER BY scheme"


def identifiers_json(json: JsonSQL) -> str:
    """The identifiers as a JSON sub-select of a record's own statement (an event's): {scheme: value}."""
    return json.mapping("scheme", "value", IDENTIFIERS_SQL)


def citations_json(json: JsonSQL) -> str:
    """The citations as a JSON sub-select, each as citations() builds it."""
    fields = ("slug", "title", "kind", "url", "page", "quote", "note")
    return json.array(json.object(*((f, f) for f in fields), ("href", href_sql("source", "slug"))), CITATIONS_SQL)


def fragment(rendered: str | None) -> Fragment | None:
    """A value rendered to JSON when it was written (a date), or None."""
    return None if rendered is None else Fragment(rendered)


def linked_event(slug: str, title: str, date_json: str) -> dict[str, Any]:
    return {"slug": slug, "title": title, "date": Fragment(date_json), "href": href("event", slug)}


def linked(record_type: str, slug: str, **fields: Any) -> dict[str, Any]:
    """A reference to another record, as every response embeds one."""
    return {"slug": slug, **fields, "href": href(record_type, slug)}


@functools.lru_cache(maxsize=4096)
def timestamp(stored: str) -> str:
    """A stored timestamp as RFC 3339 UTC (`2026-12-02T03:35:27.407159Z`). SQLite holds them as text,
    with or without an offset depending on the code that wrote them; both mean UTC."""
    value = datetime.fromisoformat(stored)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


class FoundRecord(NamedTuple):
    id: int
    deleted: bool
    revision: int
    updated_at: str


def find_record(db: ReadConnection, record_type: str, slug: str) -> FoundRecord | None:
    """The record with this slug (deleted ones too), or None."""
    row = db.one(FIND_SQL, {"type": record_type, "slug": slug})
    return None if row is None else FoundRecord(int(row[0]), bool(row[1]), int(row[2]), str(row[3]))


REDIRECT_SQL = """
SELECT r.slug FROM slug_redirects s JOIN records r ON r.id = s.record_id WHERE s.type = :type AND s.slug = :slug
"""


def renamed_to(db: ReadConnection, record_type: str, slug: str) -> str | None:
    """The current slug of a record once called `slug`, or None."""
    row = db.one(REDIRECT_SQL, {"type": record_type, "slug": slug})
    return None if row is None else str(row[0])


def data_version(db: ReadConnection) -> tuple[int, str]:
    """(version, changed_at): what every write moves (app.loader.bump_data_version)."""
    row = db.one(DATA_VERSION_SQL)
    return (0, "") if row is None else (int(row[0]), str(row[1]))


def citations(db: ReadConnection, record_id: int) -> list[dict[str, Any]]:
    return [
        {"slug": slug, "title": title, "kind": kind, "url": url, "page": page, "quote": quote, "note": note,
         "href": href("source", slug)}
        for slug, title, kind, url, page, quote, note in db.all(CITATIONS_SQL, {"id": record_id})
    ]  # fmt: skip


def identifiers(db: ReadConnection, record_id: int) -> dict[str, str]:
    return {str(scheme): str(value) for scheme, value in db.all(IDENTIFIERS_SQL, {"id": record_id})}


def place_tree(param: str) -> CTE:
    """The place bound to `param` and every place within it (recursive CTE of ids)."""
    # Typed: PostgreSQL's recursive union needs both terms' types to agree (psycopg may bind a smallint).
    tree = select(sa_cast(bindparam(param), Integer).label("id")).cte(f"tree_{param}", recursive=True)
    return tree.union(select(P.c.id).where(P.c.parent_id == tree.c.id))
