"""The record types, in dependency order: a record refers only to records of its own type or of
types before it (so a load writes them in this order, and an export reads them back in it).

A new type is one line here (TYPES); everything that handles "every record" iterates over TYPES.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter
from sqlalchemy import CheckConstraint

from app.models import Record
from app.record_types import CITATIONS, IDENTIFIERS, Link, RecordType
from app.record_types.event import EVENT
from app.record_types.organisation import ORGANISATION
from app.record_types.person import PERSON
from app.record_types.place import PLACE
from app.record_types.source import SOURCE
from app.record_types.work import WORK

TYPES: dict[str, RecordType] = {t.name: t for t in (SOURCE, PLACE, ORGANISATION, PERSON, WORK, EVENT)}
COLLECTIONS = {t.name: t.collection for t in TYPES.values()}  # "person" -> "people"
BY_COLLECTION = {t.collection: t for t in TYPES.values()}
COMMON_LINKS = (CITATIONS, IDENTIFIERS)  # every type's
# Every table of rows a record owns, by table name.
LINKS: dict[str, Link] = {link.table: link for t in TYPES.values() for link in (*COMMON_LINKS, *t.links)}

# `records.type` is one of the types: the constraint the migrations write (0001, 0013), in the model.
Record.__table__.append_constraint(  # type: ignore[attr-defined]
    CheckConstraint(f"type IN ({', '.join(repr(name) for name in TYPES)})", name="type")
)

# Tables and indexes that live outside the ORM - full-text tables (each type's search table: FTS5 on
# SQLite, with its shadow tables; tsvector tables on PostgreSQL), the places' R*Tree - kept in step
# by triggers, and the B-tree that answers PostgreSQL's box queries: left out of model/database
# comparisons (Alembic's include_object).
TRIGGER_KEPT_TABLES = (*(t.search.fts for t in TYPES.values() if t.search), "places_rtree")
ENGINE_KEPT_INDEXES = ("ix_places_coordinates",)


def managed_by_models(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Alembic's include_object: leave the trigger-kept tables out of model/database comparisons."""
    if type_ == "index":
        return name not in ENGINE_KEPT_INDEXES
    return not (type_ == "table" and name is not None and name.startswith(TRIGGER_KEPT_TABLES))


# A record document of any type, chosen by its `type` (pydantic's discriminated union).
AnyRecordIn: Any = Annotated[Union[tuple(t.document for t in TYPES.values())], Field(discriminator="type")]  # noqa: UP007
record_adapter: TypeAdapter[Any] = TypeAdapter(AnyRecordIn)
