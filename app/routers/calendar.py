"""Calendar, /v1/on-this-day and /v1/years: what happened, who was born and who died on a day or in a year."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from app.dates import MAX_YEAR, MIN_YEAR, MONTH_NAMES, days_in_month, year_bounds, year_label
from app.errors import bad_parameter, described
from app.isolation import read_db, read_endpoint
from app.queries import calendar as queries
from app.queries.common import Page, year_range
from app.record_types.event import queries as event_queries
from app.record_types.person.queries import person_summaries
from app.record_types.work.queries import work_summaries
from app.routers.common import (
    LIST_ERRORS,
    conditional,
    decode_cursor,
    encode_cursor,
    envelope,
    json_response,
    list_validators,
    parse_query,
    query_docs,
)
from app.schemas import DAY_LISTS, YEAR_LISTS, OnThisDay, OnThisDayQuery, YearOverview, YearQuery

router = APIRouter(tags=["calendar"])
MONTH_DAY_PATTERN = described(
    r"^\d{2}-\d{2}$", "a month and day as MM-DD", "02-12",
    lambda text: "-".join(part.strip().zfill(2) for part in text.split("-")),  # 2-12 -> 02-12
)  # fmt: skip
MonthDay = Annotated[
    str,
    Path(pattern=MONTH_DAY_PATTERN, description="Month and day, `MM-DD` (`02-12`: 12 February).", examples=["11-07"]),
]


def _chosen(request: Request, names: str | None, every: tuple[str, ...], cursor: str | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(names.split(","))) if names else every
    if cursor is not None and len(chosen) != 1:
        raise bad_parameter("cursor", "a cursor pages one list: give that list's name as type (see each list's next)")
    return chosen


def _part(request: Request, name: str, page: Page[Any], items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """One list of the answer: its page, and the URL of its next page."""
    next_href = None
    next_cursor = encode_cursor(request, page.next_cursor)
    if next_cursor is not None:
        params = dict(request.query_params)
        params.update(type=name, cursor=next_cursor)
        next_href = f"{request.scope['path']}?{urlencode(params)}"
    return {**envelope(items, next_cursor, page.total, limit), "next": next_href}


def _lists(
    request: Request,
    chosen: tuple[str, ...],
    every: tuple[str, ...],
    when: queries.When,
    event_filters: event_queries.EventFilters,
    *,
    limit: int,
    cursor: str | None,
    sort: str,
) -> dict[str, Any]:
    db = read_db(request)
    cap = request.app.state.settings.total_count_cap
    answer: dict[str, Any] = dict.fromkeys(every)
    for name in chosen:
        page_sort = f"{sort}:{name}"
        page_cursor = decode_cursor(request, cursor, page_sort)
        if name == "events":
            events = event_queries.list_events(
                db, filters=event_filters, limit=limit, cursor=page_cursor, sort=page_sort, count_cap=cap
            )
            answer[name] = _part(request, name, events, event_queries.event_summaries(db, events.rows), limit)
        elif name == "works":
            works = queries.dated_page(
                db, queries.PUBLISHED, when, limit=limit, cursor=page_cursor, sort=page_sort, count_cap=cap
            )
            answer[name] = _part(request, name, works, work_summaries(db, works.rows), limit)
        else:
            listing = queries.BIRTHS if name == "births" else queries.DEATHS
            people = queries.dated_page(
                db, listing, when, limit=limit, cursor=page_cursor, sort=page_sort, count_cap=cap
            )
            answer[name] = _part(request, name, people, person_summaries(people.rows), limit)
    return answer


@router.get(
    "/v1/on-this-day/{month_day}",
    response_model=OnThisDay,
    summary="On this day",
    responses=LIST_ERRORS,
    openapi_extra=query_docs(OnThisDayQuery),
)
@read_endpoint
def on_this_day(request: Request, month_day: MonthDay) -> Response:
    """Events, births and deaths on a day of the year, newest first, as in Wikimedia's feed. Only dates
    known to the day count (not months, years, intervals or sets). Days are Gregorian, including
    Julian dates converted; `calendar=julian` matches the day as it was recorded in the Julian calendar."""
    query = parse_query(request, OnThisDayQuery)
    month, day = int(month_day[:2]), int(month_day[3:])
    if not 1 <= month <= 12:
        raise bad_parameter(
            "month_day", f"there is no month {month}: use MM-DD, such as 02-12 for 12 February", where="path"
        )
    if not 1 <= day <= days_in_month("julian", 2000, month):  # 29 February exists in leap years
        raise bad_parameter("month_day", f"{MONTH_NAMES[month - 1]} has no day {day}", where="path")
    if query.from_ is not None and query.to is not None and query.from_ > query.to:
        raise bad_parameter("from", f"from={query.from_} is after to={query.to}")
    lo, hi = year_range(query.from_, query.to)
    recorded = query.calendar == "julian"
    chosen = _chosen(request, query.type, DAY_LISTS, query.cursor)
    when = queries.When(month=month, day=day, recorded_calendar=recorded, lo=lo, hi=hi, descending=True)
    event_filters = event_queries.EventFilters(
        min_jdn=lo, max_jdn=hi, month=month, day=day, recorded_calendar=recorded, kind=query.kind, descending=True
    )
    label = f"{day} {MONTH_NAMES[month - 1]}" + (" (O.S.)" if recorded else "")

    def answer() -> Response:
        lists = _lists(
            request, chosen, DAY_LISTS, when, event_filters, limit=query.limit, cursor=query.cursor, sort="day"
        )
        return json_response({"month": month, "day": day, "calendar": query.calendar, "label": label, **lists})

    return conditional(request, list_validators(request), answer)


@router.get(
    "/v1/years/{year}",
    response_model=YearOverview,
    summary="One year",
    responses=LIST_ERRORS,
    openapi_extra=query_docs(YearQuery),
)
@read_endpoint
def year_overview(
    request: Request,
    year: Annotated[
        int,
        Path(ge=MIN_YEAR, le=MAX_YEAR, description="Astronomical year: 0 is 1 BCE, -43 is 44 BCE.", examples=[1940]),
    ],
) -> Response:
    """What happened in a year, who was born and who died, and what was published: every record whose
    date overlaps the year (a `192X` date counts in 1929; each date says how precise it is), in date
    order. BCE years are astronomical (`/v1/years/-43` is 44 BCE), and the label says so."""
    query = parse_query(request, YearQuery)
    lo, hi = year_bounds(year)
    chosen = _chosen(request, query.type, YEAR_LISTS, query.cursor)
    when = queries.When(lo=lo, hi=hi)
    event_filters = event_queries.EventFilters(min_jdn=lo, max_jdn=hi, kind=query.kind)

    def answer() -> Response:
        lists = _lists(
            request, chosen, YEAR_LISTS, when, event_filters, limit=query.limit, cursor=query.cursor, sort="year"
        )
        return json_response({"year": year, "label": year_label(year), **lists})

    return conditional(request, list_validators(request), answer)
