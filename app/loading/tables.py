"""The tables a load writes, how it writes rows (driver-level executemany), and the revision history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Table, and_, delete, func, select, update
from sqlalchemy.orm import Session

from app import json
from app.models import Base, DataVersion, Identifier, Record, Revision, SlugRedirect
from app.registry import LINKS, TYPES

T = TypeVar("T")


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


RECORDS = table_of(Record)
RECORD_COLUMNS = (
    "id", "type", "slug", "revision", "notes", "content_hash", "created_at", "updated_at", "edited_at",
)  # fmt: skip
REVISION_COLUMNS = ("record_id", "revision", "action", "slug", "document", "changed", "author", "created_at")
REVISIONS = table_of(Revision)
IDENTIFIERS = table_of(Identifier)
REDIRECTS = table_of(SlugRedirect)


def table_named(name: str) -> Table:
    return Base.metadata.tables[name]


# The rows a record owns: the table, then its columns - the owner's id first - in Prepared.links order.
LINK_COLUMNS: dict[str, tuple[Table, tuple[str, ...]]] = {
    name: (table_named(name), (link.owner, *link.columns)) for name, link in LINKS.items()
}
# Each type's own table.
TYPE_TABLES: dict[str, Table] = {name: table_named(t.table) for name, t in TYPES.items()}


class Existing(NamedTuple):
    id: int
    content_hash: str | None
    revision: int
    deleted: bool
    edited: bool


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one `IN (...)` (SQLite's bound-parameter limit)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def bump_data_version(session: Session, now: datetime) -> None:
    """Move the data version (lists' ETag) in the writing transaction: every write path calls this."""
    versions = table_of(DataVersion)
    session.execute(update(versions).values(version=versions.c.version + 1, changed_at=now))


def next_record_id(session: Session) -> int:
    """The first free record id. Safe on SQLite because a write transaction holds the database's write
    lock (BEGIN IMMEDIATE) from its start, so no other writer can take the same ids. PostgreSQL
    (issue 6) must draw them from the id sequence instead (nextval), or later inserts collide."""
    return int(session.execute(select(func.coalesce(func.max(RECORDS.c.id), 0) + 1)).scalar_one())


def parents_first(rows: list[tuple[Any, ...]], columns: tuple[str, ...], column: str | None) -> list[tuple[Any, ...]]:
    """Order rows so that a row referring to another row of the same batch comes after it."""
    if column is None:
        return rows
    at = columns.index(column)
    by_id = {row[0]: row for row in rows}
    if not any(row[at] in by_id for row in rows):
        return rows
    depth: dict[int, int] = {}

    def depth_of(row_id: int) -> int:
        chain = []
        while row_id in by_id and row_id not in depth:
            chain.append(row_id)
            row_id = by_id[row_id][at]
        level = depth.get(row_id, 0)
        for link in reversed(chain):  # cycles were refused before writing
            level += 1
            depth[link] = level
        return level

    return sorted(rows, key=lambda row: depth_of(row[0]))


def delete_owned(session: Session, record_ids: list[int]) -> None:
    for table, columns in LINK_COLUMNS.values():
        for chunk in chunks(record_ids):
            session.execute(delete(table).where(table.c[columns[0]].in_(chunk)))


def insert_many(session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT rows (tuples in `columns` order) through the driver's executemany.

    SQLAlchemy's executemany costs ~20 us a row in parameter handling; the driver alone ~2 us. The
    statement is written in the driver's parameter style, and values still go through the column
    types' bind processors (datetimes on SQLite), so the rows are what Core would have written.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    placeholder = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]  # sqlite3, psycopg
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
        f"VALUES ({', '.join(placeholder for _ in columns)})"
    )
    processors = [
        (i, p) for i, c in enumerate(columns)
        if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]  # fmt: skip
    if processors:
        rows = [_processed(row, processors) for row in rows]
    session.connection().exec_driver_sql(sql, rows)


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)


# --- the revision history ---------------------------------------------------------------------------


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The top-level fields whose values differ between two documents (all of them for a creation)."""
    before, after = before or {}, after or {}
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def _latest_documents(session: Session, record_ids: list[int]) -> dict[int, tuple[int, dict[str, Any] | None]]:
    """record id -> (revision, document) of its latest revision row, for those that have one."""
    found: dict[int, tuple[int, dict[str, Any] | None]] = {}
    for chunk in chunks(record_ids):
        latest = (
            select(REVISIONS.c.record_id, func.max(REVISIONS.c.revision).label("revision"))
            .where(REVISIONS.c.record_id.in_(chunk))
            .group_by(REVISIONS.c.record_id)
            .subquery()
        )
        rows = session.execute(
            select(REVISIONS.c.record_id, REVISIONS.c.revision, REVISIONS.c.document).join(
                latest, and_(latest.c.record_id == REVISIONS.c.record_id, latest.c.revision == REVISIONS.c.revision)
            )
        )
        found.update({rid: (rev, None if doc is None else json.loads(doc)) for rid, rev, doc in rows})
    return found


def documents_before(session: Session, records: list[Existing], now: datetime) -> dict[int, dict[str, Any] | None]:
    """Each record's document before this change (None after a deletion), from its latest revision.
    Records whose current revision has no history row (loaded without history, or before migration
    0009) get one first, read back from the database: no version is ever lost."""
    from app.export import SessionFetch, record_documents  # the export reads documents back from the database

    latest = _latest_documents(session, [r.id for r in records])
    missing = [r for r in records if latest.get(r.id, (0, None))[0] != r.revision]
    if missing:
        documents = record_documents(SessionFetch(session), [r.id for r in missing])
        rows = [
            (r.id, r.revision, "snapshot", documents[r.id]["slug"], json.dumps(documents[r.id]).decode(), "[]",
             "(before history)", now)
            for r in missing
        ]  # fmt: skip
        insert_many(session, REVISIONS, REVISION_COLUMNS, rows)
        latest.update({r.id: (r.revision, documents[r.id]) for r in missing})
    return {record_id: document for record_id, (_revision, document) in latest.items()}
