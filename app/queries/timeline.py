"""Counts of events per year, decade or century, for charts (/v1/timeline).

An event counts in every bucket its date overlaps, as /v1/events?from=START&to=END would list it.
One statement counts every bucket: the buckets (a JSON array bound as one parameter) joined to the
events of each span level by an index range, as app.queries.dated does for one range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, literal_column, select, union_all
from sqlalchemy.sql import ColumnElement

from app import json
from app.dates import (
    MAX_SPAN_LEVEL,
    MAX_YEAR,
    MIN_YEAR,
    OPEN_END_JDN,
    OPEN_START_JDN,
    SPAN_LEVEL_BASE,
    jdn_to_gregorian,
    year_bounds,
)
from app.db import ReadConnection
from app.dialects.json import json_item, json_rows
from app.queries.common import shape_of
from app.record_types.event.queries import DATE, E, EventFilters, _conditions

BUCKET_YEARS = {"year": 1, "decade": 10, "century": 100}
MAX_BUCKETS = 5000


def bucket_start(year: int, size: int) -> int:
    return year // size * size  # floor: the decade of -45 is -50..-41


def buckets(first_year: int, last_year: int, size: int) -> list[tuple[int, int, int, int]]:
    """(start year, end year, first JDN, last JDN) of each bucket from first_year's to last_year's."""
    found = []
    for start in range(bucket_start(first_year, size), last_year + 1, size):
        first, end = max(start, MIN_YEAR), min(start + size - 1, MAX_YEAR)
        found.append((first, end, year_bounds(first)[0], year_bounds(end)[1]))
    return found


def _extent_sql(filters: EventFilters) -> Any:
    """The first and the last start among the matching events, leaving out open starts (`../1985`)."""
    conditions = [*_conditions(filters), E.c.date_min_jdn > OPEN_START_JDN]
    first = select(func.min(E.c.date_min_jdn)).where(*conditions).scalar_subquery()
    last = select(func.max(E.c.date_min_jdn)).where(*conditions).scalar_subquery()
    return select(first, last)


def extent(db: ReadConnection, filters: EventFilters) -> tuple[int, int] | None:
    """The years from the first matching event's start to the last one's; None when nothing matches."""
    row = db.one(db.compiled(("timeline-extent", shape_of(filters)), lambda: _extent_sql(filters)), filters.params)
    if row is None or row[0] is None:
        return None
    return jdn_to_gregorian(row[0])[0], jdn_to_gregorian(min(row[1], OPEN_END_JDN))[0]


def _counts_sql(filters: EventFilters) -> Any:
    table = json_rows(bindparam("buckets")).table_valued("value")
    bucket = select(
        json_item(table.c.value, 0).label("start"),
        json_item(table.c.value, 1).label("lo"),
        json_item(table.c.value, 2).label("hi"),
    ).cte("bucket")
    conditions: list[ColumnElement[bool]] = _conditions(filters)
    if filters.min_jdn is not None:  # year, from, to: the events listed must overlap them too
        conditions.append(E.c.date_max_jdn >= bindparam("min_jdn"))
    if filters.max_jdn is not None:
        conditions.append(E.c.date_min_jdn <= bindparam("max_jdn"))
    arms = []
    for level in range(MAX_SPAN_LEVEL + 1):
        widest = literal_column(str(SPAN_LEVEL_BASE**level - 1), Integer)
        overlap = and_(
            DATE.span_level == literal_column(str(level)),
            DATE.min_jdn >= bucket.c.lo - widest,
            DATE.min_jdn <= bucket.c.hi,
            DATE.max_jdn >= bucket.c.lo,
        )
        arms.append(select(bucket.c.start).select_from(bucket.join(E, overlap)).where(*conditions))
    matched = union_all(*arms).subquery("matched")
    return select(matched.c.start, func.count()).group_by(matched.c.start)


def bucket_counts(db: ReadConnection, filters: EventFilters, spans: list[tuple[int, int, int, int]]) -> dict[int, int]:
    """Matching events per bucket start year."""
    params = {**filters.params, "buckets": json.dumps([[start, lo, hi] for start, _end, lo, hi in spans]).decode()}
    rows = db.all(db.compiled(("timeline", shape_of(filters)), lambda: _counts_sql(filters)), params)
    return {int(start): int(count) for start, count in rows}
