"""Domain errors: the layers below the routers say what happened (app.domain_errors), and app.errors
alone says how it is answered (STYLE.md, point 5: no HTTP status raised below the routers)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

from app import domain_errors as domain
from app.errors import problem_for
from app.loading.records import LoadError, LoadIssue

pytestmark = pytest.mark.engine_neutral  # the code itself, no database

APP = Path(__file__).resolve().parent.parent / "app"
HTTP_NAMES = {"Problem", "bad_parameter", "problem_response"}


def below_the_routers() -> list[Path]:
    """The modules that know nothing of HTTP: the write path, the loader, the queries, the record
    types (but for their routes), database access and the export's documents."""
    found = [APP / name for name in ("writes.py", "loader.py", "importer.py", "db.py", "export.py", "domain_errors.py")]
    for package in ("loading", "queries", "record_types"):
        found += [path for path in sorted((APP / package).rglob("*.py")) if path.name != "routes.py"]
    return found


def http_imports(path: Path) -> list[str]:
    """What the module imports of the HTTP problem: the names, or app.errors as a whole."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "app.errors":
            found += [alias.name for alias in node.names if alias.name in HTTP_NAMES or alias.name == "*"]
        elif isinstance(node, ast.ImportFrom) and node.module == "app":
            found += [f"app.{alias.name}" for alias in node.names if alias.name == "errors"]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name == "app.errors"]
    return found


def test_no_module_below_the_routers_imports_the_http_problem() -> None:
    modules = below_the_routers()
    assert len(modules) > 20  # the walk found the packages
    offending = {str(path.relative_to(APP)): names for path in modules if (names := http_imports(path))}
    assert offending == {}, "raise an app.domain_errors exception; app.errors maps it to its answer"


def test_the_guard_sees_an_import_of_the_problem(tmp_path: Path) -> None:
    module = tmp_path / "lower.py"
    module.write_text("from app.errors import described, Problem\nfrom app import errors\nimport app.errors\n")
    assert http_imports(module) == ["Problem", "app.errors", "app.errors"]


REFUSAL = LoadError([LoadIssue(0, "event 'the-exile'", "place", "there is no place 'atlantis'")], conflict=True)

# Every domain error, and the answer it gets (the same bytes as when the lower layers raised Problems).
ANSWERS: list[tuple[domain.DomainError, int, str, dict[str, Any]]] = [
    (domain.RecordNotFound("event", "nowhere"), 404, "there is no event with slug 'nowhere'", {}),
    (
        domain.RecordRenamed("person", "trotsky", "leon-trotsky"), 404,
        "'trotsky' was renamed 'leon-trotsky': write to /v1/people/leon-trotsky", {},
    ),
    (
        domain.RecordGone("place", "alma-ata"), 410,
        "the place 'alma-ata' was deleted; POST to its restore URL brings it back", {},
    ),
    (
        domain.SlugTaken("event", "the-exile"), 409,
        "an event with slug 'the-exile' exists already; PUT or PATCH changes it", {},
    ),
    (
        domain.SlugTaken("event", "the-exile", deleted=True), 409,
        "an event with slug 'the-exile' exists already; it was deleted: restore it, or choose another slug", {},
    ),
    (
        domain.SlugTaken("work", "my-life", renaming=True), 409,
        "cannot rename to 'my-life': a work has that slug (or had it, and was deleted)", {},
    ),
    (
        domain.StillLinked("place", "prinkipo", [("event", "arrival"), ("person", "leon-trotsky")]), 409,
        "2 record(s) link to the place 'prinkipo': event 'arrival', person 'leon-trotsky'; "
        "delete with unlink=true to remove those links as well",
        {"linked_by": [
            {"type": "event", "slug": "arrival", "href": "/v1/events/arrival"},
            {"type": "person", "slug": "leon-trotsky", "href": "/v1/people/leon-trotsky"},
        ]},
    ),
    (
        domain.UnlinkRefused("place", "prinkipo", REFUSAL), 409,
        f"the links to 'prinkipo' cannot be removed from every record that has them: {REFUSAL}",
        {"invalid_params": [
            {"name": "place", "in": "body", "reason": "event 'the-exile': there is no place 'atlantis'"}
        ]},
    ),
    (
        domain.PreconditionRequired("event", "the-exile"), 428,
        "this write needs If-Match with the record's current ETag (GET it first)", {},
    ),
    (
        domain.RevisionMismatch("event", "the-exile", 4, '"3"'), 412,
        "the event 'the-exile' is at revision 4; If-Match named \"3\"", {"headers": {"ETag": '"4"'}},
    ),
    (
        domain.RevisionMatched("event", "the-exile", 4), 412,
        "If-None-Match names the event 'the-exile' as it is (revision 4): the write is refused",
        {"headers": {"ETag": '"4"'}},
    ),
    (domain.NotARecord("the body must be a JSON object"), 422, "the body must be a JSON object", {}),
    (
        domain.InvalidRecord([LoadIssue(None, "event", "slug", "a slug"), LoadIssue(None, "event", "slug", "?")]),
        422, "the record cannot be written: 'slug'",
        {"invalid_params": [
            {"name": "slug", "in": "body", "reason": "a slug"}, {"name": "slug", "in": "body", "reason": "?"}
        ]},
    ),
    (
        domain.RecordConflicts(REFUSAL), 409, str(REFUSAL),
        {"invalid_params": [{"name": "place", "in": "body", "reason": "there is no place 'atlantis'"}]},
    ),
    (
        domain.NothingToRestore("event", "the-exile", None), 404,
        "the event 'the-exile' has no a revision with content to restore", {},
    ),
    (domain.NothingToRestore("event", "the-exile", 7), 404, "the event 'the-exile' has no revision 7 to restore", {}),
    (
        domain.NotDeleted("event", "the-exile"), 409,
        "the event 'the-exile' is not deleted: name the revision to restore", {},
    ),
    (
        domain.BadParameter("cursor", "not a cursor this API issued"), 400,
        "query parameter 'cursor': not a cursor this API issued",
        {"invalid_params": [{"name": "cursor", "in": "query", "reason": "not a cursor this API issued"}]},
    ),
    (
        domain.QueryTooSlow(2000), 503,
        "the query ran longer than the 2,000 ms limit and was stopped; retry later, or narrow the request "
        "(a smaller range, fewer filters, a smaller page)", {"headers": {"Retry-After": "5"}},
    ),
    (
        domain.BusyWithLongRequests(1.5), 503,
        "the server is busy with long requests; retry shortly", {"headers": {"Retry-After": "2"}},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("error", "status", "detail", "rest"), ANSWERS, ids=lambda v: type(v).__name__)
def test_each_domain_error_is_answered_so(
    error: domain.DomainError, status: int, detail: str, rest: dict[str, Any]
) -> None:
    problem = problem_for(error)
    assert (problem.status, problem.detail) == (status, detail)
    answered = {
        "invalid_params": problem.invalid_params, "headers": problem.headers, **problem.extensions,
    }  # fmt: skip
    assert {key: value for key, value in answered.items() if value is not None} == rest


def test_every_domain_error_has_an_answer() -> None:
    kinds = {
        kind for _name, kind in inspect.getmembers(domain, inspect.isclass)
        if issubclass(kind, domain.DomainError) and kind is not domain.DomainError
    }  # fmt: skip
    assert kinds == {type(error) for error, *_rest in ANSWERS}
