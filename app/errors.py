"""One error shape: RFC 9457 problem details (application/problem+json), produced here only."""

from __future__ import annotations

import difflib
import logging
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import create_model
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from app import domain_errors as domain
from app import json
from app.db import Cancelled, OverBudget
from app.etags import record_tag

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
    """A 400 naming one parameter; `where` is where it was given: query, path, header or body."""
    return Problem(
        400, f"{where} parameter {name!r}: {reason}", invalid_params=[{"name": name, "in": where, "reason": reason}]
    )


# --- domain errors, answered ----------------------------------------------------------------------------
# The layers below the routers raise app.domain_errors: what happened, with its data. Here, and only
# here, each becomes its answer: the status, the detail in words (with the URLs and headers that
# belong to HTTP: where to write instead, the current ETag, the linking records' hrefs).

DomainAnswer = Callable[[Any], Problem]
_ANSWERS: dict[type[domain.DomainError], DomainAnswer] = {}
SHOWN_REFERRERS = 20  # records named in a refused deletion's detail (linked_by lists them all)


def _answers(kind: type[domain.DomainError]) -> Callable[[DomainAnswer], DomainAnswer]:
    def register(answer: DomainAnswer) -> DomainAnswer:
        _ANSWERS[kind] = answer
        return answer

    return register


def problem_for(exc: domain.DomainError) -> Problem:
    """The problem a domain error is answered with (the audit of a refused write records it too)."""
    for kind in type(exc).__mro__:
        answer = _ANSWERS.get(kind)
        if answer is not None:
            return answer(exc)
    raise TypeError(f"no answer for {type(exc).__name__}")  # tests/test_errors.py: every one has one


def _href(record_type: str, slug: str) -> str:
    from app.hrefs import href  # app.hrefs imports the registry, whose record types import this module

    return href(record_type, slug)


@_answers(domain.RecordNotFound)
def _not_found(exc: domain.RecordNotFound) -> Problem:
    return Problem(404, f"there is no {exc.record_type} with slug {exc.slug!r}")


@_answers(domain.RecordRenamed)
def _renamed(exc: domain.RecordRenamed) -> Problem:
    new = exc.current_slug
    return Problem(404, f"{exc.slug!r} was renamed {new!r}: write to {_href(exc.record_type, new)}")


@_answers(domain.RecordGone)
def _gone(exc: domain.RecordGone) -> Problem:
    return Problem(410, f"the {exc.record_type} {exc.slug!r} was deleted; POST to its restore URL brings it back")


@_answers(domain.SlugTaken)
def _slug_taken(exc: domain.SlugTaken) -> Problem:
    if exc.renaming:
        return Problem(
            409, f"cannot rename to {exc.slug!r}: a {exc.record_type} has that slug (or had it, and was deleted)"
        )
    hint = "it was deleted: restore it, or choose another slug" if exc.deleted else "PUT or PATCH changes it"
    return Problem(409, f"{_with_article(exc.record_type)} with slug {exc.slug!r} exists already; {hint}")


def _with_article(record_type: str) -> str:
    from app.models import with_article  # app.models imports the registry too

    return with_article(record_type)


@_answers(domain.StillLinked)
def _still_linked(exc: domain.StillLinked) -> Problem:
    linking = exc.linking
    named = ", ".join(f"{t} {s!r}" for t, s in linking[:SHOWN_REFERRERS])
    more = f" and {len(linking) - SHOWN_REFERRERS} more" if len(linking) > SHOWN_REFERRERS else ""
    return Problem(
        409, f"{len(linking)} record(s) link to the {exc.record_type} {exc.slug!r}: {named}{more}; "
        "delete with unlink=true to remove those links as well",
        linked_by=[{"type": t, "slug": s, "href": _href(t, s)} for t, s in linking],
    )  # fmt: skip


@_answers(domain.UnlinkRefused)
def _unlink_refused(exc: domain.UnlinkRefused) -> Problem:
    refusal = exc.refusal
    return Problem(
        409, f"the links to {exc.slug!r} cannot be removed from every record that has them: " + str(refusal),
        invalid_params=[{"name": e.field, "in": "body", "reason": f"{e.record}: {e.reason}"} for e in refusal.errors],
    )  # fmt: skip


@_answers(domain.PreconditionRequired)
def _precondition_required(_exc: domain.PreconditionRequired) -> Problem:
    return Problem(428, "this write needs If-Match with the record's current ETag (GET it first)")


@_answers(domain.RevisionMismatch)
def _revision_mismatch(exc: domain.RevisionMismatch) -> Problem:
    return Problem(
        412, f"the {exc.record_type} {exc.slug!r} is at revision {exc.revision}; If-Match named {exc.named}",
        headers={"ETag": record_tag(exc.revision)},
    )  # fmt: skip


@_answers(domain.RevisionMatched)
def _revision_matched(exc: domain.RevisionMatched) -> Problem:
    return Problem(
        412, f"If-None-Match names the {exc.record_type} {exc.slug!r} as it is (revision {exc.revision}): "
        "the write is refused", headers={"ETag": record_tag(exc.revision)},
    )  # fmt: skip


@_answers(domain.NotARecord)
def _not_a_record(exc: domain.NotARecord) -> Problem:
    return Problem(422, exc.reason)


@_answers(domain.InvalidRecord)
def _invalid_record(exc: domain.InvalidRecord) -> Problem:
    """Each field named (RFC 9457 invalid_params, `in: body`)."""
    fields = ", ".join(dict.fromkeys(repr(issue.field) for issue in exc.issues[:10]))
    return Problem(
        422, f"the record cannot be written: {fields}",
        invalid_params=[{"name": issue.field, "in": "body", "reason": issue.reason} for issue in exc.issues],
    )  # fmt: skip


@_answers(domain.RecordConflicts)
def _record_conflicts(exc: domain.RecordConflicts) -> Problem:
    return Problem(
        409, str(exc.refusal),
        invalid_params=[{"name": issue.field, "in": "body", "reason": issue.reason} for issue in exc.refusal.errors],
    )  # fmt: skip


@_answers(domain.NothingToRestore)
def _nothing_to_restore(exc: domain.NothingToRestore) -> Problem:
    what = f"revision {exc.revision}" if exc.revision is not None else "a revision with content"
    return Problem(404, f"the {exc.record_type} {exc.slug!r} has no {what} to restore")


@_answers(domain.NotDeleted)
def _not_deleted(exc: domain.NotDeleted) -> Problem:
    return Problem(409, f"the {exc.record_type} {exc.slug!r} is not deleted: name the revision to restore")


@_answers(domain.BadParameter)
def _bad_parameter(exc: domain.BadParameter) -> Problem:
    return bad_parameter(exc.name, exc.reason, where=exc.where)


@_answers(domain.QueryTooSlow)
def _query_too_slow(exc: domain.QueryTooSlow) -> Problem:
    return Problem(
        503, f"the query ran longer than the {exc.limit_ms:,} ms limit and was stopped; retry later, or narrow "
        "the request (a smaller range, fewer filters, a smaller page)",
        headers={"Retry-After": "5"},
    )  # fmt: skip


@_answers(domain.BusyWithLongRequests)
def _busy_with_long_requests(_exc: domain.BusyWithLongRequests) -> Problem:
    return Problem(503, "the server is busy with long requests; retry shortly", headers={"Retry-After": "2"})


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


def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, domain.DomainError)
    return _problem(request, problem_for(exc))


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
    """Query and path parameters that fail validation: 400, naming each parameter and saying, in
    words and with an example, what it takes (plain_reason)."""
    assert isinstance(exc, RequestValidationError)
    invalid: list[dict[str, str]] = []
    schemas: dict[tuple[str, str], dict[str, Any]] | None = None
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc else "query"
        name = loc[-1] if len(loc) > 1 else (loc[0] if loc else "request")
        if error.get("type") == "extra_forbidden":
            reason = _unknown_parameter(request, name)
        else:
            schemas = _parameter_schemas(request) if schemas is None else schemas
            reason = plain_reason(error, schemas.get((where, name)), echo=where in ("query", "path"))
        invalid.append({"name": name, "in": where, "reason": reason})
    detail = "; ".join(f"{item['in']} parameter {item['name']!r}: {item['reason']}" for item in invalid[:3])
    if len(invalid) > 3:
        detail += f"; and {len(invalid) - 3} more (see invalid_params)"
    return problem_response(400, detail, instance=request.url.path, invalid_params=invalid)


def _unknown_parameter(request: Request, name: str) -> str:
    accepted = _accepted_parameters(request)
    if not accepted:
        return "unknown parameter; this endpoint takes no query parameters"
    close = difflib.get_close_matches(name.lower(), accepted, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown parameter{hint}; accepted: " + ", ".join(accepted)


def _accepted_parameters(request: Request) -> list[str]:
    """The query parameters the route documents (app.routers.common.query_docs)."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    return [parameter["name"] for parameter in extra.get("parameters", []) if parameter.get("in") == "query"]


def _parameter_schemas(request: Request) -> dict[tuple[str, str], dict[str, Any]]:
    """The JSON schema of each parameter of the route, by (in, name): the query parameters as
    app.routers.common.query_docs documents them, the path parameters as FastAPI declares them."""
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    schemas = {(p["in"], p["name"]): p["schema"] for p in extra.get("parameters", []) if "schema" in p}
    for field in getattr(getattr(route, "dependant", None), "path_params", ()):
        key = (getattr(route, "path_format", ""), field.name)
        if key not in _PATH_SCHEMAS:  # ~0.5 ms each; the same in every app (they come from the code)
            model = create_model("PathParameter", value=(field.field_info.annotation, field.field_info))
            _PATH_SCHEMAS[key] = next(iter(model.model_json_schema()["properties"].values()))
        schemas["path", field.name] = _PATH_SCHEMAS[key]
    return schemas


_PATH_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {}


# --- invalid values, in plain words ----------------------------------------------------------------
# A 400 (or a 422 for a record) says what a value must be, in words and with an example, never the
# regular expression that checks it (issue 16: `'^[a-z0-9]+(?:-[a-z0-9]+)*$'` told a client nothing).
# Every pattern a client can meet is declared with `described`, beside its definition (the test
# tests/test_plain_errors.py checks that every pattern in the OpenAPI document is); the words of
# ranges, choices and lengths come from the parameter's own schema or from pydantic's error.


@dataclass(frozen=True)
class Described:
    words: str  # what a matching value is, and its form: "a slug of lower-case letters, digits and hyphens"
    example: str  # a matching value, for a parameter that documents none of its own
    suggest: Callable[[str], str] | None = None  # the value as it was probably meant, for a hint


PATTERNS: dict[str, Described] = {}


def described(pattern: str, words: str, example: str, suggest: Callable[[str], str] | None = None) -> str:
    """`pattern`, declared with what it asks for in words (see PATTERNS); use it where the pattern is defined."""
    PATTERNS[pattern] = Described(words, example, suggest)
    return pattern


def slugify(text: str) -> str:
    """The slug a name or a mistyped slug most likely stands for: `Leon Trotsky` -> `leon-trotsky`,
    `Périgny` -> `perigny`, `Trotsky's exile` -> `trotskys-exile` (accents and apostrophes dropped,
    anything else but letters and digits a hyphen), as the seed's slugs are made."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def plain_reason(error: Mapping[str, Any], schema: Mapping[str, Any] | None = None, *, echo: bool = False) -> str:
    """What a pydantic error on one value says, in plain words: what the value must be, with an
    example - the parameter's documented one (`schema`, its JSON schema) when there is one - then
    the value given (with `echo`: a query or path parameter; a body's values are the client's own)
    and, for a slug in the wrong case or with spaces, the one probably meant."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    given = error.get("input")
    schema = schema or {}
    examples = schema.get("examples") or []
    such_as = f", such as {examples[0]!r}" if examples else ""
    notes = [f"got {str(given)[:100]!r}"] if echo and given is not None and not isinstance(given, dict | list) else []
    if kind == "missing":
        return f"is required{such_as}"
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        form = PATTERNS.get(pattern)
        if form is None:  # every pattern is described (tested): a safety net, never a regex
            reason = f"is not in the expected form{such_as}"
        else:
            reason = f"must be {form.words}, such as {(examples or [form.example])[0]!r}"
            if (meant := _meant(form, pattern, given)) is not None:
                notes.append(f"did you mean {meant!r}?")
    elif kind == "string_too_short":
        least = context.get("min_length", 1)
        reason = ("must not be empty" if least == 1 else f"must be at least {least} characters long") + (
            f": give one such as {examples[0]!r}" if examples else ""
        )
        notes = []  # what was given is empty or short: repeating it says nothing
    elif kind == "string_too_long":
        reason = f"must be at most {context.get('max_length')} characters long"
        notes = [f"got {len(given):,} characters"] if isinstance(given, str) else []
    elif kind in _NUMBER_ERRORS and schema.get("type") in ("integer", "number"):
        reason = f"must be {_number_words(schema)}{such_as}"
    elif kind in _BOUNDS:  # a body's value: its bound, from the error
        word, key = _BOUNDS[kind]
        reason = f"must be {word} {_number(context.get(key))}"
    elif kind in ("int_type", "float_type", "int_parsing", "float_parsing"):
        reason = "must be a whole number" if kind.startswith("int") else "must be a number"
        reason += " (a JSON number, not in quotes)" if isinstance(given, str) else ""
    elif kind in ("literal_error", "enum"):
        reason = f"must be {context.get('expected', 'one of the documented values')}"
    elif kind == "bool_parsing":
        reason = "must be true or false"
    else:  # pydantic's own words (no patterns in them): "List should have at least 1 item"
        reason = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{reason} ({'; '.join(notes)})" if notes else reason


_NUMBER_ERRORS = {
    "int_parsing", "int_type", "int_from_float", "float_parsing", "float_type", "finite_number",
    "greater_than", "greater_than_equal", "less_than", "less_than_equal",
}  # fmt: skip


_BOUNDS = {
    "greater_than": ("above", "gt"), "greater_than_equal": ("at least", "ge"),
    "less_than": ("below", "lt"), "less_than_equal": ("at most", "le"),
}  # fmt: skip


def _number_words(schema: Mapping[str, Any]) -> str:
    """`a whole number from 1 to 100`, `a number above 0 and at most 20016`."""
    noun = "a whole number" if schema["type"] == "integer" else "a number"
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and high is not None:
        return f"{noun} from {_number(low)} to {_number(high)}"
    bounds = [
        f"{word} {_number(value)}"
        for word, value in (("at least", low), ("above", above), ("below", below), ("at most", high))
        if value is not None
    ]
    return f"{noun} {' and '.join(bounds)}" if bounds else noun


def _number(value: Any) -> str:
    """90, not 90.0 (a bound of a float field)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _meant(form: Described, pattern: str, given: Any) -> str | None:
    """The value as it was probably meant (`France` -> `france`), when that has the right form. Only
    a hint: the request is refused all the same, and nothing is looked up."""
    if form.suggest is None or not isinstance(given, str) or len(given) > 200:
        return None
    meant = form.suggest(given)
    return meant if meant and meant != given and re.fullmatch(pattern, meant) else None


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
    app.add_exception_handler(Cancelled, _client_gone)
    app.add_exception_handler(OverBudget, _over_budget)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(domain.DomainError, _domain_error)
    app.add_exception_handler(Moved, _moved)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for error in (sqlite3.Error, psycopg.Error, DBAPIError):  # the read path's driver errors; the writes'
        app.add_exception_handler(error, _database_error)
    app.add_exception_handler(Exception, _unexpected)
