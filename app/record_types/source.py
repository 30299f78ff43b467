"""Sources: where the records come from (a book, an article, a web page)."""

from __future__ import annotations

from app.documents import SourceIn
from app.record_types import RecordType, Rows, date_values


def rows(record: SourceIn) -> Rows:
    values = {
        "title": record.title, "kind": record.kind, "url": record.url, "author": record.author,
        "publisher": record.publisher, "description": record.description,
        **date_values("published", record.published),
    }  # fmt: skip
    return values, []


SOURCE = RecordType(
    "source", "sources", "sources", SourceIn, rows,
    columns=("title", "kind", "url", "author", "publisher", "description"), dates=("published",),
    routes="app.routers.sources", jsonld="CreativeWork", example="the-exile-of-leon-trotsky",
)  # fmt: skip
