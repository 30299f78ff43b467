"""`chronicle db copy SOURCE TARGET`: a whole database, from one engine to another (SQLite to
PostgreSQL, say), then checked.

The target is migrated to the latest schema and must hold no records. Every table the models know
is copied in batches, in foreign-key order, inside one write transaction on the target (it holds the
write lock: no editor writes halfway through). The full-text and geo indexes are not copied: the
target's own triggers build them as rows arrive. Rows that point at another row of their own table
(a place within a place, an event part of an event) are written without that link first, and the
links set once every row is there, so no row waits for one that comes later.

Verification reads both databases again: the same number of rows and the same checksum per table.
The checksum is a sum of per-row SHA-256 digests (so the two engines need not return rows in the
same order) over values normalised across engines (timestamps in UTC).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Integer, Table, bindparam, func, select, text, update

from app.db import engine_url, make_engine
from app.migrate import at_head, upgrade
from app.models import Base
from app.registry import TYPES  # and with it every type's tables, in the metadata

BATCH = 5_000
# Columns that point at a row of their own table: set in a second pass (see the module's doc).
SELF_LINKS = {t.table: t.parent.column for t in TYPES.values() if t.parent is not None}


class CopyError(Exception):
    """A copy that cannot start (or did not verify): the message says why."""


@dataclass
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


def tables() -> list[Table]:
    """The models' tables in foreign-key order (a referenced table before the tables that refer to it)."""
    return list(Base.metadata.sorted_tables)


def _normalised(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, datetime):  # SQLite gives naive datetimes, meaning UTC
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return str(value.isoformat())
    if isinstance(value, float):
        return repr(value)
    return str(value)


def row_digest(row: Any) -> int:
    joined = "\x1f".join(_normalised(value) for value in row)
    return int.from_bytes(hashlib.sha256(joined.encode()).digest(), "big")


def _batches(connection: Connection, table: Table) -> Iterator[list[Any]]:
    result = connection.execute(select(table).execution_options(stream_results=True, yield_per=BATCH))
    yield from (list(part) for part in result.partitions(BATCH))


def checksum(connection: Connection, table: Table) -> tuple[int, str]:
    """(rows, checksum) of a table: the sum of its rows' digests, mod 2**256."""
    rows, total = 0, 0
    for batch in _batches(connection, table):
        rows += len(batch)
        total = (total + sum(row_digest(row) for row in batch)) % 2**256
    return rows, f"{total:064x}"


def copy_database(source_url: str, target_url: str, progress: Callable[[int], None] = lambda _n: None) -> int:
    """Copy every row from SOURCE to TARGET (see the module's doc); the number of rows copied."""
    if not at_head(source_url):
        raise CopyError(f"{source_url}: not at the latest migration; run `chronicle db upgrade` on it first")
    upgrade(target_url)
    source_engine, target_engine = make_engine(source_url), make_engine(target_url)
    try:
        with source_engine.connect() as source, target_engine.begin() as target:
            for name in ("records", "revisions", "api_keys", "audit"):
                found = target.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                if found:
                    raise CopyError(f"{target_url}: its table {name} holds {found} rows; copy into an empty database")
            # The migration's rows; the source's replace them. The same cursor key: a client paging
            # through a list before the move pages on after it.
            target.execute(text("DELETE FROM data_version"))
            target.execute(text("DELETE FROM secrets"))
            copied = 0
            for table in tables():
                copied += _copy_table(source, target, table, progress)
            if target.dialect.name == "postgresql":
                _advance_sequences(target)
        if target_engine.dialect.name == "postgresql":
            # Statistics for the planner, and the visibility map that lets index-only scans skip
            # the table (VACUUM cannot run in a transaction: a plain connection in autocommit).
            conninfo = engine_url(target_url).set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(conninfo, autocommit=True) as maintenance:
                maintenance.execute("VACUUM (ANALYZE)")
        return copied
    finally:
        source_engine.dispose()
        target_engine.dispose()


def _copy_table(source: Connection, target: Connection, table: Table, progress: Callable[[int], None]) -> int:
    self_link = SELF_LINKS.get(table.name)
    links: list[dict[str, Any]] = []
    copied = 0
    names = [column.name for column in table.columns]
    for batch in _batches(source, table):
        rows = [dict(zip(names, row, strict=True)) for row in batch]
        if self_link is not None:
            links += [{"row_id": row["id"], "link": row[self_link]} for row in rows if row[self_link] is not None]
            for row in rows:
                row[self_link] = None
        target.execute(table.insert(), rows)
        copied += len(rows)
        progress(len(rows))
    if links:
        statement = update(table).where(table.c.id == bindparam("row_id")).values({self_link: bindparam("link")})
        for start in range(0, len(links), BATCH):
            target.execute(statement, links[start : start + BATCH])
    return copied


def _advance_sequences(target: Connection) -> None:
    """PostgreSQL: each serial id's sequence past the largest id copied (rows were written with their ids)."""
    for table in tables():
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and len(table.primary_key.columns) == 1:
                sequence = target.execute(
                    text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column.name}
                ).scalar()
                if sequence is not None:
                    largest = target.execute(select(func.max(column))).scalar()
                    values = {"sequence": sequence, "value": largest or 1, "called": largest is not None}
                    target.execute(text("SELECT setval(:sequence, :value, :called)"), values)


def verify(source_url: str, target_url: str) -> list[TableCheck]:
    """Rows and checksum of every table, on both sides."""
    source_engine, target_engine = make_engine(source_url), make_engine(target_url)
    try:
        checks = []
        with source_engine.connect() as source, target_engine.connect() as target:
            for table in tables():
                source_rows, source_sum = checksum(source, table)
                target_rows, target_sum = checksum(target, table)
                checks.append(TableCheck(table.name, source_rows, target_rows, source_sum, target_sum))
        return checks
    finally:
        source_engine.dispose()
        target_engine.dispose()


def count_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return sum(connection.execute(select(func.count()).select_from(t)).scalar_one() for t in tables())
    finally:
        engine.dispose()
