"""The API's links, built in one place: every `href` a response carries, every Location header,
every path a message or an OpenAPI example names.

A record's link is its collection under the version prefix, then its slug, then any sub-resource:
`href("person", "leon-trotsky")` is `/v1/people/leon-trotsky`. Statements that build their JSON in
the database (app.record_types.event.queries, app.queries.records) take the same link as a SQL expression from
`href_sql`, so the two cannot drift apart.

Slugs are not percent-encoded: SLUG_PATTERN (app.documents) admits only lower-case letters, digits
and hyphens, which a path carries as they are, and the SQL side could not encode them anyway.
Route declarations (`APIRouter(prefix=...)`, `@router.get(...)`) keep their literal paths: they are
what these links point at, and FastAPI reads them as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

# The one record-type -> collection mapping (`person` -> `people`); nothing here keeps a copy.
from app.registry import COLLECTIONS

API_PREFIX = "/v1"
Query = Mapping[str, str | int]  # parameters, urlencoded in order
_UNDER_PREFIX = API_PREFIX + "/"


def api_path(*segments: str | int, query: Query | None = None) -> str:
    """A path under the API's prefix, for what is not a record: `api_path("import")` is `/v1/import`;
    with `query`, its parameters urlencoded after a `?` (none: no `?`)."""
    path = "/".join((API_PREFIX, *(str(segment) for segment in segments)))
    return f"{path}?{urlencode(query)}" if query else path


def is_api_path(path: str) -> bool:
    """A path of the API itself, which read keys and rate limits apply to: not the docs, /openapi.json
    or the operations endpoints (/healthz, /readyz, /metrics)."""
    return path.startswith(_UNDER_PREFIX)


def collection_of(record_type: str) -> str:
    """The path segment of a record type's collection: `people` for `person`. KeyError for an unknown type."""
    return COLLECTIONS[record_type]


# Each type's record links up to the slug ("/v1/people/"): a list of 20 items builds 20 to 100 links,
# and concatenating onto these costs a tenth of building the path from its segments (0.08 vs 0.8 us).
_RECORD_PREFIXES = {record_type: f"{API_PREFIX}/{collection}/" for record_type, collection in COLLECTIONS.items()}


def href(record_type: str, slug: str | None = None, *more: str | int, query: Query | None = None) -> str:
    """A record's link, `/v1/people/leon-trotsky`; a sub-resource's, `href("event", "x", "revisions", 3)`;
    without a slug, the collection's, `href("person", query={"dated": "false"})` -> `/v1/people?dated=false`."""
    if slug is not None and not more and query is None:  # a record's link: the common case, made fast
        return _RECORD_PREFIXES[record_type] + slug
    if slug is None and more:
        raise ValueError("href: path segments after the collection need a slug first")
    segments = (collection_of(record_type),) if slug is None else (collection_of(record_type), slug, *more)
    return api_path(*segments, query=query)


def sql_literal(text: str) -> str:
    """A SQL string literal (standard SQL, as SQLite and PostgreSQL read it): quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def href_sql(record_type: str, slug_column: str) -> str:
    """The link of `href(record_type, slug)` as a SQL expression over the column or expression that
    holds the slug: `href_sql("source", "slug")` is `'/v1/sources/' || slug`. `slug_column` is SQL,
    written by us, never input."""
    return f"{sql_literal(href(record_type) + '/')} || {slug_column}"
