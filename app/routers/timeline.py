"""Timeline, /v1/timeline: how many events per year, decade or century, with the filters of /v1/events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.dates import jdn_to_gregorian, year_label
from app.errors import bad_parameter
from app.isolation import read_db, read_endpoint
from app.queries import timeline as queries
from app.record_types.event.queries import EventFilters
from app.record_types.event.routes import event_filters, searched_years
from app.routers.common import (
    LIST_ERRORS,
    answers,
    conditional,
    json_response,
    list_validators,
    parse_query,
    query_docs,
)
from app.schemas import Timeline, TimelineQuery

router = APIRouter(prefix="/v1/timeline", tags=["events"])


@router.get(
    "", response_model=Timeline, summary="Events per year, decade or century", responses=LIST_ERRORS,
    openapi_extra=query_docs(TimelineQuery), name="get_timeline",
)  # fmt: skip
@read_endpoint
def timeline(request: Request) -> Response:
    """Counts of events per bucket, for charts: every bucket over `from`/`to` (or `year`), or from the
    first matching event's start to the last one's, empty buckets included. An event counts in every
    bucket its date overlaps, exactly as `/v1/events` with that bucket's years as `from` and `to`
    (and the same filters) would list it."""
    query = parse_query(request, TimelineQuery)
    filters = event_filters(request, query)
    validators = list_validators(request)
    return conditional(
        request,
        validators,
        lambda: answers(request).answer(request, validators, lambda: _timeline(request, query, filters)),
    )


def _timeline(request: Request, query: TimelineQuery, filters: EventFilters) -> Response:
    db = read_db(request)
    searched = searched_years(query)
    answer: dict[str, Any] = (
        {"bucket": query.bucket} if searched is None else {"bucket": query.bucket, "searched": searched}
    )
    if filters.min_jdn is not None and filters.max_jdn is not None:
        first, last = jdn_to_gregorian(filters.min_jdn)[0], jdn_to_gregorian(filters.max_jdn)[0]
    else:
        found = queries.extent(db, filters)
        if found is None:
            return json_response({**answer, "items": []})
        first, last = found
        if filters.min_jdn is not None:
            first = jdn_to_gregorian(filters.min_jdn)[0]
        if filters.max_jdn is not None:
            last = jdn_to_gregorian(filters.max_jdn)[0]
        first, last = min(first, last), max(first, last)
    size = queries.BUCKET_YEARS[query.bucket]
    spans = queries.buckets(first, last, size)
    if len(spans) > queries.MAX_BUCKETS:
        raise bad_parameter(
            "bucket",
            f"{len(spans):,} {query.bucket}s is more than {queries.MAX_BUCKETS:,}: narrow from/to or widen bucket",
        )
    counts = queries.bucket_counts(db, filters, spans)
    items = [
        {"start": start, "end": end, "count": counts.get(start, 0),
         "label": year_label(start) if start == end else f"{year_label(start)}-{year_label(end)}"}
        for start, end, _lo, _hi in spans
    ]  # fmt: skip
    return json_response({**answer, "items": items})
