"""Sources: where the records come from (a book, an article, a web page)."""

from __future__ import annotations

from app.documents import SourceIn
from app.record_types import Link, RecordType, Rows, date_values

NAMES = Link("names", "source_names", "source_id", ("name", "language", "note"), ("name", "language", "note"))


def rows(record: SourceIn) -> Rows:
    values = {
        "title": record.title, "kind": record.kind, "url": record.url, "author": record.author,
        "publisher": record.publisher, "description": record.description,
        **date_values("published", record.published),
    }  # fmt: skip
    return values, [(NAMES.table, (n.name, n.language, n.note)) for n in record.names]


SOURCE = RecordType(
    "source", "sources", "sources", SourceIn, rows,
    columns=("title", "kind", "url", "author", "publisher", "description"), dates=("published",), links=(NAMES,),
    routes="app.routers.sources", jsonld="CreativeWork", example="the-exile-of-leon-trotsky",
)  # fmt: skip
