"""One error shape: RFC 9457 problem details (application/problem+json), produced here only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

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
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(exc.status_code, detail, instance=request.url.path, headers=exc.headers)


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


def _database_unavailable(request: Request, exc: Exception) -> Response:
    """The database server went away (a restart, a failover, the network): a 503 to retry, not a
    500. The read connection reconnects on the next request (app.db.PostgresReads)."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503, "the database is unavailable; retry shortly", instance=request.url.path, headers={"Retry-After": "2"}
    )


def _write_database_error(request: Request, exc: Exception) -> Response:
    """A write's database error: PostgreSQL gone away is a 503, as for reads; anything else a 500."""
    if isinstance(getattr(exc, "orig", None), psycopg.OperationalError):
        return _database_unavailable(request, exc)
    return _unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(Moved, _moved)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_exception_handler(SQLAlchemyOperationalError, _write_database_error)
    app.add_exception_handler(Exception, _unexpected)
