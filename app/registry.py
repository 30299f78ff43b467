"""The record types, in dependency order: a record refers only to records of its own type or of
types before it (so a load writes them in this order, and an export reads them back in it).

A new type is one line here (TYPES); everything that handles "every record" iterates over TYPES.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

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

# A record document of any type, chosen by its `type` (pydantic's discriminated union).
AnyRecordIn: Any = Annotated[Union[tuple(t.document for t in TYPES.values())], Field(discriminator="type")]  # noqa: UP007
record_adapter: TypeAdapter[Any] = TypeAdapter(AnyRecordIn)
