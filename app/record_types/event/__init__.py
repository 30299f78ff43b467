"""Events: what happened, when, where, to whom, and the larger event it was part of."""

from __future__ import annotations

from app.record_types import (
    Link,
    LinkRow,
    RecordType,
    Reference,
    Rows,
    Search,
    date_values,
    other_title_rows,
    other_titles,
    ref,
)
from app.record_types.event.document import EventIn
from app.record_types.event.model import Event  # its tables, in the schema's metadata
from app.record_types.organisation import EVENT_ORGANISATIONS, event_rows

PEOPLE = Link("people", "event_people", "event_id", ("person_id", "role"), ("person", "role"), "person", order="")
PLACES = Link("places", "event_places", "event_id", ("place_id", "role"), ("place", "role"), "place", order="")
WORKS = Link("works", "event_works", "event_id", ("work_id", "role"), ("work", "role"), "work", order="")
TAGS = Link("tags", "event_tags", "event_id", ("tag",), None, order="")
NAMES = other_titles("event")


def rows(record: EventIn) -> Rows:
    values = {
        "title": record.title, "summary": record.summary, "kind": record.kind,
        "part_of_id": ref("event", record.part_of), **date_values("date", record.date),
    }  # fmt: skip
    # dict.fromkeys: a link given twice is one link (the primary key would refuse the second).
    links: list[LinkRow] = [
        (PEOPLE.table, (ref("person", p), r)) for p, r in dict.fromkeys((p.person, p.role) for p in record.people)
    ]
    links += [(PLACES.table, (ref("place", p), r)) for p, r in dict.fromkeys((p.place, p.role) for p in record.places)]
    links += [(WORKS.table, (ref("work", w), r)) for w, r in dict.fromkeys((w.work, w.role) for w in record.works)]
    links += event_rows(record.organisations)
    links += [(TAGS.table, (tag,)) for tag in dict.fromkeys(record.tags)]
    links += other_title_rows(NAMES, record.names)
    return values, links


EVENT = RecordType(
    "event", "events", Event.__tablename__, EventIn, rows, columns=("title", "summary", "kind"), dates=("date",),
    references=(Reference("part_of", "part_of_id", "event"),),
    links=(PEOPLE, PLACES, WORKS, EVENT_ORGANISATIONS, TAGS, NAMES),
    search=Search(
        "events_fts", "title", (10.0, 1.0), ("title",),
        "concat_ws(' ', x.title, (SELECT string_agg(n.name, ' ') FROM event_names n WHERE n.event_id = x.id), "
        "x.summary)",
        ("title", "summary"),
        "SELECT t.id, t.title || coalesce(' ' || (SELECT group_concat(n.name, ' ') FROM event_names n "
        "WHERE n.event_id = t.id), ''), t.summary FROM events t",
    ),
    routes="app.record_types.event.routes", jsonld="Event",
    example="october-revolution",
    description="What happened: by date (with precision and calendar), day of the year, person, place, work, "
    "organisation and text.",
)  # fmt: skip
