"""Places: with their names over time, their coordinates and the place they lie within."""

from __future__ import annotations

from app.record_types import Link, RecordType, Reference, Rows, Search, ref
from app.record_types.place.document import PlaceIn
from app.record_types.place.model import Place  # its tables, in the schema's metadata

NAMES = Link(
    "names", "place_names", "place_id", ("name", "language", "from_year", "to_year", "note"),
    ("name", "language", "from_year", "to_year", "note"),
)  # fmt: skip


def rows(record: PlaceIn) -> Rows:
    values = {
        "name": record.name, "kind": record.kind, "description": record.description,
        "latitude": record.latitude, "longitude": record.longitude, "parent_id": ref("place", record.parent),
    }  # fmt: skip
    names = [(NAMES.table, (n.name, n.language, n.from_year, n.to_year, n.note)) for n in record.names]
    return values, names


PLACE = RecordType(
    "place", "places", Place.__tablename__, PlaceIn, rows,
    columns=("name", "kind", "description", "latitude", "longitude"),
    references=(Reference("parent", "parent_id", "place"),), links=(NAMES,),
    search=Search(
        "places_fts", "name", (10.0, 5.0, 1.0), ("name", "other_names"),
        "concat_ws(' ', x.name, (SELECT string_agg(n.name, ' ') FROM place_names n WHERE n.place_id = x.id), "
        "x.description)",
        ("name", "other_names", "description"),
        (
            "SELECT t.id, t.name, (SELECT group_concat(n.name, ' ') FROM place_names n WHERE n.place_id = t.id), "
            "t.description FROM places t"
        ),
    ),
    routes="app.record_types.place.routes", jsonld="Place", example="mexico-city",
    description="Places, by any of their names over time, where they lie and what lies within them, near a "
    "point or in a box.",
)  # fmt: skip
