"""EXPLAIN QUERY PLAN of the event list: index ranges only, no table scan, no sort (temp B-tree).

A page is found as positions (date, id) in index order, LIMIT n, and only then joined to its rows
and slugs: the outer step re-sorts those n rows (at most 101), which is the one sort allowed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.db import SQLiteReads
from app.queries.calendar import BIRTHS, DEATHS, PUBLISHED, Listing, When
from app.queries.dated import dated_statement
from app.queries.text import fts_query
from app.record_types.event.queries import EventFilters, _statement
from app.record_types.person.queries import PeopleFilters
from app.record_types.person.queries import _statement as people_statement

pytestmark = pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN (test_postgres_plans.py: PostgreSQL's)

SHAPES = {
    "year": EventFilters(min_jdn=2425000, max_jdn=2425400),
    "year, newest first": EventFilters(min_jdn=2425000, max_jdn=2425400, descending=True),
    "from only": EventFilters(min_jdn=2425000),
    "on this day": EventFilters(month=11, day=7),
    "on this day, julian": EventFilters(month=10, day=25, recorded_calendar=True),
    "everything by date": EventFilters(),
    "person in a year": EventFilters(person_id=1, min_jdn=2425000, max_jdn=2425400),
    "kind": EventFilters(kind="exile"),
}


def plan_of(seeded_url: str, filters: EventFilters, after_cursor: bool, *, ordered: bool) -> list[str]:
    statement = _statement(filters, after_cursor, ordered=ordered).compile(dialect=SQLiteReads._sql_dialect)
    params: dict[str, object] = dict.fromkeys(
        ("min_jdn", "max_jdn", "month", "day", "person_id", "after_key", "after_id"), 1
    )
    params.update(kind="exile", limit=21, **{k: v for k, v in statement.params.items() if v is not None})
    with sqlite3.connect(Path(seeded_url.removeprefix("sqlite:///"))) as connection:
        return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)]


@pytest.mark.parametrize("after_cursor", [False, True])
@pytest.mark.parametrize("name", SHAPES)
def test_event_lists_use_indexes_in_order(seeded_url: str, name: str, after_cursor: bool) -> None:
    plan = plan_of(seeded_url, SHAPES[name], after_cursor, ordered=True)
    assert plan.count("SCAN page") == 1 and plan[-1] == "USE TEMP B-TREE FOR ORDER BY", plan
    inner = [step for step in plan[:-1] if step != "SCAN page"]
    assert not [step for step in inner if "TEMP B-TREE" in step], plan
    assert not [step for step in inner if step.startswith("SCAN") and "INDEX" not in step], plan


@pytest.mark.parametrize("name", ["year", "from only", "on this day", "everything by date"])
def test_counting_reads_the_index_alone(seeded_url: str, name: str) -> None:
    plan = plan_of(seeded_url, SHAPES[name], False, ordered=False)
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN")) and "anon" not in step]
    assert searches and all("COVERING INDEX" in step for step in searches), plan


def people_plans(seeded_url: str, filters: PeopleFilters) -> list[list[str]]:
    """SQLite's plans for a page of people and for their count."""
    with sqlite3.connect(Path(seeded_url.removeprefix("sqlite:///"))) as connection:
        plans = []
        for ordered in (True, False):
            statement = people_statement(filters, False, ordered=ordered).compile(dialect=SQLiteReads._sql_dialect)
            params = {**filters.params, "limit": 21, **{k: v for k, v in statement.params.items() if v is not None}}
            plans.append([row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)])
    return plans


def test_people_by_name_prefix_use_the_name_key_index_and_count_from_it(seeded_url: str) -> None:
    filters = PeopleFilters(name_prefix="leon")
    plans = people_plans(seeded_url, filters)
    page, count = plans
    assert "SEARCH people USING INDEX ix_people_name_key (name_key>? AND name_key<?)" in page, page
    assert not [step for step in page if "TEMP B-TREE" in step], page
    assert [step for step in count if step.startswith("SEARCH")] == [
        "SEARCH people USING COVERING INDEX ix_people_name_key (name_key>? AND name_key<?)"
    ], count


@pytest.mark.parametrize("filters", [PeopleFilters(dated=False), PeopleFilters(dated=False, name_prefix="r")], ids=str)
def test_people_without_dates_are_read_from_their_own_index(seeded_url: str, filters: PeopleFilters) -> None:
    """`dated=false` and alive_in's `unplaced` count: the partial index of undated people, never all people."""
    plans = people_plans(seeded_url, filters)
    for plan in plans:
        people = [step for step in plan if " people " in f"{step} "]
        assert people and all("ix_people_undated" in step for step in people), plan
        assert not [step for step in plan if "TEMP B-TREE" in step], plan


WHEN = {
    "on this day": When(month=3, day=15, descending=True),
    "on this day, julian, from a year": When(month=3, day=15, recorded_calendar=True, lo=2400000, descending=True),
    "in a year": When(lo=2425000, hi=2425400),
}


DATED_CASES = [
    pytest.param(listing, when, id=f"{listing.name}, {when}")
    for listing in (BIRTHS, DEATHS, PUBLISHED)
    for when in WHEN
    if listing is not PUBLISHED or WHEN[when].month is None  # works are listed by year, not by day
]


@pytest.mark.parametrize("after_cursor", [False, True])
@pytest.mark.parametrize(("listing", "when"), DATED_CASES)
def test_births_deaths_and_publications_use_indexes_in_order(
    seeded_url: str, listing: Listing[Any], when: str, after_cursor: bool
) -> None:
    arms, conditions = WHEN[when].conditions(listing.date)
    statement = dated_statement(
        listing.date, listing.columns, listing.rows, arms=arms, conditions=conditions,
        descending=WHEN[when].descending, after_cursor=after_cursor, ordered=True,
    ).compile(dialect=SQLiteReads._sql_dialect)  # fmt: skip
    params = {"month": 3, "day": 15, "lo": 1, "hi": 1, "after_key": 1, "after_id": 1, "limit": 21}
    params.update({k: v for k, v in statement.params.items() if v is not None})
    with sqlite3.connect(Path(seeded_url.removeprefix("sqlite:///"))) as connection:
        plan = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
    assert plan.count("SCAN page") == 1 and plan[-1] == "USE TEMP B-TREE FOR ORDER BY", plan
    inner = [step for step in plan[:-1] if step != "SCAN page"]
    assert not [step for step in inner if "TEMP B-TREE" in step], plan
    assert not [step for step in inner if step.startswith("SCAN") and "INDEX" not in step], plan


@pytest.mark.parametrize("columns", ["events", "people"])
def test_text_filters_start_from_the_full_text_matches(seeded_url: str, columns: str) -> None:
    """`q` reads the full-text index's matches, then each matching row by id: never a scan of the
    table (a `(... IN ...) = 1` in WHERE once hid the IN from the planner: 140 ms a page at 1M)."""
    query = fts_query("exile trotsky")
    statement = (
        _statement(EventFilters(q=query), False, ordered=True)
        if columns == "events"
        else people_statement(PeopleFilters(q=query), False, ordered=True)
    ).compile(dialect=SQLiteReads._sql_dialect)
    assert "= 1" not in str(statement)
    params = {**query.params, "limit": 21, **{k: v for k, v in statement.params.items() if v is not None}}
    with sqlite3.connect(Path(seeded_url.removeprefix("sqlite:///"))) as connection:
        plan = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
    assert any(step.startswith(("LIST SUBQUERY", "SCAN events_fts", "SCAN people_fts")) for step in plan), plan
    assert not [step for step in plan if step.startswith(("SCAN events", "SCAN people")) and "_fts" not in step], plan
