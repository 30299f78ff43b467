"""Sources: where the records come from (a book, an article, a web page)."""

from __future__ import annotations

from app.record_types import RecordType, Rows, date_values, other_title_rows, other_titles
from app.record_types.source.document import SourceIn
from app.record_types.source.model import Source  # its tables, in the schema's metadata

NAMES = other_titles("source")


def rows(record: SourceIn) -> Rows:
    values = {
        "title": record.title, "kind": record.kind, "url": record.url, "author": record.author,
        "publisher": record.publisher, "description": record.description,
        **date_values("published", record.published),
    }  # fmt: skip
    return values, other_title_rows(NAMES, record.names)


SOURCE = RecordType(
    "source", "sources", Source.__tablename__, SourceIn, rows,
    columns=("title", "kind", "url", "author", "publisher", "description"), dates=("published",), links=(NAMES,),
    routes="app.record_types.source.routes", jsonld="CreativeWork", example="the-exile-of-leon-trotsky",
    description="Where the records come from - books, articles, web pages, databases - and which records cite each.",
)  # fmt: skip
