"""List responses in every format: JSON pages, GeoJSON pages, and CSV or NDJSON exports.

JSON and GeoJSON answer one page. CSV and NDJSON answer *every* matching record from the cursor on,
streamed page by page (keyset pages of EXPORT_PAGE records), so that exporting a million rows holds
one page in memory at a time. The format comes from `format=` or, failing that, from `Accept`.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import threading
import time
import types
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from functools import cache
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from app import json
from app.db import Cancelled, QueryTooSlow, ReadConnection
from app.errors import bad_parameter
from app.isolation import OffLoop, read_db
from app.languages import lookup, requested, tag_suffix
from app.memory import release_memory
from app.queries.common import Cursor, Page
from app.queries.records import FoundRecord
from app.routers.common import (
    conditional,
    decode_cursor,
    encode_cursor,
    envelope,
    json_response,
    link_headers,
    list_validators,
    no_parameters,
    page_response,
    parse_query,
    record_validators,
)
from app.routers.linked_data import plain
from app.schemas import NameQuery

FORMATS = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
}
EXPORT_PAGE = 1000
log = logging.getLogger("chronicle")
# A list's page of `limit` records after `cursor`, read on `db`: the page (rows, next cursor, total) and
# its items. A router's is its query, then its type's summary function. list_response takes a function,
# not a page, because it decides when and where a page is read, and how many: none when If-None-Match
# matches; one for JSON; for CSV and NDJSON, one after another from the cursor to the end, each read in
# an off-loop thread on the export's own connection while the answer streams (app.isolation).
ReadPage = Callable[[ReadConnection, Cursor | None, int], tuple[Page[Any], list[dict[str, Any]]]]
# Fields a list adds to its JSON envelope, read on `db` (people's `unplaced`).
Extra = Callable[[ReadConnection], dict[str, Any]]
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
    read_page: ReadPage,
    item_model: type[BaseModel],
    name: str,
    features: Features | None = None,
    extra: Extra | None = None,
) -> Response:
    """The answer to a list request in `fmt` (see negotiate), of the pages `read_page` reads (ReadPage);
    `features` makes GeoJSON features of items; `extra` adds fields to a JSON page's envelope (not to
    exports, which are items only).
    Every format carries the data version as its ETag, and If-None-Match is answered before any query."""
    after = decode_cursor(request, cursor, sort)
    columns = csv_columns(item_model)
    if fields is not None:
        chosen = _chosen_fields(fields, item_model)
        columns = tuple(column for column in columns if column[0] in chosen)
        if fmt == "geojson" and features is not None:  # the geometry needs the whole item
            features = _with_properties(features, chosen)
        else:
            read_page = _only(read_page, chosen)
    return conditional(
        request,
        list_validators(request, fmt),
        lambda: _answer(request, fmt, after, limit, sort, read_page, columns, name, features, extra),
    )


def _chosen_fields(fields: str, model: type[BaseModel]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(fields.split(",")))
    unknown = [name for name in chosen if name not in model.model_fields]
    if unknown:
        raise bad_parameter("fields", f"no field {unknown[0]!r} here; the fields are {', '.join(model.model_fields)}")
    return chosen


def _only(read_page: ReadPage, chosen: tuple[str, ...]) -> ReadPage:
    def narrowed(db: ReadConnection, cursor: Cursor | None, limit: int) -> tuple[Page[Any], list[dict[str, Any]]]:
        page, items = read_page(db, cursor, limit)
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
    request: Request, fmt: str, after: Cursor | None, limit: int, sort: str, read_page: ReadPage,
    columns: tuple[tuple[str, ...], ...], name: str, features: Features | None, extra: Extra | None = None,
) -> Response:  # fmt: skip
    if fmt in ("csv", "ndjson"):
        db = read_db(request).for_export()
        rows = _csv_rows(db, read_page, after, columns) if fmt == "csv" else _ndjson_lines(db, read_page, after)
        disposition = f'attachment; filename="{name}.{fmt}"'
        return ExportStream(request, db, rows, media_type=FORMATS[fmt], headers={"Content-Disposition": disposition})
    page, items = read_page(read_db(request), after, limit)
    if fmt == "geojson":
        assert features is not None
        next_cursor = encode_cursor(request, page.next_cursor)
        body = {"type": "FeatureCollection", "features": features(items), "next_cursor": next_cursor,
                "total": page.total.as_json(), "limit": limit}  # fmt: skip
        return Response(json.dumps(body), media_type=FORMATS["geojson"], headers=link_headers(request, next_cursor))
    if extra is not None:
        next_cursor = encode_cursor(request, page.next_cursor)
        body = envelope(items, next_cursor, page.total, limit) | extra(read_db(request))
        return Response(json.dumps(body), media_type=FORMATS["json"], headers=link_headers(request, next_cursor))
    return page_response(request, page, items, limit)


def _pages(db: ReadConnection, read_page: ReadPage, after: Cursor | None) -> Iterator[list[dict[str, Any]]]:
    while True:
        page, items = read_page(db, after, EXPORT_PAGE)
        yield items
        if page.next_cursor is None:
            return
        after = page.next_cursor


def _ndjson_lines(db: ReadConnection, read_page: ReadPage, after: Cursor | None) -> Iterator[bytes]:
    for items in _pages(db, read_page, after):
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


# A spreadsheet reads a cell that begins with one of these as a formula (=HYPERLINK(...), +cmd|...,
# @SUM(...)), or after a tab or carriage return: such text cells get a leading ' (OWASP, "CSV
# Injection"), which spreadsheets show as text and do not display. Numbers are written as numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A value of nothing but digits and a date's or number's punctuation calls nothing (no name, no
# parenthesis) and is written as it is, so that a program reading the CSV gets the value itself: a BCE
# date (-0043-03-15, -0330~), a negative number.
PLAIN_VALUE = re.compile(r"[+-]?[0-9][0-9X.:/~?%-]*")


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
        item = json.dumps(item).decode()
    if isinstance(item, str) and item.startswith(FORMULA_STARTS) and not PLAIN_VALUE.fullmatch(item):
        return "'" + item
    return item


def _csv_rows(
    db: ReadConnection, read_page: ReadPage, after: Cursor | None, columns: tuple[tuple[str, ...], ...]
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([".".join(path) for path in columns])
    for items in _pages(db, read_page, after):
        for item in json.loads(json.dumps(items)):  # dates are pre-rendered JSON fragments: read them
            writer.writerow([_cell(item, path) for path in columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


class ExportCutOff(Exception):
    """An export ran past CHRONICLE_EXPORT_TIME_LIMIT_SECONDS."""


class ExportStream(StreamingResponse):
    """An export (every matching record, or the whole database) streamed a chunk at a time, each chunk
    computed in an off-loop thread (app.isolation) on the export's own connection.

    The first chunk is computed before the answer starts, so that a query past its time limit is a
    503 problem, as for any read. After that an export can fail only by being cut off: past
    CHRONICLE_EXPORT_TIME_LIMIT_SECONDS, or past a query's time limit, the connection is closed
    before the end of the chunked body, so no client can take a partial export for a complete one.
    When the client goes away the running query is interrupted and nothing more is read.
    """

    def __init__(
        self, request: Request, db: ReadConnection, chunks: Iterator[bytes], *, media_type: str,
        headers: dict[str, str], snapshot: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(self._rest(), media_type=media_type, headers=headers)
        settings = request.app.state.settings
        self.off_loop: OffLoop = request.app.state.off_loop
        self.db = db
        self.chunks = chunks
        self.snapshot = snapshot  # one read transaction for the whole export
        self.time_limit = settings.export_time_limit_seconds
        self.deadline = math.inf
        self.first = b""
        self.lock = threading.Lock()  # a chunk is computed, or the connection closed, not both at once
        self.closed = False

    def _next_chunk(self, db: ReadConnection) -> bytes | None:
        with self.lock:
            if self.closed:
                raise Cancelled
            if time.monotonic() > self.deadline:
                raise ExportCutOff(f"the export ran past its {self.time_limit} s limit")
            if self.snapshot:
                db.begin_snapshot()
                self.snapshot = False
            return next(self.chunks, None)

    def _close(self) -> None:
        with self.lock:
            self.closed = True
            try:
                close = getattr(self.chunks, "close", None)  # a generator: its own clean-up runs now
                if close is not None:
                    close()
            finally:
                self.db.close()  # whatever the generator's clean-up raised: no connection is left open
        release_memory()  # the pages built for it (app.memory)

    async def _chunk(self) -> bytes | None:
        return await self.off_loop.run(self._next_chunk, connection=self.db)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.deadline = time.monotonic() + self.time_limit
        started = False
        try:
            self.first = await self._chunk() or b""  # a Problem here: app.errors answers (503, ...)
            started = True
            await super().__call__(scope, receive, send)
        except (ExportCutOff, QueryTooSlow, Cancelled) as exc:
            if not started:
                raise
            # Returning without the end of the body: uvicorn closes the connection.
            log.warning("export of %s cut off: %s", scope["path"], exc)
        finally:
            self.off_loop.executor.submit(self._close)  # in a thread: a chunk being computed holds the lock

    async def _rest(self) -> AsyncIterator[bytes]:
        yield self.first
        while (chunk := await self._chunk()) is not None:
            yield chunk


Document = dict[str, Any]


def detail_response(
    request: Request,
    found: FoundRecord,
    detail: Callable[[], Document],
    *,
    linked_data: Callable[[Document, str], Document],
    feature: Callable[[Document], Document] | None = None,
    names: Callable[[Document], Iterable[tuple[str, str | None]]] | None = None,
    label: str = "name",
) -> Response:
    """One record: JSON, or schema.org JSON-LD (`Accept: application/ld+json`), or a GeoJSON Feature
    (`Accept: application/geo+json`, places and events). Each representation has its own strong ETag
    (the revision, suffixed), and If-None-Match is answered before the record is read.

    A type with `names` in other languages (each (name, language tag), in the record's preference)
    is named in the language asked for (`lang=`, or Accept-Language: app.languages) when it has a name
    in it: its `label` field becomes that name, and Content-Language says which language it is."""
    if names is None:
        no_parameters(request)
        wanted: tuple[str, ...] = ()
    else:
        # A write's answer is built here too, with the write's own parameters (checked by the write).
        asked = None
        if request.scope["query_string"] and request.method in ("GET", "HEAD"):
            asked = parse_query(request, NameQuery).lang
        wanted = requested(asked, request.headers.get("accept-language"))
    accept = request.headers.get("accept", "")
    representation = (
        "ld" if "application/ld+json" in accept else
        "geojson" if feature is not None and "application/geo+json" in accept else ""
    )  # fmt: skip

    def answer() -> Response:
        document = detail()
        chosen = lookup(names(document), wanted) if names is not None and wanted else None
        if chosen is not None:
            document[label] = chosen[0]
        if representation == "ld":
            # Never the Host header: it is the client's to choose, and the answer is cached under a
            # strong ETag by whoever relays it. Without a configured public URL, @id is relative.
            base = request.app.state.settings.public_url or ""
            response = Response(json.dumps(linked_data(plain(document), base)), media_type="application/ld+json")
        elif representation == "geojson":
            assert feature is not None
            response = Response(json.dumps(feature(plain(document))), media_type=FORMATS["geojson"])
        else:
            response = json_response(document)
        if chosen is not None:
            response.headers["Content-Language"] = chosen[1]
        return response

    languages = None if names is None else tag_suffix(wanted)
    return conditional(request, record_validators(found, representation, languages), answer)
