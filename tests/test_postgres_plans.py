"""EXPLAIN on PostgreSQL: every list shape has an index path - keyset pages read an index in order
(no Sort below the page), text filters use the GIN index, box queries the coordinates' B-tree.

The seed data is small enough that the planner would rightly read whole tables; with sequential
scans and sorts priced out (enable_seqscan, enable_sort off) it still picks one only when no index
can answer, so a Seq Scan or a Sort left in the plan is a missing index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.db import CompiledSQL, PostgresReads, read_connection
from app.dialects.fulltext import TextQuery
from app.queries.geo import Area
from app.queries.text import fts_query
from app.record_types.event.queries import EventFilters, _statement
from app.record_types.person.queries import PeopleFilters
from app.record_types.person.queries import _statement as people_statement
from tests.test_query_plans import SHAPES

pytestmark = pytest.mark.postgresql_only


@pytest.fixture(scope="module")
def db(seeded_url: str) -> Iterator[PostgresReads]:
    reads = read_connection(seeded_url)
    assert isinstance(reads, PostgresReads)
    reads.connection.execute("SET enable_seqscan = off")
    reads.connection.execute("SET enable_sort = off")
    yield reads
    reads.close()


def plan(db: PostgresReads, key: Any, build: Any, params: dict[str, Any]) -> str:
    statement = db.compiled(key, build)
    explain = CompiledSQL("EXPLAIN " + statement.text, statement.defaults)
    return "\n".join(row[0] for row in db.all(explain, params))


PARAMS = dict.fromkeys(("min_jdn", "max_jdn", "month", "day", "person_id", "after_key", "after_id"), 1) | {
    "kind": "exile",
    "limit": 21,
}


def sorts(text: str) -> list[str]:
    """The Sort nodes of a plan, each with the node it sorts (the next line that is a node)."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.lstrip(" ->").startswith("Sort "):
            below = next(x for x in lines[i + 1 :] if x.lstrip().startswith("->"))
            found.append(below.strip(" ->"))
    return found


@pytest.mark.parametrize("after_cursor", [False, True])
@pytest.mark.parametrize("name", SHAPES)
def test_event_lists_have_an_index_path_in_order(db: PostgresReads, name: str, after_cursor: bool) -> None:
    """Each arm of a date-overlap union reads an index range; PostgreSQL 15 sorts the arms' matches
    (an Append: it does not merge a UNION ALL's ordered arms), which are the year's events, not the
    table's. Every other shape reads an index in order: no Sort at all, but the page's own, over a
    Nested Loop of at most `limit` rows."""
    filters = SHAPES[name]
    text = plan(db, ("plan", name, after_cursor), lambda: _statement(filters, after_cursor, ordered=True), PARAMS)
    assert "Seq Scan" not in text, text
    if filters.uses_overlap:
        assert all(below.startswith("Append") for below in sorts(text)), text
    else:
        assert sorts(text) == [], text


def test_text_filters_use_the_gin_index(db: PostgresReads) -> None:
    query: TextQuery = fts_query("trotsky exile")
    filters = EventFilters(q=query)
    text = plan(db, ("plan", "q"), lambda: _statement(filters, False, ordered=True), {**PARAMS, **query.params})
    assert "ix_events_fts_document" in text and "Seq Scan" not in text, text


def test_box_queries_use_the_coordinates_index(db: PostgresReads) -> None:
    area = Area.box(south=40.0, west=28.0, north=42.0, east=30.0)
    filters = EventFilters(area=area)
    text = plan(db, ("plan", "box"), lambda: _statement(filters, False, ordered=True), {**PARAMS, **area.params})
    assert "ix_places_coordinates" in text and "Seq Scan" not in text, text


def test_people_by_name_prefix_use_the_name_key_index(db: PostgresReads) -> None:
    filters = PeopleFilters(name_prefix="leon")
    text = plan(
        db, ("plan", "people"), lambda: people_statement(filters, False, ordered=True), {**filters.params, "limit": 21}
    )
    assert "ix_people_name_key" in text and "Seq Scan" not in text, text


@pytest.mark.parametrize("ordered", [True, False])
def test_people_without_dates_are_read_from_their_own_index(db: PostgresReads, ordered: bool) -> None:
    """`dated=false` and alive_in's `unplaced` count: the partial index of undated people, never all people."""
    filters = PeopleFilters(dated=False)
    text = plan(
        db, ("plan", "undated", ordered), lambda: people_statement(filters, False, ordered=ordered),
        {**filters.params, "limit": 21},
    )  # fmt: skip
    assert "ix_people_undated" in text and "Seq Scan" not in text, text
