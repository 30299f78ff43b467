"""Search across record types: ranked full-text matches, with highlighted snippets.

Each record type has a full-text table whose fields weigh differently in the ranking (migrations
0002 and 0005; app.dialects.fulltext holds each engine's SQL): the title or name counts most, then
other names (aliases, historical names, subjects), then the summary or description. A page is
found in two steps: every match's rank (the engine ranks them all anyway, so the same pass counts
them), then snippets for the page's records only.

Ranks come from one BM25 (SQLite) or ts_rank (PostgreSQL) per type, each with its own table's
statistics, so a person and an event with the same score are comparable only roughly; within a type
the order is the engine's.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from typing import Any

from app import json
from app.db import ReadConnection
from app.dialects.fulltext import CLOSE, OPEN, SEARCH, TextQuery
from app.hrefs import href
from app.queries.common import Cursor, Page, Total
from app.registry import TYPES


@dataclass(frozen=True, slots=True)
class Target:
    type: str
    fts: str
    table: str
    label: str  # the column a hit is called by
    weights: tuple[float, ...]  # BM25 weight of each FTS5 column, in order
    names: tuple[str, ...]  # the FTS columns that name the record
    text: str  # PostgreSQL: the text a snippet is cut from (app.record_types.Search)


# The types search looks at, in the registry's order.
TARGETS = {
    name: Target(name, t.search.fts, t.table, t.search.label, t.search.weights, t.search.names, t.search.text)
    for name, t in TYPES.items()
    if t.search is not None
}
# A record whose name or title matches the whole query comes before every record that matches only
# in its text: BM25 alone ranks poorly where a word is in most rows (IDF near zero), as "Trotsky" is
# in a small collection about him. The tier is part of the rank (the sort and cursor key).
NAMED_FIRST = 1000.0


@functools.cache
def _ranking_sql(dialect: str, types: tuple[str, ...], after_cursor: bool) -> str:
    arms = " UNION ALL ".join(SEARCH[dialect].ranked(TARGETS[name], NAMED_FIRST) for name in types)
    after = "WHERE (rank, id) > (:after_key, :after_id)" if after_cursor else ""
    return f"SELECT type, id, rank, count(*) OVER () FROM ({arms}) AS hits {after} ORDER BY rank, id LIMIT :limit"


@functools.cache
def _snippets_sql(dialect: str, record_type: str) -> str:
    return SEARCH[dialect].snippets(TARGETS[record_type])


def highlighted(snippet: str) -> str:
    """The snippet as HTML: its text escaped, each match in <mark>."""
    # Neighbouring matches are one mark: PostgreSQL's headline marks a phrase's words one by one.
    snippet = snippet.replace(f"{CLOSE} {OPEN}", " ")
    return html.escape(snippet, quote=False).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def search(
    db: ReadConnection, *, q: TextQuery, types: tuple[str, ...], limit: int, cursor: Cursor | None
) -> tuple[Page[tuple[Any, ...]], list[dict[str, Any]]]:
    """A page of hits for the query `q` (app.queries.text.fts_query), best first."""
    params: dict[str, Any] = {**q.params, "limit": limit + 1}
    if cursor is not None:
        params.update(after_key=cursor.key, after_id=cursor.id)
    ranked = db.all(_ranking_sql(db.dialect, types, cursor is not None), params)
    total = cursor.total if cursor is not None else Total(ranked[0][3] if ranked else 0, True)
    next_cursor = None
    if len(ranked) > limit:
        ranked = ranked[:limit]
        _type, last_id, last_rank, _count = ranked[-1]
        next_cursor = Cursor("rank", last_rank, last_id, total)
    found: dict[int, tuple[str, str, str]] = {}
    for record_type in dict.fromkeys(row[0] for row in ranked):
        ids = json.dumps([row[1] for row in ranked if row[0] == record_type]).decode()
        for record_id, slug, label, snippet in db.all(_snippets_sql(db.dialect, record_type), {**q.params, "ids": ids}):
            found[record_id] = (slug, label, snippet)
    hits = []
    for record_type, record_id, rank, _count in ranked:
        slug, label, snippet = found[record_id]
        hits.append({
            "type": record_type, "slug": slug, "label": label, "snippet": highlighted(snippet),
            "score": round(-rank % NAMED_FIRST, 6), "href": href(record_type, slug),
        })  # fmt: skip
    return Page(ranked, next_cursor, total), hits
