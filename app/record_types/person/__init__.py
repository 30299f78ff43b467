"""People: their names and aliases, their lives' dates and places."""

from __future__ import annotations

from app.models import name_key
from app.record_types import Link, RecordType, Reference, Rows, Search, date_values, ref
from app.record_types.organisation import MEMBERSHIPS, membership_rows
from app.record_types.person.document import PersonIn
from app.record_types.person.model import Person  # its tables, in the schema's metadata

ALIASES = Link("aliases", "person_aliases", "person_id", ("name", "kind", "language"), ("name", "kind", "language"))


def rows(record: PersonIn) -> Rows:
    values = {
        "name": record.name, "name_key": name_key(record.name), "description": record.description,
        "birth_place_id": ref("place", record.birth_place), "death_place_id": ref("place", record.death_place),
        **date_values("born", record.born), **date_values("died", record.died),
    }  # fmt: skip
    return values, [(ALIASES.table, (a.name, a.kind, a.language)) for a in record.aliases] + membership_rows(
        record.memberships
    )


PERSON = RecordType(
    "person", "people", Person.__tablename__, PersonIn, rows, columns=("name", "description"), dates=("born", "died"),
    references=(
        Reference("birth_place", "birth_place_id", "place"), Reference("death_place", "death_place_id", "place"),
    ),
    links=(ALIASES, MEMBERSHIPS),
    search=Search(
        "people_fts", "name", (10.0, 5.0, 1.0), ("name", "aliases"),
        "concat_ws(' ', x.name, (SELECT string_agg(n.name, ' ') FROM person_aliases n WHERE n.person_id = x.id), "
        "x.description)",
        ("name", "aliases", "description"),
        (
            "SELECT t.id, t.name, (SELECT group_concat(n.name, ' ') FROM person_aliases n WHERE n.person_id = t.id), "
            "t.description FROM people t"
        ),
    ),
    routes="app.record_types.person.routes", jsonld="Person", example="leon-trotsky",
    description="People: names and aliases in any language, their lives' dates and places, their memberships.",
)  # fmt: skip
