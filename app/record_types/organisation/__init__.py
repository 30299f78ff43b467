"""Organisations: parties, armies, councils, internationals - with their names over time, founding
and dissolution, seat, the larger organisation they were part of and those they continued; people's
memberships (roles with dates) and events' links to them.

Everything specific to the type is in this folder: its tables (`model`), its document (`document`),
its descriptor (here), its queries and its routes. People and events link to it through the links
below, which their descriptors list.
"""

from __future__ import annotations

from app.models import DATE_PARTS
from app.record_types import Link, LinkRow, RecordType, Reference, Rows, Search, date_row, date_values, ref
from app.record_types.organisation.document import EventOrganisationIn, MembershipIn, OrganisationIn
from app.record_types.organisation.model import Organisation  # its tables, in the schema's metadata

NAMES = Link(
    "names", "organisation_names", "organisation_id", ("name", "language", "from_year", "to_year", "note"),
    ("name", "language", "from_year", "to_year", "note"),
)  # fmt: skip
PREDECESSORS = Link(
    "predecessors", "organisation_predecessors", "organisation_id", ("predecessor_id",), None,
    refers_to="organisation", order="",
)  # fmt: skip
# A person's memberships (PersonIn.memberships) and an event's organisations (EventIn.organisations).
MEMBERSHIPS = Link(
    "memberships", "memberships", "person_id",
    ("organisation_id", "role", "note", *(f"start_{c}" for c in DATE_PARTS), *(f"end_{c}" for c in DATE_PARTS)),
    ("organisation", "role", "note", "start", "end"), refers_to="organisation", dates=("start", "end"),
)  # fmt: skip
EVENT_ORGANISATIONS = Link(
    "organisations", "event_organisations", "event_id", ("organisation_id", "role"), ("organisation", "role"),
    refers_to="organisation", order="",
)  # fmt: skip


def rows(record: OrganisationIn) -> Rows:
    values = {
        "name": record.name, "kind": record.kind, "description": record.description,
        "seat_id": ref("place", record.seat), "part_of_id": ref("organisation", record.part_of),
        **date_values("founded", record.founded), **date_values("dissolved", record.dissolved),
    }  # fmt: skip
    links: list[LinkRow] = [(NAMES.table, (n.name, n.language, n.from_year, n.to_year, n.note)) for n in record.names]
    links += [(PREDECESSORS.table, (ref("organisation", slug),)) for slug in dict.fromkeys(record.predecessors)]
    return values, links


def membership_rows(memberships: list[MembershipIn]) -> list[LinkRow]:
    """A person's memberships as rows of `memberships`."""
    return [
        (MEMBERSHIPS.table, (ref("organisation", m.organisation), m.role, m.note, *date_row(m.start), *date_row(m.end)))
        for m in memberships
    ]


def event_rows(organisations: list[EventOrganisationIn]) -> list[LinkRow]:
    """An event's organisations as rows of `event_organisations` (a link given twice is one)."""
    return [
        (EVENT_ORGANISATIONS.table, (ref("organisation", o), role))
        for o, role in dict.fromkeys((o.organisation, o.role) for o in organisations)
    ]


ORGANISATION = RecordType(
    "organisation", "organisations", Organisation.__tablename__, OrganisationIn, rows,
    columns=("name", "kind", "description"), dates=("founded", "dissolved"),
    references=(Reference("seat", "seat_id", "place"), Reference("part_of", "part_of_id", "organisation")),
    links=(NAMES, PREDECESSORS),
    search=Search(
        "organisations_fts", "name", (10.0, 5.0, 1.0), ("name", "other_names"),
        "concat_ws(' ', x.name, (SELECT string_agg(n.name, ' ') FROM organisation_names n "
        "WHERE n.organisation_id = x.id), x.description)",
        ("name", "other_names", "description"),
        (
            "SELECT t.id, t.name, (SELECT group_concat(n.name, ' ') FROM organisation_names n "
            "WHERE n.organisation_id = t.id), t.description FROM organisations t"
        ),
    ),
    routes="app.record_types.organisation.routes", jsonld="Organization", example="red-army",
    description="Parties, armies, councils and internationals: their names over time, founding and dissolution, "
    "and people's roles in them.",
)  # fmt: skip
