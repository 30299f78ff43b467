"""Sources: where the records come from (a book, an article, a web page)."""

from __future__ import annotations

from app.record_types import Link, RecordType, Rows, date_values
from app.record_types.source.document import SourceIn
from app.record_types.source.model import Source  # its tables, in the schema's metadata

NAMES = Link("names", "source_names", "source_id", ("name", "language", "note"), ("name", "language", "note"))


def rows(record: SourceIn) -> Rows:
    values = {
        "title": record.title, "kind": record.kind, "url": record.url, "author": record.author,
        "publisher": record.publisher, "description": record.description,
        **date_values("published", record.published),
    }  # fmt: skip
    return values, [(NAMES.table, (n.name, n.language, n.note)) for n in record.names]


SOURCE = RecordType(
    "source", "sources", Source.__tablename__, SourceIn, rows,
    columns=("title", "kind", "url", "author", "publisher", "description"), dates=("published",), links=(NAMES,),
    routes="app.record_types.source.routes", jsonld="CreativeWork", example="the-exile-of-leon-trotsky",
    description="Where the records come from - books, articles, web pages, databases - and which records cite each.",
)  # fmt: skip
