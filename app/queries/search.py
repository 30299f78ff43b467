"""Search across record types: BM25-ranked full-text matches, with highlighted snippets.

Each record type has an FTS5 table whose fields weigh differently in the ranking (migrations 0002
and 0005): the title or name counts most, then other names (aliases, historical names, subjects),
then the summary or description. A page is found in two steps: every match's rank (FTS5 ranks
them all anyway, so the same pass counts them), then snippets for the page's records only.

Ranks come from one BM25 per type, each with its own table's statistics, so a person and an event
with the same score are comparable only roughly; within a type the order is BM25's.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from typing import Any

from app import json
from app.db import ReadConnection
from app.queries.common import Cursor, Page, Total


@dataclass(frozen=True, slots=True)
class Target:
    type: str
    fts: str
    table: str
    label: str  # the column a hit is called by
    weights: tuple[float, ...]  # BM25 weight of each FTS column, in order
    names: tuple[str, ...]  # the FTS columns that name the record
    collection: str


TARGETS = {
    "event": Target("event", "events_fts", "events", "title", (10.0, 1.0), ("title",), "events"),
    "person": Target("person", "people_fts", "people", "name", (10.0, 5.0, 1.0), ("name", "aliases"), "people"),
    "place": Target("place", "places_fts", "places", "name", (10.0, 5.0, 1.0), ("name", "other_names"), "places"),
    "work": Target("work", "works_fts", "works", "title", (10.0, 5.0, 1.0), ("title",), "works"),
}
# A record whose name or title matches the whole query comes before every record that matches only
# in its text: BM25 alone ranks poorly where a word is in most rows (IDF near zero), as "Trotsky" is
# in a small collection about him. The tier is part of the rank (the sort and cursor key).
NAMED_FIRST = 1000.0
# Private-use characters mark the matches in FTS5 snippets, so that the text around them can be
# HTML-escaped before they become <mark> elements.
_OPEN, _CLOSE = "\ue000", "\ue001"
SNIPPET_TOKENS = 16


@functools.cache
def _ranking_sql(types: tuple[str, ...], after_cursor: bool) -> str:
    arms = " UNION ALL ".join(
        f"SELECT '{t.type}' AS type, rowid AS id, bm25({t.fts}, {', '.join(map(str, t.weights))}) - CASE WHEN rowid IN "
        f"(SELECT rowid FROM {t.fts} WHERE {t.fts} MATCH '{{{' '.join(t.names)}}} : (' || :q || ')') "
        f"THEN {NAMED_FIRST} ELSE 0 END AS rank FROM {t.fts} WHERE {t.fts} MATCH :q"
        for t in map(TARGETS.__getitem__, types)
    )
    after = "WHERE (rank, id) > (:after_key, :after_id)" if after_cursor else ""
    return f"SELECT type, id, rank, count(*) OVER () FROM ({arms}) {after} ORDER BY rank, id LIMIT :limit"


@functools.cache
def _snippets_sql(record_type: str) -> str:
    t = TARGETS[record_type]
    return (
        f"SELECT f.rowid, r.slug, x.{t.label}, snippet({t.fts}, -1, char(57344), char(57345), '…', {SNIPPET_TOKENS}) "
        f"FROM {t.fts} f JOIN {t.table} x ON x.id = f.rowid JOIN records r ON r.id = f.rowid "
        f"WHERE {t.fts} MATCH :q AND f.rowid IN (SELECT value FROM json_each(:ids))"
    )


def highlighted(snippet: str) -> str:
    """The snippet as HTML: its text escaped, each match in <mark>."""
    return html.escape(snippet, quote=False).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def search(
    db: ReadConnection, *, q: str, types: tuple[str, ...], limit: int, cursor: Cursor | None
) -> tuple[Page, list[dict[str, Any]]]:
    """A page of hits for the FTS5 expression `q` (app.queries.text.fts_query), best first."""
    params: dict[str, Any] = {"q": q, "limit": limit + 1}
    if cursor is not None:
        params.update(after_key=cursor.key, after_id=cursor.id)
    ranked = db.all(_ranking_sql(types, cursor is not None), params)
    total = cursor.total if cursor is not None else Total(ranked[0][3] if ranked else 0, True)
    next_cursor = None
    if len(ranked) > limit:
        ranked = ranked[:limit]
        _type, last_id, last_rank, _count = ranked[-1]
        next_cursor = Cursor("rank", last_rank, last_id, total).encode()
    found: dict[int, tuple[str, str, str]] = {}
    for record_type in dict.fromkeys(row[0] for row in ranked):
        ids = json.dumps([row[1] for row in ranked if row[0] == record_type]).decode()
        for record_id, slug, label, snippet in db.all(_snippets_sql(record_type), {"q": q, "ids": ids}):
            found[record_id] = (slug, label, snippet)
    hits = []
    for record_type, record_id, rank, _count in ranked:
        slug, label, snippet = found[record_id]
        hits.append({
            "type": record_type, "slug": slug, "label": label, "snippet": highlighted(snippet),
            "score": round(-rank % NAMED_FIRST, 6), "href": f"/v1/{TARGETS[record_type].collection}/{slug}",
        })  # fmt: skip
    return Page(ranked, next_cursor, total), hits
