"""create_app(): routers, error handlers, the read connection and the offline docs explorer."""

from __future__ import annotations

import importlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import errors, operations
from app.auth import ReadKeyRequired
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker, read_connection
from app.errors import PROBLEM_JSON
from app.etags import compressed
from app.hrefs import href
from app.isolation import OffLoop
from app.limits import BodyLimit, ConcurrencyLimit, Load
from app.operations import Metrics, RequestLog, install_json_log
from app.ratelimit import RateLimit, make_counter
from app.registry import COLLECTIONS, TYPES
from app.routers import calendar, editing, export, search, timeline
from app.routers.common import AnswerCache
from app.security import EVERY_ANSWER, docs_policy

DOCS_ASSETS = Path(__file__).resolve().parent / "static" / "docs"
# The record types whose endpoints come first, before search, the calendar and the timeline and before
# the other types': the routes are tried in order, and these answer most requests.
MOST_USED = ("event", "person", "place", "work", "source")
DESCRIPTION = """
Historical records - **events, people, places and works** - linked to each other and to the sources
that attest them.

* Dates are [EDTF](https://www.loc.gov/standards/datetime/) values in the calendar they were recorded
  in (Gregorian or Julian); every date also comes read in the proleptic Gregorian calendar, with its
  first and last possible day and a human label.
* Lists share one envelope (`items`, `next_cursor`, `total`, `limit`) and keyset pagination: pass
  `next_cursor` as `cursor`, or follow the `Link: rel="next"` header.
* Errors are RFC 9457 problem details (`application/problem+json`).
"""


def openapi_tags() -> list[dict[str, str]]:
    """One tag per resource, each described: the record types' from the registry, then the views
    across them."""
    ordered = [*MOST_USED, *(name for name in TYPES if name not in MOST_USED)]  # as the routes are included
    return [{"name": TYPES[name].collection, "description": TYPES[name].description} for name in ordered] + [
        {"name": "search", "description": "One ranked full-text search over every record type, in any language."},
        {"name": "calendar", "description": "What happened, who was born and who died on a day or in a year."},
        {"name": "changes", "description": "Every change to every record, in order: for mirrors and caches."},
        {"name": "import and export", "description": "Every record in the record format, out and back in."},
    ]


def operation_id(route: APIRoute) -> str:
    """An operation's id in the OpenAPI document, as generated clients name their functions: the
    route's name in camelCase (`list_events` -> `listEvents`, `create_person` -> `createPerson`), where
    FastAPI's default adds the path and method (`list_events_v1_events_get`). Names are unique across
    the app (tests/test_docs.py checks)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    time_limit, budget = settings.query_time_limit_ms, settings.loop_budget_ms or None
    read_url = settings.database_read_url or settings.database_url
    read_db = read_connection(read_url, time_limit_ms=time_limit, budget_ms=budget)
    # Writes check keys on the primary, not on a lagging replica.
    primary_db = (
        read_connection(settings.database_url, time_limit_ms=time_limit, budget_ms=budget)
        if settings.database_read_url
        else read_db
    )
    off_loop = OffLoop(read_db, threads=settings.off_loop_threads, wait_seconds=time_limit / 1000)
    # Writes: the engine's own pooled connections, used in the threadpool only (app.routers.editing).
    write_engine = make_engine(settings.database_url)
    rate_counter = make_counter(settings.redis_url, settings.redis_prefix)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        read_db.open()  # a missing database fails the start-up, not every request
        primary_db.open()
        yield
        off_loop.close()
        read_db.close()
        primary_db.close()
        write_engine.dispose()
        await rate_counter.close()

    app = FastAPI(
        title="Chronicle",
        version="0.1.0",
        summary="A REST API for historical records and the sources that attest them.",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # No redirect from /v1/events/x/ to /v1/events/x: it turned an encoded "../" or "%2F" in a
        # slug into a 307 that a write would follow to another resource. Such paths are 404s.
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
        openapi_tags=openapi_tags(),
    )
    app.state.settings = settings
    app.state.read_db = read_db
    app.state.primary_db = primary_db
    app.state.off_loop = off_loop
    app.state.answers = AnswerCache()
    app.state.write_sessions = make_sessionmaker(write_engine)
    app.state.write_queue = threading.Lock()  # this process's writers, one at a time (app.routers.editing)
    load = Load()
    app.state.metrics = Metrics(write_engine, off_loop, load)
    errors.install(app)
    install_json_log("chronicle.audit")
    install_json_log("chronicle.access")
    app.add_middleware(Compression)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, import_max_bytes=settings.max_import_bytes,
        max_query_bytes=settings.max_query_bytes, max_query_parameters=settings.max_query_parameters,
    )  # fmt: skip
    if settings.read_requires_key:
        app.add_middleware(ReadKeyRequired, db=read_db)
    if settings.rate_limit_per_key or settings.rate_limit_per_address:
        app.add_middleware(
            RateLimit, counter=rate_counter, db=primary_db, per_key=settings.rate_limit_per_key,
            per_address=settings.rate_limit_per_address, window=settings.rate_limit_window_seconds,
        )  # fmt: skip
    # Inside CORS: a browser can read a 503 or 429 (CORS headers on them); preflights are not counted.
    app.add_middleware(
        ConcurrencyLimit, load=load, max_requests=settings.max_concurrent_requests,
        per_address=settings.max_concurrent_per_address,
    )  # fmt: skip
    app.add_middleware(
        CORSMiddleware,
        # Open to every origin, never with credentials (allow_credentials stays False: no cookies). Writes
        # carry their key in Authorization, which a page can only send if it holds the key: no CSRF.
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
        expose_headers=[
            "ETag", "Last-Modified", "Link", "Content-Disposition", "Location", "X-Request-ID", "Retry-After",
            "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy",
        ],
    )  # fmt: skip
    app.add_middleware(
        RequestLog, metrics=app.state.metrics, headers=EVERY_ANSWER
    )  # outermost: it sees every answer, 4xx and 5xx too
    # Each type's endpoints: its descriptor names their module. A request is matched against the routes
    # in the order they were included, so the most used come first.
    type_routers = {name: importlib.import_module(t.routes).router for name, t in TYPES.items()}
    for name in MOST_USED:
        app.include_router(type_routers[name])
    for module in (search, calendar, timeline, export):
        app.include_router(module.router)
    for name, router in type_routers.items():  # the other types (organisations), in the registry's order
        if name not in MOST_USED:
            app.include_router(router)
    app.include_router(editing.router)
    app.include_router(operations.router)
    if settings.docs_enabled:
        _install_docs(app)
    app.openapi = lambda: _openapi_without_422(app)  # type: ignore[method-assign]
    return app


GZIP_MINIMUM_BYTES = 1024
# The items of the lists (`fields=` may leave any of their fields out): each type's summary, and search's hits.
LIST_ITEMS = (*(f"{name.capitalize()}Summary" for name in TYPES), "SearchHit")


class Compression:
    """gzip for clients that accept it (Starlette's GZipMiddleware, level 6), and a strong ETag per
    encoding: a strong ETag names one exact sequence of bytes, so a compressed answer cannot carry
    the identity answer's; it gets `"<tag>-gzip"` (app.etags makes and reads back every tag).
    Weak ETags (lists) stand for both encodings and stay. Requests that do not accept gzip skip the
    middleware entirely: even its pass-through path cost ~100 us a request, by measurement."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(
            name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"]
        ):
            await self.app(scope, receive, send)
            return

        async def send_with_etag(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-encoding") == "gzip":
                    etag = headers.get("etag")
                    if etag and (tagged := compressed(etag)) != etag:
                        headers["etag"] = tagged  # (a weak tag stays: no header rewritten)
                    # GZipMiddleware adds Accept-Encoding to a Vary that names it already (our validators').
                    vary = [name.strip() for name in headers.get("vary", "").split(",") if name.strip()]
                    if len(set(vary)) < len(vary):
                        headers["vary"] = ", ".join(dict.fromkeys(vary))
            await send(message)

        await self.gzip(scope, receive, send_with_etag)


def _openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents a 422 for every operation; Chronicle answers bad parameters with 400 (a 422
    only for a write whose record is not valid)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for path in schema["paths"].values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if "HTTPValidationError" in str(responses.get("422")):  # FastAPI's, not a body's own 422
                    responses.pop("422")
                if "401" in responses:  # a key is needed: the explorer's "Authorize" button fills it in
                    operation["security"] = [{"apiKey": []}]
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(editing.input_schemas())  # the record documents that writes take
        schema["components"]["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "`chronicle keys create` makes one."}
        }
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        # `fields=` leaves out the fields it does not name: no field of a list item is required.
        for name in LIST_ITEMS:
            components.get(name, {}).pop("required", None)
        _document_common_answers(schema, app.state.settings)
        _document_conditional_writes(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def _problem(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
    }
    if retry_after:
        answer["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
        }
    return answer


def _document_common_answers(schema: dict[str, Any], settings: Settings) -> None:
    """The answers any operation may give, whatever its own: a query string too long (414), too many
    requests (429), a busy server or a query past its time limit (503), a full disk for writes (507)
    and, when reads need a key, 401 and 403. Problem documents are documented as
    application/problem+json, as they are sent (FastAPI would put their schema under application/json)."""
    common = {
        "414": _problem("The query string is longer than the server's limit (CHRONICLE_MAX_QUERY_BYTES)."),
        "429": _problem(
            "Too many requests from this API key or client address in the window, or too many in progress at "
            "once from this client address; wait `Retry-After` seconds. When rate limits are configured, every "
            "answer's `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` say where the client stands.",
            retry_after=True,
        ),
        "503": _problem(
            "The server is at its limit of concurrent requests, the query ran past its time limit, every thread "
            "for long reads stayed busy, the database is busy with another write, or it cannot be reached; "
            "retry after `Retry-After` seconds.",
            retry_after=True,
        ),
    }
    read_key = {
        "401": _problem("This server's reads need an API key (`Authorization: Bearer <key>`), or it is not valid."),
        "403": _problem("The key's scope does not allow reading."),
    }
    full = _problem("The database or its disk is full: nothing was written; an operator must free space.")
    for method, operation in ((m, o) for path in schema["paths"].values() for m, o in path.items()):
        responses = operation.setdefault("responses", {})
        if method in ("post", "put", "patch", "delete"):
            responses["507"] = full
        for status, answer in responses.items():
            content = answer.get("content", {})
            if PROBLEM_JSON in content:
                answer["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
            if status == "301":
                answer.pop("content", None)  # a redirect's body is not read
        for status, answer in common.items():
            responses[status] = answer
        if settings.read_requires_key and "401" not in responses:
            responses.update(read_key)
            operation["security"] = [{"apiKey": []}]


def _document_conditional_writes(schema: dict[str, Any]) -> None:
    """`If-Match` on PUT, PATCH and DELETE, and the links between writes that a client (and
    schemathesis's stateful tests) follows: a created record's slug and ETag lead to its GET, PUT,
    PATCH, DELETE and revisions; a change's new ETag to the next change; a deletion to the restore."""
    if_match = {
        "name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
        "description": "The record's current `ETag` (from GET or from the last write): a write on an older "
        "revision answers 412, one without it 428.",
    }  # fmt: skip
    paths = schema["paths"]
    for record_type in COLLECTIONS:
        collection, item = href(record_type), href(record_type, "{slug}")  # the paths' templates
        if item not in paths or collection not in paths:
            continue
        for method in ("put", "patch", "delete"):
            paths[item][method].setdefault("parameters", []).append(if_match)
        slug, etag = "$response.body#/slug", "$response.header.ETag"
        ids = {method: paths[item][method]["operationId"] for method in ("get", "put", "patch", "delete")}
        ids["revisions"] = paths[f"{item}/revisions"]["get"]["operationId"]
        ids["restore"] = paths[f"{item}/restore"]["post"]["operationId"]
        record_links = {
            "Read": {"operationId": ids["get"], "parameters": {"slug": slug}},
            "Replace": {"operationId": ids["put"], "parameters": {"slug": slug, "header.If-Match": etag}},
            "Change": {"operationId": ids["patch"], "parameters": {"slug": slug, "header.If-Match": etag}},
            "Delete": {"operationId": ids["delete"], "parameters": {"slug": slug, "header.If-Match": etag}},
            "Revisions": {"operationId": ids["revisions"], "parameters": {"slug": slug}},
        }
        paths[collection]["post"]["responses"]["201"]["links"] = record_links
        for method in ("put", "patch"):
            paths[item][method]["responses"]["200"]["links"] = record_links
        paths[item]["delete"]["responses"]["204"]["links"] = {
            "Restore": {"operationId": ids["restore"], "parameters": {"slug": "$request.path.slug"}},
        }


def _install_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc served from vendored files (app/static/docs): no CDN, no internet. Each
    page is built once, with a Content-Security-Policy that allows exactly its own scripts."""
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    swagger = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Chronicle - API explorer",
        swagger_js_url="/static/docs/swagger-ui-bundle.js",
        swagger_css_url="/static/docs/swagger-ui.css",
        swagger_favicon_url="/static/docs/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # the default badge calls validator.swagger.io
    )
    redoc = get_redoc_html(
        openapi_url="/openapi.json",
        title="Chronicle - API reference",
        redoc_js_url="/static/docs/redoc.standalone.js",
        redoc_favicon_url="/static/docs/favicon-32x32.png",
        with_google_fonts=False,
    )
    swagger_policy, redoc_policy = docs_policy(bytes(swagger.body)), docs_policy(bytes(redoc.body))

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger.body, headers={"Content-Security-Policy": swagger_policy})

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc.body, headers={"Content-Security-Policy": redoc_policy})
