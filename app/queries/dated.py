"""Lists of records in date order (events by date, people by birth or death, works by publication).

A date is stored as inclusive day bounds (min_jdn, max_jdn), a span level, and month and day for
"on this day" (app.models.date_columns). Every list here is found the same way: positions
(min_jdn, id) first, read from an index in order and cut at the page size, then the rows of those
positions alone - so a page costs the same on page 1 and page 10,000, and counting reads the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, literal_column, select, tuple_, union_all
from sqlalchemy.sql import ColumnElement, FromClause

from app.dates import MAX_SPAN_LEVEL, SPAN_LEVEL_BASE
from app.queries.common import Statement


@dataclass(frozen=True)
class DateColumns:
    """The columns of the date called `prefix` in `table` (date, born, died, published)."""

    table: Table
    prefix: str

    def __getattr__(self, part: str) -> Any:  # min_jdn, max_jdn, span_level, month, day, recorded_month...
        return self.table.c[f"{self.prefix}_{part}"]

    @property
    def id(self) -> ColumnElement[int]:
        return self.table.c.id


def overlap_arms(date: DateColumns, lo: str | None, hi: str | None) -> list[list[ColumnElement[bool]]]:
    """Conditions for the date overlapping [:lo, :hi] (either end open), one list per span level.

    A date overlaps [lo, hi] when min_jdn <= hi and max_jdn >= lo. On its own, `min_jdn <= hi` is an
    index range reaching back to the beginning of time; but a date of level L spans fewer than
    4**L days, so for it min_jdn >= lo - (4**L - 1) as well: every level becomes a short range,
    already in date order, and SQLite merges the levels (MERGE (UNION ALL)) without sorting.
    """
    arms = []
    for level in range(MAX_SPAN_LEVEL + 1):
        widest = SPAN_LEVEL_BASE**level - 1
        arm: list[ColumnElement[bool]] = [date.span_level == literal_column(str(level))]
        if lo is not None:
            arm += [date.min_jdn >= bindparam(lo) - literal_column(str(widest)), date.max_jdn >= bindparam(lo)]
        if hi is not None:
            arm.append(date.min_jdn <= bindparam(hi))
        arms.append(arm)
    return arms


def on_day(date: DateColumns, *, recorded: bool) -> list[ColumnElement[bool]]:
    """The date is the single day :month-:day (Gregorian, or as recorded); intervals never are."""
    if recorded:
        return [date.recorded_month == bindparam("month"), date.recorded_day == bindparam("day")]
    return [date.month == bindparam("month"), date.day == bindparam("day")]


def dated_statement(
    date: DateColumns,
    row_columns: Sequence[ColumnElement[Any]],
    rows: FromClause,
    *,
    arms: list[list[ColumnElement[bool]]],
    conditions: Sequence[ColumnElement[bool]],
    descending: bool,
    after_cursor: bool,
    ordered: bool,
    counted: bool = False,
) -> Statement:
    """The page (`ordered`) or what to count (not `ordered`).

    `arms`: alternative condition lists (overlap_arms), or [[]]; `conditions` apply to every arm.
    `rows` joins date.table to what `row_columns` need; the page's rows are those columns, then
    min_jdn and id, then - when `counted` - the number of matches (app.queries.common.fetch_page).
    """
    common = list(conditions)
    if after_cursor:
        position = tuple_(date.min_jdn, date.id)
        after = tuple_(bindparam("after_key"), bindparam("after_id"))
        common.append(position < after if descending else position > after)
    extra = [func.count().over().label("matches")] if counted and ordered else []
    positions = [
        select(date.min_jdn.label("min_jdn"), date.id.label("id"), *extra).where(*arm, *common) for arm in arms
    ]
    if not ordered:
        return positions[0] if len(positions) == 1 else union_all(*positions)
    if len(positions) == 1:
        by = [date.min_jdn.desc(), date.id.desc()] if descending else [date.min_jdn, date.id]
        page = positions[0].order_by(*by).limit(bindparam("limit")).subquery("page")
    else:
        order = "min_jdn DESC, id DESC" if descending else "min_jdn, id"
        merged = union_all(*positions).order_by(*map(literal_column, order.split(", ")))
        page = merged.limit(bindparam("limit")).subquery("page")
    in_order = [page.c.min_jdn, page.c.id]
    columns = [*row_columns, page.c.min_jdn, page.c.id, *([page.c.matches] if extra else [])]
    joined = page.join(rows, date.id == page.c.id)
    return select(*columns).select_from(joined).order_by(*(c.desc() if descending else c for c in in_order))
