"""Compiled statements are cached by their filters' shape (app.queries.common.shape_of), derived from
the filters' fields: every field is in it, and two filter sets with the same shape build the same SQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from app.db import PostgresReads, SQLiteReads
from app.queries import timeline
from app.queries.calendar import BIRTHS, When
from app.queries.common import shape_of
from app.queries.dated import dated_statement
from app.queries.geo import Area
from app.queries.text import fts_query
from app.record_types.event import queries as events
from app.record_types.organisation import queries as organisations
from app.record_types.person import queries as people
from app.record_types.place import queries as places
from app.record_types.source import queries as sources
from app.record_types.work import queries as works

pytestmark = pytest.mark.engine_neutral  # statements compiled for both engines' dialects: no database


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    value: int | None = None
    text: str | None = None
    flag: bool | None = None
    area: Area | None = None


def test_a_value_counts_by_its_presence_a_flag_by_its_value_an_area_by_its_own_shape() -> None:
    assert shape_of(Sample()) == (None, None, None, None)
    assert shape_of(Sample(value=0, text="", flag=False)) == (True, True, False, None)
    assert shape_of(Sample(value=7, flag=True, area=Area.box(170, -50, -170, 50))) == (True, None, True, (False, True))
    assert shape_of(Sample(area=Area.around(55.75, 37.62, 100))) == (None, None, None, (True, False))


# Two values of each kind of filter that give the same SQL: a value is bound, a flag is not varied.
def _values(annotation: str, variant: int) -> Any:
    if "bool" in annotation:
        return True
    if "Area" in annotation:
        return Area.box(26, 36 + variant, 45, 42) if variant else Area.box(20, 30, 40, 50)
    if "TextQuery" in annotation:
        return fts_query("exile" if variant else "trotsky lenin")
    if "int" in annotation:
        return 2425000 + variant
    return "city" if variant else "exile"


def _filled(cls: type[Any], names: tuple[str, ...], variant: int) -> Any:
    fields = {field.name: field for field in dataclasses.fields(cls)}
    return cls(**{name: _values(str(fields[name].type), variant) for name in names})


def _when_statement(when: When) -> Any:
    arms, conditions = when.conditions(BIRTHS.date)
    return dated_statement(
        BIRTHS.date, BIRTHS.columns, BIRTHS.rows, arms=arms, conditions=conditions, descending=when.descending,
        after_cursor=False, ordered=True,
    )  # fmt: skip


LISTS: dict[str, tuple[type[Any], Callable[[Any], Any]]] = {
    "events": (events.EventFilters, lambda f: events._statement(f, True, ordered=True)),
    "events, counted": (events.EventFilters, lambda f: events._statement(f, False, ordered=False)),
    "timeline": (events.EventFilters, timeline._counts_sql),
    "timeline extent": (events.EventFilters, timeline._extent_sql),
    "people": (people.PeopleFilters, lambda f: people._statement(f, True, ordered=True)),
    "places": (places.PlaceFilters, lambda f: places._statement(f, True, ordered=True)),
    "works": (works.WorkFilters, lambda f: works._statement(f, True, ordered=True)),
    "sources": (sources.SourceFilters, lambda f: sources._statement(f, True, ordered=True)),
    "organisations": (organisations.OrganisationFilters, lambda f: organisations._statement(f, True, ordered=True)),
    "births": (When, _when_statement),
}


def _sql(statement: Any, dialect: Any) -> str:
    return str(statement.compile(dialect=dialect))


@pytest.mark.parametrize("name", LISTS)
def test_every_filter_is_in_the_shape(name: str) -> None:
    cls, _statement = LISTS[name]
    for field in dataclasses.fields(cls):
        assert shape_of(_filled(cls, (field.name,), 1)) != shape_of(cls()), field.name


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_filters_of_one_shape_build_one_statement(name: str, engine: str) -> None:
    """Each filter alone, and all of them together, with two different values each: one SQL text."""
    cls, statement = LISTS[name]
    dialect = (SQLiteReads if engine == "sqlite" else PostgresReads)._sql_dialect
    names = tuple(field.name for field in dataclasses.fields(cls))
    for chosen in [(), *((name,) for name in names), names]:
        first, second = _filled(cls, chosen, 0), _filled(cls, chosen, 1)
        assert shape_of(first) == shape_of(second)
        assert _sql(statement(first), dialect) == _sql(statement(second), dialect), chosen


def test_a_flag_changes_the_statement() -> None:
    """`dated` is None, False or True: three shapes, three statements."""
    dated = [people.PeopleFilters(dated=value) for value in (None, False, True)]
    assert len({shape_of(filters) for filters in dated}) == 3
    statements = {_sql(people._statement(filters, False, ordered=True), SQLiteReads._sql_dialect) for filters in dated}
    assert len(statements) == 3
