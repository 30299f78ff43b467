"""What every router shares: the read connection, slug lookups, and building responses as bytes."""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from app import json
from app.db import ReadConnection
from app.editor_schemas import NoQuery
from app.errors import PROBLEM_JSON, Moved, Problem, bad_parameter
from app.etags import list_tag, opaque, record_tag
from app.isolation import read_db
from app.queries.common import Cursor, Page, Total, cursor_secret
from app.queries.geo import Area
from app.queries.records import FoundRecord, data_version, find_record, renamed_to
from app.schemas import ProblemDetail

QueryModel = TypeVar("QueryModel", bound=BaseModel)
_PROBLEM = {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}}
_NOT_MODIFIED = {
    "description": "Not Modified: `If-None-Match` named the current `ETag` (or, without it, `If-Modified-Since` "
    "is no earlier than `Last-Modified`); no body."
}
NOT_MODIFIED = _NOT_MODIFIED  # for the routers that document their own answers
LIST_ERRORS: dict[int | str, dict[str, Any]] = {
    304: _NOT_MODIFIED,
    400: {**_PROBLEM, "description": "A parameter is unknown or has a bad value; `invalid_params` names it."},
}
# Lists with format=: the other representations of a 200 (the JSON one comes from response_model).
LIST_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "One item (JSON) per line."}},
    }},
}  # fmt: skip
GEO_LIST_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": {**LIST_FORMATS[200]["content"], "application/geo+json": {"schema": {"type": "object"}}}}
}
JSON_DETAIL_ERRORS: dict[int | str, dict[str, Any]] = {
    304: _NOT_MODIFIED,
    301: {**_PROBLEM, "description": "The record was renamed: `Location` is its URL under its current slug."},
    404: {**_PROBLEM, "description": "No record has this slug."},
    410: {**_PROBLEM, "description": "The record was deleted."},
    400: {**_PROBLEM, "description": "The slug is malformed."},
}
DETAIL_ERRORS: dict[int | str, dict[str, Any]] = {
    **JSON_DETAIL_ERRORS,
    200: {"content": {"application/ld+json": {"schema": {"type": "object", "description": "schema.org JSON-LD."}}}},
}
GEO_DETAIL_ERRORS: dict[int | str, dict[str, Any]] = {
    **DETAIL_ERRORS,
    200: {"content": {**DETAIL_ERRORS[200]["content"], "application/geo+json": {"schema": {"type": "object"}}}},
}


def parse_query(request: Request, model: type[QueryModel]) -> QueryModel:
    """The query string validated against `model` (unknown parameters refused).

    FastAPI can do this itself (`Annotated[Model, Query()]`), but its per-field Python walk cost
    ~250 us a request - 40 % of a list request, by profile - and a dependency costs ~50 us more;
    pydantic validates the whole model in a few microseconds. Document the parameters with
    `openapi_extra=query_docs(model)`.
    """
    values = dict(request.query_params)  # a repeated parameter: the last wins
    with_nul = [name for name, value in values.items() if "\x00" in value]
    if with_nul:  # SQLite would cut a LIKE pattern at it, PostgreSQL refuses it in text
        raise RequestValidationError(
            [
                {"type": "string_pattern", "loc": ("query", name), "msg": "must not contain NUL (%00)"}
                for name in with_nul
            ]
        )
    not_whole = [
        {"type": "int_parsing", "loc": ("query", name), "msg": "must be a whole number", "input": values[name]}
        for name in _integer_parameters(model) & values.keys()
        if not WHOLE_NUMBER.fullmatch(values[name])
    ]
    if not_whole:
        raise RequestValidationError(not_whole)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def no_parameters(request: Request) -> None:
    """A record's GET takes no query parameters: any is a 400 naming it. (A write's answer is built
    by the same code, with the write's own parameters, checked by the write.)"""
    if request.method in ("GET", "HEAD") and request.query_params:
        parse_query(request, NoQuery)


WHOLE_NUMBER = re.compile(r"-?[0-9]+")


@functools.cache
def _integer_parameters(model: type[BaseModel]) -> frozenset[str]:
    """The model's integer parameters. pydantic reads "5.0", " 5" and "5_000" as the integer 5; the
    documented type is an integer, written as one ("5"), so those are refused."""
    schema = model.model_json_schema(by_alias=True)
    return frozenset(
        name
        for name, field in schema["properties"].items()
        if field.get("type") == "integer" or any(arm.get("type") == "integer" for arm in field.get("anyOf", []))
    )


def query_docs(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI query parameters for `model`, as FastAPI would have generated them."""
    schema = model.model_json_schema(by_alias=True)
    if "$defs" in schema:  # a nested model would need its definitions copied into the OpenAPI components
        raise TypeError(f"{model.__name__}: query parameters must be plain values, not models")
    parameters = []
    for name, property_schema in schema["properties"].items():
        field_schema = _never_null(property_schema)
        parameter = {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "schema": field_schema,
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return {"parameters": parameters}


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` as X: a query parameter is absent or a value, never null, and the explorers show
    the nullable form badly (ReDoc: "Year (integer) or Year (null) (Year)")."""
    arms = [arm for arm in schema.get("anyOf", ()) if arm.get("type") != "null"]
    if len(arms) != len(schema.get("anyOf", ())) - 1 or len(arms) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if rest.get("default", ...) is None:
        del rest["default"]  # absent: the parameter is not applied
    return {**arms[0], **rest}


def primary_db(request: Request) -> ReadConnection:
    """The event loop's connection to the primary database (CHRONICLE_DATABASE_URL), for a write's key
    check: a replica (CHRONICLE_DATABASE_READ_URL) may lag behind a key just made or revoked."""
    db: ReadConnection = request.app.state.primary_db
    return db


def record_id_for_filter(db: ReadConnection, record_type: str, slug: str, parameter: str) -> int:
    """The id behind a slug given as a filter; an unknown slug is a 400 naming the parameter."""
    found = find_record(db, record_type, slug)
    if found is None and (current := renamed_to(db, record_type, slug)) is not None:
        found = find_record(db, record_type, current)  # a renamed record's old slug still filters
    if found is None or found.deleted:
        raise bad_parameter(parameter, f"there is no {record_type} with slug {slug!r}")
    return found.id


def record_for_path(db: ReadConnection, record_type: str, slug: str, *, allow_deleted: bool = False) -> FoundRecord:
    """The record behind a slug in a path: 404 when unknown, 410 when deleted (unless `allow_deleted`:
    a deleted record's history is still there), a redirect when renamed."""
    found = find_record(db, record_type, slug)
    if found is None:
        current = renamed_to(db, record_type, slug)
        if current is not None:
            raise Moved(slug, current)
        raise Problem(404, f"there is no {record_type} with slug {slug!r}")
    if found.deleted and not allow_deleted:
        raise Problem(410, f"the {record_type} {slug!r} was deleted")
    return found


# --- HTTP caching ------------------------------------------------------------------------------------

# Caches may store answers but must revalidate them (If-None-Match) before each use: the data can
# change at any moment, and a 304 costs one indexed lookup.
CACHE_CONTROL = "public, no-cache"


@functools.lru_cache(maxsize=4096)
def http_date(stored: str) -> str:
    """An HTTP-date (Last-Modified) from a stored timezone-aware timestamp."""
    value = datetime.fromisoformat(stored)  # stored without an offset means UTC (app.queries.records.timestamp)
    return format_datetime(value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC), usegmt=True)


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str
    last_modified: str
    vary: str

    def headers(self) -> dict[str, str]:
        return {
            "ETag": self.etag,
            "Last-Modified": self.last_modified,
            "Cache-Control": CACHE_CONTROL,
            "Vary": self.vary,
        }

    def add_to(self, response: Response) -> None:
        # Appended as raw headers: MutableHeaders re-encodes the whole list on every assignment.
        response.raw_headers.extend(_raw_headers(self.etag, self.last_modified, self.vary))


@functools.lru_cache(maxsize=1024)
def _raw_headers(etag: str, last_modified: str, vary: str) -> tuple[tuple[bytes, bytes], ...]:
    """The validators' headers, encoded once per version (the same for every request until a write)."""
    headers = Validators(etag, last_modified, vary).headers()
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())


def list_validators(request: Request, fmt: str = "json") -> Validators:
    """A list's: the data version (weak: the same data may come in other bytes), per format."""
    version, changed_at = data_version(read_db(request))
    return Validators(list_tag(version, fmt), http_date(changed_at), vary="Accept, Accept-Encoding")


def record_validators(found: FoundRecord, representation: str = "", languages: str | None = None) -> Validators:
    """A record's: its revision (strong; what If-Match checks), one per representation; a record
    whose name depends on the languages asked (`languages` not None) varies with Accept-Language."""
    vary = "Accept, Accept-Encoding" if languages is None else "Accept, Accept-Encoding, Accept-Language"
    return Validators(record_tag(found.revision, representation, languages or ""), http_date(found.updated_at), vary)


class AnswerCache:
    """Bodies of expensive answers, by ETag and query: a timeline over ten million events takes a second
    to count, and every client drawing the same chart asks the same question. Keyed by the data
    version (the ETag), so an entry can never outlive the data it was computed from - and every
    replica computes the same bodies; nothing here must agree across processes."""

    def __init__(self, size: int = 64) -> None:  # a timeline body is at most ~350 kB (5,000 buckets)
        self.size = size
        self.bodies: OrderedDict[tuple[str, str, str], Response] = OrderedDict()
        self.lock = threading.Lock()  # answers are computed on the loop and in off-loop threads

    def answer(self, request: Request, validators: Validators, compute: Callable[[], Response]) -> Response:
        key = (validators.etag, request.scope["path"], request.scope["query_string"].decode("latin-1"))
        with self.lock:
            found = self.bodies.get(key)
            if found is not None:
                self.bodies.move_to_end(key)
        if found is None:
            found = compute()
            with self.lock:
                self.bodies[key] = found
                if len(self.bodies) > self.size:
                    self.bodies.popitem(last=False)
        return Response(found.body, status_code=found.status_code, media_type=found.media_type)


def answers(request: Request) -> AnswerCache:
    """The app's cache of expensive answers (one per app: each serves its own database)."""
    cache: AnswerCache = request.app.state.answers
    return cache


def not_modified_since(last_modified: str, since: str) -> bool:
    """Whether an HTTP date (If-Modified-Since) is at or after Last-Modified. A date that does not parse
    is ignored, as RFC 9110 says (13.1.3): the answer is then sent whole."""
    try:
        asked = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if asked.tzinfo is None:  # "-0000": a time in UTC of unknown origin, still UTC
        asked = asked.replace(tzinfo=UTC)
    return _http_date_parsed(last_modified) <= asked


@functools.lru_cache(maxsize=1024)
def _http_date_parsed(value: str) -> datetime:
    return parsedate_to_datetime(value)


def conditional(request: Request, validators: Validators, answer: Callable[[], Response]) -> Response:
    """304 when If-None-Match names the current version, or - without If-None-Match, which wins (RFC
    9110 13.2.2) - when If-Modified-Since is no earlier than Last-Modified (nothing else is computed);
    else the answer, with its validators. Only for reads: a write's answer is built here too, and on
    a write If-None-Match is a precondition of the write itself (app.writes), never a 304."""
    if request.method in ("GET", "HEAD"):
        wanted = request.headers.get("if-none-match")
        if wanted is not None:
            current = opaque(validators.etag)
            if wanted.strip() == "*" or any(opaque(tag) == current for tag in wanted.split(",")):
                return Response(status_code=304, headers=validators.headers())
        elif (since := request.headers.get("if-modified-since")) is not None and not_modified_since(
            validators.last_modified, since
        ):
            return Response(status_code=304, headers=validators.headers())
    response = answer()
    validators.add_to(response)
    return response


DEFAULT_RADIUS_KM = 50.0


def parse_area(near: str | None, radius_km: float | None, bbox: str | None) -> Area | None:
    """The area of `near` (and `radius_km`) or `bbox`; a 400 naming the parameter when out of range."""
    if near is not None and bbox is not None:
        raise bad_parameter("bbox", "give either near or bbox, not both")
    if radius_km is not None and near is None:
        raise bad_parameter("radius_km", "radius_km applies to near")
    if near is not None:
        latitude, longitude = (float(part) for part in near.split(","))
        if not -90 <= latitude <= 90:
            raise bad_parameter("near", f"latitude {latitude} is not between -90 and 90")
        if not -180 <= longitude <= 180:
            raise bad_parameter("near", f"longitude {longitude} is not between -180 and 180")
        return Area.around(latitude, longitude, radius_km if radius_km is not None else DEFAULT_RADIUS_KM)
    if bbox is not None:
        west, south, east, north = (float(part) for part in bbox.split(","))
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise bad_parameter("bbox", "longitudes must be between -180 and 180")
        if not -90 <= south <= north <= 90:
            raise bad_parameter("bbox", "latitudes must be between -90 and 90, south before north")
        return Area.box(west, south, east, north)
    return None


def cursor_key(request: Request) -> bytes:
    """The key that signs this database's cursors (migration 0011), read once per connection: every
    worker and replica serving the database signs and checks with the same one."""
    db = read_db(request)
    key = db.cursor_key
    if key is None:
        key = db.cursor_key = cursor_secret(db)
    return key


def decode_cursor(request: Request, cursor: str | None, sort: str) -> Cursor | None:
    return None if cursor is None else Cursor.decode(cursor, sort, cursor_key(request))


def encode_cursor(request: Request, cursor: Cursor | None) -> str | None:
    return None if cursor is None else cursor.encode(cursor_key(request))


def link_headers(request: Request, next_cursor: str | None) -> dict[str, str]:
    """`Link: <...>; rel="next"` when there is a next page."""
    if next_cursor is None:
        return {}
    # Built from the scope: Starlette's URL.include_query_params parses and rebuilds the whole URL
    # (10 % of a list request, by profile).
    params = dict(request.query_params)
    params["cursor"] = next_cursor
    return {"Link": f'<{request.scope["path"]}?{urlencode(params)}>; rel="next"'}


def envelope(items: list[dict[str, Any]], next_cursor: str | None, total: Total, limit: int) -> dict[str, Any]:
    """The list envelope every collection shares."""
    return {"items": items, "next_cursor": next_cursor, "total": total.as_json(), "limit": limit}


def page_response(request: Request, page: Page[Any], items: list[dict[str, Any]], limit: int) -> Response:
    next_cursor = encode_cursor(request, page.next_cursor)
    body = envelope(items, next_cursor, page.total, limit)
    return Response(json.dumps(body), media_type="application/json", headers=link_headers(request, next_cursor))


def json_response(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), media_type="application/json")
