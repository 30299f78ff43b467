"""ORM models: the schema (Alembic migrations own it in databases) and the write path.

Every public record (event, person, place, work, source, organisation) is a row of `records` - slug,
revision, timestamps, deletion - plus a row of its own table with the same id (joined-table
inheritance), so that citations, identifiers and (later) revisions point at any record with a real
foreign key. This module holds what every type shares: `records`, citations, identifiers, dates'
columns, and the tables of keys, revisions, renamed slugs and the audit. Each type's own tables are in
its folder (`app/record_types/<type>/model.py`); `app.registry` imports them all, so whatever needs
the whole schema in the metadata (migrations, `chronicle db copy`) imports the registry.

The type tables (events, people, ...) and the link tables hold live records only. Deleting a record
removes its own row and its links, and keeps its `records` row as a tombstone (slug, deleted_at: the
API answers 410) while the revision history keeps its content. So list queries need no deletion
filter - no join to `records` per row, which made counting matches cost 3 us a row - and a trigger
(migration 0003) refuses to mark a record deleted while its own row remains.

Historical dates are stored derived (see app.dates): for a date called `born` the columns are
`born_edtf`, `born_calendar`, `born_end_calendar` (what was recorded), `born_min_jdn`, `born_max_jdn`,
`born_span_level` (what queries use), `born_month`, `born_day` (on this day, Gregorian),
`born_recorded_month`, `born_recorded_day` (on this day as recorded in the Julian calendar, for
`calendar=julian`: NULL unless `born_calendar` is 'julian') and `born_json` (the rendered date
object, so reads never parse).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.dates import HistoricalDate
from app.json import dumps

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def with_article(record_type: str) -> str:
    """`an event`, `a person`: for messages and summaries."""
    return f"{'an' if record_type[0] in 'aeiou' else 'a'} {record_type}"


DATE_PARTS = (
    "edtf", "calendar", "end_calendar", "min_jdn", "max_jdn", "span_level",
    "month", "day", "recorded_month", "recorded_day", "json",
)  # fmt: skip


def name_key(name: str) -> str:
    """How names sort and match a typed prefix: case and diacritics ignored ("Émile" ~ "emile")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def date_columns(prefix: str, *, required: bool = False) -> dict[str, Any]:
    """The stored columns of one historical date, named `<prefix>_<part>`."""
    nullable = not required
    return {
        f"{prefix}_edtf": mapped_column(String(200), nullable=nullable),
        f"{prefix}_calendar": mapped_column(String(9), nullable=nullable),
        f"{prefix}_end_calendar": mapped_column(String(9), nullable=True),
        f"{prefix}_min_jdn": mapped_column(Integer, nullable=nullable),
        f"{prefix}_max_jdn": mapped_column(Integer, nullable=nullable),
        f"{prefix}_span_level": mapped_column(Integer, nullable=nullable),
        f"{prefix}_month": mapped_column(Integer, nullable=True),
        f"{prefix}_day": mapped_column(Integer, nullable=True),
        f"{prefix}_recorded_month": mapped_column(Integer, nullable=True),
        f"{prefix}_recorded_day": mapped_column(Integer, nullable=True),
        f"{prefix}_json": mapped_column(Text, nullable=nullable),
    }


def date_values(prefix: str, date: HistoricalDate | None) -> dict[str, Any]:
    """Column values for `date_columns(prefix)`; all None when there is no date."""
    if date is None:
        return {f"{prefix}_{part}": None for part in DATE_PARTS}
    return {
        f"{prefix}_edtf": date.edtf,
        f"{prefix}_calendar": date.calendar,
        f"{prefix}_end_calendar": date.end_calendar,
        f"{prefix}_min_jdn": date.min_jdn,
        f"{prefix}_max_jdn": date.max_jdn,
        f"{prefix}_span_level": date.span_level,
        f"{prefix}_month": date.month,
        f"{prefix}_day": date.day,
        f"{prefix}_recorded_month": date.recorded_month,
        f"{prefix}_recorded_day": date.recorded_day,
        f"{prefix}_json": dumps(date.as_json()).decode(),
    }


class Record(Base):
    __tablename__ = "records"
    __table_args__: tuple[Any, ...] = (
        UniqueConstraint("type", "slug"),
        # CHECK (type IN ...): added by app.registry, which lists the types (migrations write it).
    )
    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "record"}  # noqa: RUF012

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(default=1)
    notes: Mapped[str | None] = mapped_column(Text)
    # sha256 of the record document last loaded (app.loader): loading it again changes nothing.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When an editor last wrote the record through the API; None once a load (seed, import) has
    # written it. An import never silently overwrites a record whose edited_at is set (app.loader).
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OtherTitle:
    """The columns of a record's title in another language or script: a work's, an event's, a
    source's (each type's own table, with the owner's id: `<type>_id`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    language: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)


class Citation(Base):
    """A record cites a source, optionally with a page, a quote and a note."""

    __tablename__ = "citations"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"), index=True)
    page: Mapped[str | None] = mapped_column(String(100))
    quote: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Identifier(Base):
    """An external identifier (Wikidata QID, ISBN, GeoNames id) - only ever a confirmed one."""

    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("scheme", "value"),)

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(100))


class DataVersion(Base):
    """One row: a counter that every write moves, in its transaction (a list's ETag), and when."""

    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Secret(Base):
    """What every process serving this database must share and no client may know, made at random by
    migration 0011: `cursor_key`, the key that signs cursors (app.queries.common.Cursor). `chronicle
    db copy` copies it, so that cursors issued before a move still page on after it."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# --- editors: keys, history, renamed slugs, audit (issue 5) -----------------------------------------

KEY_SCOPES = ("read", "write", "admin")  # each includes the ones before it


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; the key itself is shown once, when created."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write', 'admin')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it in a list
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Revision(Base):
    """One version of a record: the document after a change (None after a deletion), who made the
    change and which fields it changed. The ids order every change: /v1/changes pages by them."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("record_id", "revision"),
        CheckConstraint("action IN ('create', 'update', 'delete', 'restore', 'snapshot')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(String(10))
    slug: Mapped[str] = mapped_column(String(100))  # the record's slug after this change
    document: Mapped[str | None] = mapped_column(Text)  # canonical record document (JSON)
    changed: Mapped[str] = mapped_column(Text)  # JSON array of the top-level fields that changed
    author: Mapped[str] = mapped_column(String(100))  # the key's name, or the command that wrote
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlugRedirect(Base):
    """An old slug of a renamed record: GET on it answers 301 to the current one."""

    __tablename__ = "slug_redirects"

    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)


class AuditEntry(Base):
    """Every write request, whatever its outcome: who, what, and how it ended."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    key_name: Mapped[str | None] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    record: Mapped[str | None] = mapped_column(String(120))  # "type/slug" when one record is written
    status: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(200))
