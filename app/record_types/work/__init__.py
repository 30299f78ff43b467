"""Works: books and articles, with their creators, subjects and publication."""

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
from app.record_types.work.document import WorkIn
from app.record_types.work.model import Work  # its tables, in the schema's metadata

CREATORS = Link(
    "creators", "work_creators", "work_id", ("person_id", "role", "position"), ("person", "role"),
    refers_to="person", order="position",
)  # fmt: skip
NAMES = other_titles("work")
SUBJECTS = Link("subjects", "work_subjects", "work_id", ("subject",), None, order="")


def rows(record: WorkIn) -> Rows:
    values = {
        "title": record.title, "kind": record.kind, "description": record.description,
        "publisher": record.publisher, "language": record.language,
        "publication_place_id": ref("place", record.publication_place),
        **date_values("published", record.published),
    }  # fmt: skip
    # dict.fromkeys: a link given twice is one link (the primary key would refuse the second).
    creators = dict.fromkeys((ref("person", c.person), c.role) for c in record.creators)
    links: list[LinkRow] = [(CREATORS.table, (person, role, i)) for i, (person, role) in enumerate(creators)]
    links += [(SUBJECTS.table, (subject,)) for subject in dict.fromkeys(record.subjects)]
    links += other_title_rows(NAMES, record.names)
    return values, links


WORK = RecordType(
    "work", "works", Work.__tablename__, WorkIn, rows,
    columns=("title", "kind", "description", "publisher", "language"),
    dates=("published",), references=(Reference("publication_place", "publication_place_id", "place"),),
    links=(CREATORS, SUBJECTS, NAMES),
    search=Search(
        "works_fts", "title", (10.0, 5.0, 1.0), ("title",),
        "concat_ws(' ', x.title, (SELECT string_agg(n.name, ' ') FROM work_names n WHERE n.work_id = x.id), "
        "(SELECT string_agg(n.subject, ' ') FROM work_subjects n WHERE n.work_id = x.id), "
        "x.description)",
        ("title", "subjects", "description"),
        (
            "SELECT t.id, t.title || coalesce(' ' || (SELECT group_concat(n.name, ' ') FROM work_names n "
            "WHERE n.work_id = t.id), ''), (SELECT group_concat(s.subject, ' ') FROM work_subjects s "
            "WHERE s.work_id = t.id), t.description FROM works t"
        ),
    ),
    routes="app.record_types.work.routes", jsonld="CreativeWork", example="my-life",
    description="Books and articles: their creators, subjects, publication, and titles in other languages.",
)  # fmt: skip
