"""List responses in every format: JSON pages, GeoJSON pages, and CSV or NDJSON exports.

JSON and GeoJSON answer one page. CSV and NDJSON answer *every* matching record from the cursor on,
streamed page by page (keyset pages of EXPORT_PAGE records), so that exporting a million rows holds
one page in memory at a time. The format comes from `format=` or, failing that, from `Accept`.
"""

from __future__ import annotations

import csv
import io
import types
import typing
from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from app import json
from app.db import ReadConnection
from app.errors import bad_parameter
from app.queries.common import Cursor, Page
from app.queries.records import FoundRecord
from app.routers.common import (
    conditional,
    decode_cursor,
    json_response,
    link_headers,
    list_validators,
    no_parameters,
    page_response,
    read_db,
    record_validators,
)
from app.routers.linked_data import plain

FORMATS = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
}
EXPORT_PAGE = 1000
# A page of `limit` records after `cursor`, read on `db`: the page (rows, next cursor, total) and its items.
Build = Callable[[ReadConnection, Cursor | None, int], tuple[Page, list[dict[str, Any]]]]
Features = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


# What `Accept` may ask for, by media type; JSON is the default (`*/*`, `application/json`, none).
ACCEPTED = {"application/geo+json": "geojson", "text/csv": "csv", "application/x-ndjson": "ndjson"}


def negotiate(request: Request, requested: str | None, *, geo: bool) -> str:
    """The response format: `format=` if given (geojson only where `geo`), else what Accept asks for."""
    if requested is not None:
        if requested == "geojson" and not geo:
            allowed = ", ".join(name for name in FORMATS if name != "geojson")
            raise bad_parameter("format", f"this list comes as {allowed}, not {requested}")
        return requested
    accept = request.headers.get("accept")
    if accept and accept != "*/*":
        for media_type, name in ACCEPTED.items():
            if media_type in accept and (geo or name != "geojson"):
                return name
    return "json"


def list_response(
    request: Request,
    *,
    fmt: str,
    fields: str | None = None,
    cursor: str | None,
    limit: int,
    sort: str,
    build: Build,
    item_model: type[BaseModel],
    name: str,
    features: Features | None = None,
) -> Response:
    """The answer to a list request in `fmt` (see negotiate); `features` makes GeoJSON features of items.
    Every format carries the data version as its ETag, and If-None-Match is answered before any query."""
    after = decode_cursor(cursor, sort)
    columns = csv_columns(item_model)
    if fields is not None:
        chosen = _chosen_fields(fields, item_model)
        columns = tuple(column for column in columns if column[0] in chosen)
        if fmt == "geojson" and features is not None:  # the geometry needs the whole item
            features = _with_properties(features, chosen)
        else:
            build = _only(build, chosen)
    return conditional(
        request,
        list_validators(request, fmt),
        lambda: _answer(request, fmt, after, limit, sort, build, columns, name, features),
    )


def _chosen_fields(fields: str, model: type[BaseModel]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(fields.split(",")))
    unknown = [name for name in chosen if name not in model.model_fields]
    if unknown:
        raise bad_parameter("fields", f"no field {unknown[0]!r} here; the fields are {', '.join(model.model_fields)}")
    return chosen


def _only(build: Build, chosen: tuple[str, ...]) -> Build:
    def narrowed(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page, list[dict[str, Any]]]:
        page, items = build(db, cursor, limit)
        return page, [{name: item[name] for name in chosen if name in item} for item in items]

    return narrowed


def _with_properties(features: Features, chosen: tuple[str, ...]) -> Features:
    def narrowed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**feature, "properties": {name: feature["properties"][name] for name in chosen}}
            for feature in features(items)
        ]

    return narrowed


def _answer(
    request: Request, fmt: str, after: Cursor | None, limit: int, sort: str, build: Build,
    columns: tuple[tuple[str, ...], ...], name: str, features: Features | None,
) -> Response:  # fmt: skip
    if fmt in ("csv", "ndjson"):
        db = read_db(request).for_export()
        rows = _csv_rows(db, build, after, sort, columns) if fmt == "csv" else _ndjson_lines(db, build, after, sort)
        disposition = f'attachment; filename="{name}.{fmt}"'
        return StreamingResponse(rows, media_type=FORMATS[fmt], headers={"Content-Disposition": disposition})
    page, items = build(read_db(request), after, limit)
    if fmt == "geojson":
        assert features is not None
        body = {"type": "FeatureCollection", "features": features(items), "next_cursor": page.next_cursor,
                "total": page.total.as_json(), "limit": limit}  # fmt: skip
        return Response(json.dumps(body), media_type=FORMATS["geojson"], headers=link_headers(request, page))
    return page_response(request, page, items, limit)


async def _pages(
    db: ReadConnection, build: Build, after: Cursor | None, sort: str
) -> AsyncIterator[list[dict[str, Any]]]:
    try:
        while True:
            page, items = build(db, after, EXPORT_PAGE)
            yield items
            if page.next_cursor is None:
                return
            after = Cursor.decode(page.next_cursor, sort)
    finally:
        db.close()


async def _ndjson_lines(db: ReadConnection, build: Build, after: Cursor | None, sort: str) -> AsyncIterator[bytes]:
    async for items in _pages(db, build, after, sort):
        yield b"".join(json.dumps(item) + b"\n" for item in items)


@cache
def csv_columns(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    """The CSV columns of a list item: its fields, nested objects as dotted columns (date.label,
    parent.slug), lists as one column of JSON. From the model, so every export has the same header."""
    columns: list[tuple[str, ...]] = []
    for field_name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if nested is None:
            columns.append((field_name,))
        else:
            columns += [(field_name, *path) for path in csv_columns(nested)]
    return tuple(columns)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (`DateOut | None` -> DateOut); None for values and lists."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


def _cell(item: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(item, dict):
            return ""
        item = item.get(key)
    if item is None:
        return ""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, list | dict):
        return json.dumps(item).decode()
    return item


async def _csv_rows(
    db: ReadConnection, build: Build, after: Cursor | None, sort: str, columns: tuple[tuple[str, ...], ...]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([".".join(path) for path in columns])
    async for items in _pages(db, build, after, sort):
        for item in json.loads(json.dumps(items)):  # dates are pre-rendered JSON fragments: read them
            writer.writerow([_cell(item, path) for path in columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


Document = dict[str, Any]


def detail_response(
    request: Request,
    found: FoundRecord,
    detail: Callable[[], Document],
    *,
    linked_data: Callable[[Document, str], Document],
    feature: Callable[[Document], Document] | None = None,
) -> Response:
    """One record: JSON, or schema.org JSON-LD (`Accept: application/ld+json`), or a GeoJSON Feature
    (`Accept: application/geo+json`, places and events). Each representation has its own strong ETag
    (the revision, suffixed), and If-None-Match is answered before the record is read."""
    no_parameters(request)
    accept = request.headers.get("accept", "")
    representation = (
        "ld" if "application/ld+json" in accept else
        "geojson" if feature is not None and "application/geo+json" in accept else ""
    )  # fmt: skip

    def answer() -> Response:
        document = detail()
        if representation == "ld":
            base = f"{request.url.scheme}://{request.url.netloc}"
            return Response(json.dumps(linked_data(plain(document), base)), media_type="application/ld+json")
        if representation == "geojson":
            assert feature is not None
            return Response(json.dumps(feature(plain(document))), media_type=FORMATS["geojson"])
        return json_response(document)

    return conditional(request, record_validators(found, representation), answer)
