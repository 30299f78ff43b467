"""Births, deaths and publications on a day of the year or in a year (/v1/on-this-day, /v1/years).

Events come from app.record_types.event.queries; this module lists people by their birth or death and works by
their publication, with the same semantics: on a day, single-day dates only, matched by Gregorian
(or recorded) month and day; in a year, every date that overlaps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.sql import ColumnElement, FromClause

from app.db import ReadConnection
from app.models import Record
from app.queries.common import Cursor, Keyed, Page, Statement, bound, fetch_page, shape_of
from app.queries.dated import DateColumns, dated_statement, on_day, overlap_arms
from app.record_types.person.model import Person
from app.record_types.person.queries import DatedPersonRow
from app.record_types.work.model import Work
from app.record_types.work.queries import DatedWorkRow

PE = cast(Table, Person.__table__)
W = cast(Table, Work.__table__)
R = cast(Table, Record.__table__)


@dataclass(frozen=True)
class Listing(Generic[Keyed]):
    name: str
    date: DateColumns
    columns: tuple[ColumnElement[Any], ...]  # then min_jdn and id: the fields of `row`
    rows: FromClause
    row: type[Keyed]


PERSON_COLUMNS = (R.c.slug, PE.c.name, PE.c.description, PE.c.born_json, PE.c.died_json)
BIRTHS = Listing("births", DateColumns(PE, "born"), PERSON_COLUMNS, PE.join(R, R.c.id == PE.c.id), DatedPersonRow)
DEATHS = Listing("deaths", DateColumns(PE, "died"), PERSON_COLUMNS, PE.join(R, R.c.id == PE.c.id), DatedPersonRow)
PUBLISHED = Listing(
    "works",
    DateColumns(W, "published"),
    (R.c.slug, W.c.title, W.c.kind, W.c.published_json),
    W.join(R, R.c.id == W.c.id),
    DatedWorkRow,
)


@dataclass(frozen=True, slots=True)
class When:
    """A day of the year (month, day; years lo..hi optional) or a span of days (lo..hi, overlap)."""

    month: int | None = None
    day: int | None = None
    recorded_calendar: bool = False
    lo: int | None = None  # inclusive JDN bounds
    hi: int | None = None
    descending: bool = False

    def conditions(self, date: DateColumns) -> tuple[list[list[ColumnElement[bool]]], list[ColumnElement[bool]]]:
        """(overlap arms, conditions for every arm)."""
        if self.month is None:
            lo, hi = ("lo" if self.lo is not None else None), ("hi" if self.hi is not None else None)
            return overlap_arms(date, lo, hi), []
        conditions = on_day(date, recorded=self.recorded_calendar)
        if self.lo is not None:
            conditions.append(date.min_jdn >= bindparam("lo"))
        if self.hi is not None:
            conditions.append(date.min_jdn <= bindparam("hi"))
        return [[]], conditions


def _statement(listing: Listing[Any], when: When, after_cursor: bool, *, ordered: bool) -> Statement:
    arms, conditions = when.conditions(listing.date)
    return dated_statement(
        listing.date, listing.columns, listing.rows, arms=arms, conditions=conditions,
        descending=when.descending, after_cursor=after_cursor, ordered=ordered,
    )  # fmt: skip


def dated_page(
    db: ReadConnection,
    listing: Listing[Keyed],
    when: When,
    *,
    limit: int,
    cursor: Cursor | None,
    sort: str,
    count_cap: int,
) -> Page[Keyed]:
    return fetch_page(
        db,
        key=("dated", listing.name, shape_of(when)),
        statement=partial(_statement, listing, when),
        row=listing.row,
        params=bound({"month": when.month, "day": when.day, "lo": when.lo, "hi": when.hi}),
        limit=limit,
        sort=sort,
        cursor=cursor,
        count_cap=count_cap,
    )
