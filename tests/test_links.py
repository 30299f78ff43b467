"""The API's links come from one place, app.hrefs: href() and href_sql() build them, and no other
module in app/ writes a `"/v1/` (or SQL's `'/v1/`) path of its own except where a route is declared."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from app.hrefs import API_PREFIX, api_path, href, href_sql, is_api_path, sql_literal
from app.limits import IMPORT_PATH
from app.registry import COLLECTIONS

pytestmark = pytest.mark.engine_neutral  # string building and an in-memory sqlite3: no database of the pass

APP = Path(__file__).resolve().parent.parent / "app"
HREFS = APP / "hrefs.py"

# What the reviewers grep for (`grep -rn '"/v1/' app`: a double quote, then the prefix; f"/v1/ too),
# and a single quote then the prefix, which that grep misses: a SQL literal, "'/v1/events/' || slug".
HARD_CODED = re.compile(r"[\"']/v1/")
_METHOD = r"(?:get|head|post|put|patch|delete|api_route)"
# A route declaration is a line where the path is the first argument of the router, a route
# decorator or add_api_route, or a line with the path alone just after a decorator that opens there:
#   router = APIRouter(prefix="/v1/works", ...)
#   @router.get("/v1/years/{year}", ...)
#   router.add_api_route("/v1/changes", ...)
#   @router.get(
#       "/v1/years/{year}",
ROUTE_ON_ONE_LINE = re.compile(rf'APIRouter\(prefix="/v1/|@\w+\.{_METHOD}\("/v1/|\.add_api_route\("/v1/')
DECORATOR_OPENED = re.compile(rf"^\s*@\w+\.{_METHOD}\($")
PATH_ALONE = re.compile(r'^\s*"/v1/[^"]*",')


def hard_coded_links(source: str) -> list[tuple[int, str]]:
    """(line number, line) of each `"/v1/` that is not a route declaration."""
    lines = source.splitlines()
    found = []
    for number, line in enumerate(lines, start=1):
        if not HARD_CODED.search(line) or ROUTE_ON_ONE_LINE.search(line):
            continue
        if PATH_ALONE.match(line) and number > 1 and DECORATOR_OPENED.match(lines[number - 2]):
            continue
        found.append((number, line.strip()))
    return found


def test_no_module_but_hrefs_writes_a_link() -> None:
    found = [
        f"{path.relative_to(APP.parent)}:{number}: {line}"
        for path in sorted(APP.rglob("*.py"))
        if path != HREFS
        for number, line in hard_coded_links(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "build these with app.hrefs (href, href_sql, api_path):\n" + "\n".join(found)


def test_the_check_tells_route_declarations_from_links() -> None:
    allowed = """
router = APIRouter(prefix="/v1/search", tags=["search"])
@router.get("/v1/years/{year}", response_model=YearOverview)
router.add_api_route("/v1/changes", changes, methods=["GET"])
@router.get(
    "/v1/on-this-day/{month_day}",
    response_model=OnThisDay,
)
"""
    refused = '''
    return {"href": f"/v1/people/{slug}"}
    ("href", "'/v1/sources/' || slug")
    href: str = Field(examples=["/v1/events/october-revolution"])
"""/v1/search: one ranked search."""
IMPORT_PATH = "/v1/import"
    if scope["path"].startswith("/v1/"):
    values = (
        "/v1/events",
    )
'''
    assert hard_coded_links(allowed) == []
    assert [number for number, _line in hard_coded_links(refused)] == [2, 3, 4, 5, 6, 7, 9]


# --- href ------------------------------------------------------------------------------------------


def test_a_record_is_its_collection_and_slug() -> None:
    assert href("person", "leon-trotsky") == "/v1/people/leon-trotsky"
    assert href("event", "october-revolution") == "/v1/events/october-revolution"
    assert href("source", "deutscher-prophet-outcast") == "/v1/sources/deutscher-prophet-outcast"


def test_every_record_type_links_under_the_prefix() -> None:
    for record_type, collection in COLLECTIONS.items():
        assert href(record_type, "x") == f"{API_PREFIX}/{collection}/x"


def test_a_revision_is_a_sub_resource_of_its_record() -> None:
    assert href("event", "x", "revisions", 3) == "/v1/events/x/revisions/3"


def test_a_collection_with_its_query() -> None:
    assert href("person") == "/v1/people"
    assert href("person", query={"dated": "false"}) == "/v1/people?dated=false"
    # In the given order, urlencoded as the list's own `next` links are (a space as +).
    assert href("person", query={"q": "Leon Trotsky", "born_from": -43, "dated": "false"}) == (
        "/v1/people?q=Leon+Trotsky&born_from=-43&dated=false"
    )
    assert href("person", query={}) == "/v1/people"


def test_an_unknown_type_or_a_sub_path_without_a_slug_is_a_mistake() -> None:
    with pytest.raises(KeyError):
        href("planet", "mars")
    with pytest.raises(ValueError, match="need a slug"):
        href("event", None, "revisions")


def test_paths_that_are_not_records() -> None:
    assert api_path("import") == IMPORT_PATH == "/v1/import"
    assert api_path("years", -43) == "/v1/years/-43"
    assert api_path("changes", query={"since": 10}) == "/v1/changes?since=10"


def test_what_counts_as_the_api() -> None:
    assert is_api_path("/v1/events")
    assert is_api_path(href("person", "leon-trotsky"))
    assert not is_api_path("/v1")  # no route there: a 404 like any other path outside the API
    assert not is_api_path("/v10/events")
    assert not is_api_path("/docs")
    assert not is_api_path("/metrics")


# --- href_sql --------------------------------------------------------------------------------------


def test_href_sql_is_a_concatenation_of_the_collection_and_the_slug() -> None:
    assert href_sql("source", "slug") == "'/v1/sources/' || slug"
    assert href_sql("person", "pr.slug") == "'/v1/people/' || pr.slug"


def test_href_sql_in_sqlite_gives_what_href_gives() -> None:
    slugs = ["leon-trotsky", "1917", "a"]
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE records (type TEXT, slug TEXT)")
        db.executemany("INSERT INTO records VALUES (?, ?)", [(t, s) for t in COLLECTIONS for s in slugs])
        for record_type in COLLECTIONS:
            built = db.execute(
                f"SELECT {href_sql(record_type, 'slug')} FROM records WHERE type = ? ORDER BY rowid", (record_type,)
            ).fetchall()
            assert [link for (link,) in built] == [href(record_type, slug) for slug in slugs]


def test_a_quote_in_a_literal_stays_inside_it() -> None:
    tricky = ["it's", "'; DROP TABLE records; --", "''", "\\'"]
    with closing(sqlite3.connect(":memory:")) as db:
        for text in tricky:
            assert db.execute(f"SELECT {sql_literal(text)}").fetchone() == (text,)
