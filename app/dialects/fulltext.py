"""Full-text search on both engines: SQLite's FTS5 and PostgreSQL's tsvector with a GIN index.

Both index the same three fields of a record (migrations 0002 and 0005): its name or title, its
other names, its text; both ignore case and diacritics and do not stem. A query in Chronicle's
language (app.queries.text) is written out for each engine: an FTS5 expression bound as `:q`, a
tsquery bound as `:q_ts`. A column filter (only the names) is an FTS5 column filter on SQLite and
`ts_filter` to the weights A and B on PostgreSQL.

Ranking differs: BM25 on SQLite, ts_rank with weights 1, 0.5, 0.1 (the same ratios) on PostgreSQL;
results agree as sets, not always in order. A prefix phrase ("permanent rev"*) is a prefix on its
last word in FTS5 and on every word in a tsquery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import NullType

from app.dialects.json import JSON

if TYPE_CHECKING:
    from app.queries.search import Target

# A parsed query (app.queries.text): ("words" | "prefix", text) or ("and" | "or" | "not", [nodes]);
# "not" excludes its second and later nodes from its first.
Node = tuple[str, Any]  # (kind, str | list[Node])


def fts5(node: Node) -> str:
    kind, value = node[0], node[1]
    if kind in ("words", "prefix"):
        return '"' + str(value).replace('"', '""') + '"' + ("*" if kind == "prefix" else "")
    return "(" + f" {kind.upper()} ".join(map(fts5, value)) + ")"


def tsquery(node: Node) -> str:
    kind, value = node[0], node[1]
    if kind in ("words", "prefix"):
        quoted = "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"
        return quoted + (":*" if kind == "prefix" else "")
    if kind == "not":
        return "(" + " & !".join(map(tsquery, value)) + ")"
    return "(" + (" & " if kind == "and" else " | ").join(map(tsquery, value)) + ")"


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A text query as each engine takes it."""

    fts5: str
    tsquery: str

    @classmethod
    def of(cls, node: Node) -> TextQuery:
        return cls(fts5(node), tsquery(node))

    @property
    def params(self) -> dict[str, str]:
        return {"q": self.fts5, "q_ts": self.tsquery}


def _weights(columns: tuple[str, ...]) -> str:
    """The tsvector weights of the first len(columns) fields: '{a}' or '{a,b}'."""
    return "{" + ",".join("abc"[: len(columns)]) + "}"


# --- Core: the records matching the query (every list's `q` filter) -------------------------------


class matches_text(ColumnElement[Any]):
    """`record_id IN (the ids whose full-text row in `fts` matches the query)`, in `columns` only when
    given (the leading fields: name, then other names)."""

    # Not Boolean: SQLAlchemy writes a Boolean expression in WHERE as `(...) = 1` on SQLite, which
    # hides the IN from the planner (it then scanned every event: 140 ms instead of 3 at 1M).
    type = NullType()
    inherit_cache = False  # compiled once per filter shape (ReadConnection.compiled)

    def __init__(self, record_id: ColumnElement[Any], fts: str, columns: tuple[str, ...] = ()) -> None:
        self.record_id = record_id
        self.fts = fts
        self.columns = columns


@compiles(matches_text, "sqlite")
def _matches_text_sqlite(element: matches_text, compiler: SQLCompiler, **kw: Any) -> str:
    q = compiler.process(bindparam("q"), **kw)
    match = f"'{{{' '.join(element.columns)}}} : (' || {q} || ')'" if element.columns else q
    record_id = compiler.process(element.record_id, **kw)
    return f"{record_id} IN (SELECT rowid FROM {element.fts} WHERE {element.fts} MATCH {match})"


@compiles(matches_text, "postgresql")
def _matches_text_postgresql(element: matches_text, compiler: SQLCompiler, **kw: Any) -> str:
    query = f"to_tsquery('chronicle_text', {compiler.process(bindparam('q_ts'), **kw)})"
    within = f" AND ts_filter(document, '{_weights(element.columns)}') @@ {query}" if element.columns else ""
    record_id = compiler.process(element.record_id, **kw)
    return f"{record_id} IN (SELECT id FROM {element.fts} WHERE document @@ {query}{within})"


# --- /v1/search: ranked matches, then snippets for a page ------------------------------------------

# Private-use characters mark the matches in snippets, so that the text around them can be
# HTML-escaped before they become <mark> elements (app.queries.search.highlighted).
OPEN, CLOSE = "\ue000", "\ue001"
SNIPPET_TOKENS = 16


class SQLiteSearch:
    def ranked(self, t: Target, named_first: float) -> str:
        """SELECT type, id, rank (lower is better) of every record of `t` that matches :q."""
        return (
            f"SELECT '{t.type}' AS type, rowid AS id, bm25({t.fts}, {', '.join(map(str, t.weights))}) - CASE WHEN "
            f"rowid IN (SELECT rowid FROM {t.fts} WHERE {t.fts} MATCH '{{{' '.join(t.names)}}} : (' || :q || ')') "
            f"THEN {named_first} ELSE 0 END AS rank FROM {t.fts} WHERE {t.fts} MATCH :q"
        )

    def snippets(self, t: Target) -> str:
        """SELECT id, slug, label, snippet of the records of `t` whose ids are bound as :ids."""
        return (
            f"SELECT f.rowid, r.slug, x.{t.label}, snippet({t.fts}, -1, char({ord(OPEN)}), char({ord(CLOSE)}), '…', "
            f"{SNIPPET_TOKENS}) FROM {t.fts} f JOIN {t.table} x ON x.id = f.rowid JOIN records r ON r.id = f.rowid "
            f"WHERE {t.fts} MATCH :q AND f.rowid {JSON['sqlite'].in_ids('ids')}"
        )


_HEADLINE = (
    f'StartSel="{OPEN}", StopSel="{CLOSE}", MaxWords={SNIPPET_TOKENS}, MinWords=6, ShortWord=0, '
    'MaxFragments=1, FragmentDelimiter=" … "'
)
_TSQUERY = "to_tsquery('chronicle_text', :q_ts)"


class PostgresSearch:
    def ranked(self, t: Target, named_first: float) -> str:
        # ts_rank is a real; as a double it keeps its exact value through the cursor and back.
        rank = "CAST(ts_rank('{0, 0.1, 0.5, 1}', f.document, query) AS double precision)"
        return (
            f"SELECT '{t.type}' AS type, f.id AS id, -{rank} - CASE WHEN ts_filter(f.document, "
            f"'{_weights(t.names)}') @@ query THEN {named_first} ELSE 0 END AS rank "
            f"FROM {t.fts} f, {_TSQUERY} AS query WHERE f.document @@ query"
        )

    def snippets(self, t: Target) -> str:
        return (
            f"SELECT x.id, r.slug, x.{t.label}, ts_headline('chronicle_text', {t.text}, query, "
            f"'{_HEADLINE}') FROM {t.table} x JOIN records r ON r.id = x.id, {_TSQUERY} AS query "
            f"WHERE x.id {JSON['postgresql'].in_ids('ids')}"
        )


SEARCH: dict[str, SQLiteSearch | PostgresSearch] = {"sqlite": SQLiteSearch(), "postgresql": PostgresSearch()}
