"""One error shape: RFC 9457 problem details (application/problem+json), produced here only."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from app import json

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("chronicle")


class Problem(Exception):
    """Raise anywhere to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        invalid_params: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.invalid_params = invalid_params
        self.headers = headers
        self.extensions = extensions


class Moved(Exception):
    """The record was renamed: answer with a redirect to the same path under its current slug."""

    def __init__(self, old_slug: str, new_slug: str) -> None:
        super().__init__(f"renamed to {new_slug!r}")
        self.old_slug = old_slug
        self.new_slug = new_slug


def bad_parameter(name: str, reason: str, *, where: str = "query") -> Problem:
    return Problem(400, f"{where} parameter {name!r}: {reason}", invalid_params=[{"name": name, "reason": reason}])


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if invalid_params:
        body["invalid_params"] = invalid_params
    body.update(extensions)
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        instance=request.url.path,
        invalid_params=exc.invalid_params,
        headers=exc.headers,
        **exc.extensions,
    )


def _moved(request: Request, exc: Exception) -> Response:
    """301 for reads; 308 for writes, which keeps the method and body (a 301 lets clients turn a
    PUT into a GET)."""
    assert isinstance(exc, Moved)
    parts = request.url.path.split("/")  # /v1/<collection>/<slug>[/...]
    parts[3] = exc.new_slug
    location = "/".join(parts) + (f"?{request.url.query}" if request.url.query else "")
    status = 301 if request.method in ("GET", "HEAD") else 308
    return problem_response(
        status, f"{exc.old_slug!r} was renamed {exc.new_slug!r}", instance=request.url.path,
        headers={"Location": location},
    )  # fmt: skip


def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"there is nothing at {request.url.path}"
    elif exc.status_code == 405:
        allowed = _allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
        return problem_response(405, detail, instance=request.url.path, headers={"Allow": ", ".join(allowed)})
    return problem_response(exc.status_code, detail, instance=request.url.path, headers=exc.headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (asked of the router itself, included routers
    and all). Starlette's 405 names only the first route that matched the path, but GET and POST on
    /v1/events are two routes."""
    methods = set()
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            methods.add(method)
    if "GET" in methods:
        methods.add("HEAD")  # app.methods answers HEAD wherever GET is
    return sorted(methods)


def _validation_error(request: Request, exc: Exception) -> Response:
    """Query and path parameters that fail validation: 400, naming each parameter."""
    assert isinstance(exc, RequestValidationError)
    invalid: list[dict[str, str]] = []
    accepted: list[str] | None = None
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = loc[-1] if len(loc) > 1 else (loc[0] if loc else "request")
        if error.get("type") == "extra_forbidden":
            accepted = accepted or _accepted_parameters(request)
            reason = "unknown parameter; accepted: " + ", ".join(accepted)
        else:
            reason = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            if "input" in error and loc and loc[0] in ("query", "path"):
                reason = f"{reason} (got {str(error['input'])[:100]!r})"
        invalid.append({"name": name, "in": loc[0] if loc else "query", "reason": reason})
    names = ", ".join(dict.fromkeys(f"{item['name']!r}" for item in invalid))
    return problem_response(
        400, f"invalid request parameter(s) {names}", instance=request.url.path, invalid_params=invalid
    )


def _accepted_parameters(request: Request) -> list[str]:
    """The query parameters the route documents (app.routers.common.query_docs)."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    return [parameter["name"] for parameter in extra.get("parameters", []) if parameter.get("in") == "query"]


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "an unexpected error occurred; it has been logged", instance=request.url.path)


# --- database failures -----------------------------------------------------------------------------
# What a client is told when the database refuses a request (docs/deploy.md, "When the database fails"):
#
# - busy (the write lock not had within the busy timeout; app.routers.editing answers most of these
#   itself): 503 with Retry-After, as there.
# - unreachable (a PostgreSQL restart or failover, the network): 503 with Retry-After; it passes in
#   seconds, and the read connection and the write pool connect again by themselves.
# - read-only (an SQLite file opened with ?mode=ro or on a read-only file system; a PostgreSQL
#   standby): 503 without Retry-After - it lasts until an operator changes it, so no number of seconds
#   would be true. Reads are served.
# - out of space (SQLite: SQLITE_FULL, a full disk or max_page_count; PostgreSQL: disk_full): 507
#   Insufficient Storage, without Retry-After. The write was rolled back whole; it can only succeed
#   once an operator frees space, so it is not a 503, which invites clients to retry. Reads are served.
#
# Anything else (a constraint, corruption, an I/O error) is a bug or worse: a logged 500.

# SQLite's primary result codes (the low byte of sqlite3's extended error code) and PostgreSQL's SQLSTATEs
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_FULL = 5, 6, 8, 13
PG_LOCK_NOT_AVAILABLE, PG_DISK_FULL, PG_READ_ONLY_TRANSACTION = "55P03", "53100", "25006"
Failure = tuple[int, str, dict[str, str]]  # status, detail, headers


def database_failure(exc: BaseException) -> Failure | None:
    """(status, detail, headers) for a database error a client should see as such, or None (a 500).

    Looks through the exception's chain: on SQLITE_FULL, SQLite rolls back the whole transaction, so
    what reaches the handler is the failed `ROLLBACK TO SAVEPOINT` that followed, with the full disk
    as its context."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "orig", None) or current  # SQLAlchemy wraps the driver's exception
        if isinstance(cause, sqlite3.Error):
            code = (getattr(cause, "sqlite_errorcode", None) or 0) & 0xFF
            if code == SQLITE_FULL:
                return _OUT_OF_SPACE
            if code == SQLITE_READONLY:
                return _READ_ONLY
            if code in (SQLITE_BUSY, SQLITE_LOCKED):
                return _BUSY
        elif isinstance(cause, psycopg.Error):
            if cause.sqlstate == PG_DISK_FULL:
                return _OUT_OF_SPACE
            if cause.sqlstate == PG_READ_ONLY_TRANSACTION:
                return _READ_ONLY
            if cause.sqlstate == PG_LOCK_NOT_AVAILABLE:
                return _BUSY
            if isinstance(cause, psycopg.OperationalError):
                return _UNAVAILABLE
        current = current.__cause__ or current.__context__
    return None


_BUSY: Failure = (503, "the database is busy with another write; retry shortly", {"Retry-After": "1"})
_UNAVAILABLE: Failure = (503, "the database is unavailable; retry shortly", {"Retry-After": "2"})
_READ_ONLY: Failure = (
    503, "the database is read-only: writes are refused until an operator makes it writable again; "
    "nothing was written, and reads are served", {},
)  # fmt: skip
_OUT_OF_SPACE: Failure = (
    507, "the database has no space left (its disk, or its size limit, is full): nothing was written, "
    "and reads are served; writes work again once space is freed", {},
)  # fmt: skip


def _database_error(request: Request, exc: Exception) -> Response:
    """A database error from a read (the driver's own) or a write (SQLAlchemy's): see database_failure.
    The read connection to PostgreSQL reconnects on the next request (app.db.PostgresReads)."""
    failure = database_failure(exc)
    if failure is None:
        return _unexpected(request, exc)
    status, detail, headers = failure
    first_line = str(exc).split("\n", 1)[0]  # not SQLAlchemy's statement and parameters
    log.warning("database error on %s %s, answered %s: %s", request.method, request.url.path, status, first_line)
    return problem_response(status, detail, instance=request.url.path, headers=headers)


def _client_gone(_request: Request, _exc: Exception) -> Response:
    """The client went away while its answer was computed (app.isolation): no one reads this answer;
    the status (nginx's 499) is for the access log."""
    return Response(status_code=CLIENT_CLOSED_REQUEST)


CLIENT_CLOSED_REQUEST = 499


def _over_budget(request: Request, _exc: Exception) -> Response:
    """A read outside app.isolation.read_endpoint held the event loop past its budget: refused, not retried."""
    return problem_response(
        503, "the request took too long on the server's event loop; retry shortly", instance=request.url.path,
        headers={"Retry-After": "1"},
    )  # fmt: skip


def install(app: FastAPI) -> None:
    from app.db import Cancelled, OverBudget  # app.db raises Problems: it imports this module

    app.add_exception_handler(Cancelled, _client_gone)
    app.add_exception_handler(OverBudget, _over_budget)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(Moved, _moved)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for error in (sqlite3.Error, psycopg.Error, DBAPIError):  # the read path's driver errors; the writes'
        app.add_exception_handler(error, _database_error)
    app.add_exception_handler(Exception, _unexpected)
