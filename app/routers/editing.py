"""Editors' endpoints: create, replace, patch and delete records, their revisions and restore; the
changes feed; bulk import. Writes need `Authorization: Bearer <key>` (app.auth).

Writes run in the threadpool on the write engine's own connections (app.db: never the read
connection, which belongs to the event loop), each in one transaction that first takes the write
lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock: app.db): concurrent writers queue, and
one that still cannot get the lock in time answers 503 with Retry-After. Each write is recorded in
the `audit` table and as a log line.
"""

import importlib
import logging
import re
import tempfile
import threading
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app import json, writes
from app.auth import authenticate
from app.db import ReadConnection, is_busy, transaction_reads
from app.documents import SLUG_PATTERN
from app.domain_errors import DomainError
from app.editor_schemas import (
    ChangePage,
    ChangesQuery,
    DeleteQuery,
    ImportQuery,
    ImportReport,
    NoQuery,
    RestoreQuery,
    RevisionDetail,
    RevisionPage,
)
from app.errors import PROBLEM_JSON, Problem, problem_for
from app.hrefs import href
from app.importer import MAX_DEPTH, free_import_memory, index_stream, too_deep
from app.isolation import READS, compute_of, read_db, read_endpoint
from app.keys import Caller, includes, note_use
from app.loader import ImportIndex, LoadError, LoadOptions, LoadSummary, load_index
from app.models import AuditEntry, utcnow, with_article
from app.queries import history
from app.queries.records import FoundRecord
from app.registry import COLLECTIONS, TYPES
from app.routers.common import (
    NOT_MODIFIED,
    conditional,
    decode_cursor,
    encode_cursor,
    envelope,
    json_response,
    list_validators,
    parse_query,
    primary_db,
    query_docs,
    record_for_path,
)
from app.schemas import PageQuery, ProblemDetail, Slug, slug_path

# No `from __future__ import annotations` here: the routes' parameter annotations name a local alias
# (SlugPath), which FastAPI must be able to evaluate.
router = APIRouter()
audit_log = logging.getLogger("chronicle.audit")
T = TypeVar("T")

EXAMPLES = {name: record_type.example for name, record_type in TYPES.items()}
INPUT_MODELS: dict[str, type[BaseModel]] = {name: record_type.document for name, record_type in TYPES.items()}
# Each type's GET, as a plain function: a write's answer is computed by it, inside the write's transaction.
DETAIL: dict[str, Callable[[Request, str], Response]] = {
    name: compute_of(getattr(importlib.import_module(record_type.routes), f"get_{name}"))
    for name, record_type in TYPES.items()
}

_PROBLEM = {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "No API key, or not a valid one (`WWW-Authenticate` says which)."},
    403: {**_PROBLEM, "description": "The key's scope does not allow this."},
    503: {**_PROBLEM, "description": "The database is busy with another write; retry after `Retry-After` seconds."},
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_PROBLEM, "description": "The body is not JSON, or a query parameter is bad."},
    413: {**_PROBLEM, "description": "The body is larger than the configured limit."},
    415: {**_PROBLEM, "description": "The body is not `application/json`."},
    422: {**_PROBLEM, "description": "The record is not valid: `invalid_params` names each field (`in: body`)."},
}
RECORD_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        **_PROBLEM,
        "description": "No record has this slug (a renamed record's old slug: the detail names the new).",
    },
    410: {**_PROBLEM, "description": "The record was deleted."},
    409: {**_PROBLEM, "description": "The slug is taken, or other records link to this one (`linked_by`)."},
    412: {
        **_PROBLEM,
        "description": "`If-Match` names an older revision (someone changed the record since), or "
        "`If-None-Match` names the current one (or is `*`).",
    },
    428: {**_PROBLEM, "description": "`If-Match` is missing: GET the record and send its `ETag`."},
}


HISTORY_ERRORS: dict[int | str, dict[str, Any]] = {
    304: NOT_MODIFIED,
    400: BODY_ERRORS[400],
    404: {**_PROBLEM, "description": "No record has this slug (or no such revision)."},
    301: {**_PROBLEM, "description": "The record was renamed: `Location` is this URL under its current slug."},
}


def input_schemas() -> dict[str, Any]:
    """OpenAPI component schemas of the record documents that writes take (app.main adds them)."""
    found: dict[str, Any] = {}
    for model in INPUT_MODELS.values():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        # A record's URL names its type, so its body may leave `type` out (an import's may not).
        schema["required"] = [name for name in schema.get("required", []) if name != "type"]
        found[model.__name__] = schema
    return found


def _body_doc(record_type: str, media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{INPUT_MODELS[record_type].__name__}"}
    return {"requestBody": {"required": True, "content": {media: {"schema": schema} for media in media_types}}}


async def read_json(request: Request, *, patch: bool = False) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accepted = ("application/json", "application/merge-patch+json") if patch else ("application/json",)
    if content_type not in accepted:
        raise Problem(415, f"the body must be {' or '.join(accepted)}, not {content_type or 'untyped'}")
    body = await request.body()
    if (at := too_deep(body)) is not None:  # before parsing: nothing that deep is built (app.importer)
        raise Problem(422, f"the body nests deeper than {MAX_DEPTH} arrays or objects (at byte {at})")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}") from None


VALID_SLUG = re.compile(SLUG_PATTERN[1:-1], re.ASCII)
WRITE_QUEUE_SECONDS = 30  # how long a write waits for its turn in this process before a 503


def write_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.write_sessions
    return sessions


def _log_audit(request: Request, caller: Caller, record: str | None, status: int | None, outcome: str) -> None:
    """The audit line on `chronicle.audit`: written once the outcome is final (committed, or not written)."""
    audit_log.info(json.dumps({
        "event": "write", "key": caller.name, "method": request.method, "path": request.url.path, "record": record,
        "status": status, "outcome": outcome,
    }).decode())  # fmt: skip


def _audit(request: Request, caller: Caller, record: str | None, status: int, outcome: str) -> AuditEntry:
    return AuditEntry(
        key_name=caller.name, method=request.method, path=request.url.path[:2000], status=status,
        record=None if record is None else record[:120],  # a label from an unvalidated body: fit the column
        outcome=outcome[:200],
    )  # fmt: skip


def busy() -> Problem:
    return Problem(503, "the database is busy with another write; retry shortly", headers={"Retry-After": "1"})


async def run_write(
    request: Request, caller: Caller, record: str | None, work: Callable[[Session], T], *, status: int = 200
) -> T:
    """`work` in one write transaction, in the threadpool, recorded in the audit table. A refused
    write (a Problem, or a domain error from app.writes) is undone to a savepoint and its audit row
    committed in the same transaction: one turn of the write lock, whatever the outcome."""
    sessions = write_sessions(request)
    queue: threading.Lock = request.app.state.write_queue

    def transaction() -> T:
        # Writers of this process take turns here, first come first served, instead of polling
        # SQLite's lock with growing sleeps (unfair: under load one writer can wait out the busy
        # timeout while others pass). The busy timeout still arbitrates between processes.
        if not queue.acquire(timeout=WRITE_QUEUE_SECONDS):
            raise busy()
        try:
            return locked_transaction()
        finally:
            queue.release()

    def locked_transaction() -> T:
        refused: Problem | None = None
        with sessions.begin() as session:
            try:
                with session.begin_nested():
                    result = work(session)
            except Problem as problem:
                refused = problem
            except DomainError as error:
                refused = problem_for(error)  # the audit row records the status it is answered with
            if refused is None:
                note_use(session, caller, utcnow())
            outcome = (refused.status, refused.detail) if refused is not None else (status, "done")
            session.add(_audit(request, caller, record, *outcome))
        _log_audit(request, caller, record, *outcome)  # committed: a commit that fails is logged below
        if refused is not None:
            raise refused
        return result

    try:
        return await run_in_threadpool(transaction)
    except OperationalError as exc:
        if not is_busy(exc):
            # Nothing was written (the transaction rolled back): app.errors answers 503 or 507.
            _log_audit(request, caller, record, None, f"not written: {str(exc.orig).splitlines()[0][:200]}")
            raise
        _log_audit(request, caller, record, 503, "database busy")
        raise busy() from None


def _record_answer(session: Session, request: Request, record_type: str, slug: str, status: int) -> Response:
    """The record as GET answers it - read in the write's own transaction, so that its body and ETag
    are the revision this write made, whatever other writers do next - with the status of the write
    (and Location for a creation)."""
    request.scope[READS] = transaction_reads(session)
    try:
        response = DETAIL[record_type](request, slug)
    finally:
        del request.scope[READS]
    response.status_code = status
    if status == 201:
        response.headers["Location"] = href(record_type, slug)
    return response


def _history_of(request: Request, db: ReadConnection, record_type: str, slug: str) -> FoundRecord:
    """The record whose revisions are asked for. A deleted record's history is for editors only
    (a key with the write scope): to anyone else it answers 410, as the record does."""
    found = record_for_path(db, record_type, slug, allow_deleted=True)
    if found.deleted:
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise Problem(
                410, f"the {record_type} {slug!r} was deleted; its history is readable with an editor's key "
                "(Authorization: Bearer <key> with the write scope)",
            )  # fmt: skip
        authenticate(db, authorization, "write")
    return found


def _add_record_routes(collection: str, record_type: str) -> None:
    prefix = href(record_type)
    tag: list[str | Enum] = [collection]
    a_record = with_article(record_type)  # "an event", "a person"
    example = EXAMPLES[record_type]
    SlugPath = Annotated[Slug, slug_path(example)]
    record_errors = {**AUTH_ERRORS, **BODY_ERRORS, **RECORD_ERRORS}

    async def create(request: Request) -> Response:
        caller = authenticate(primary_db(request), request.headers.get("authorization"), "write")
        parse_query(request, NoQuery)
        body = await read_json(request)
        given = body.get("slug") if isinstance(body, dict) else None
        # The audit row names the record only by a valid slug: it is committed even when the write is refused.
        label = f"{record_type}/{given}" if isinstance(given, str) and VALID_SLUG.fullmatch(given) else None

        def work(session: Session) -> Response:
            slug = writes.create(session, record_type, body, caller.name)
            return _record_answer(session, request, record_type, slug, 201)

        return await run_write(request, caller, label, work, status=201)

    def rewriting(change: Callable[..., str], *, patch: bool) -> Callable[..., Awaitable[Response]]:
        """PUT (writes.replace) or PATCH (writes.patch): the same steps around a different change."""

        async def rewrite(request: Request, slug: SlugPath) -> Response:
            caller = authenticate(primary_db(request), request.headers.get("authorization"), "write")
            parse_query(request, NoQuery)
            body = await read_json(request, patch=patch)
            if_match, if_none_match = request.headers.get("if-match"), request.headers.get("if-none-match")

            def work(session: Session) -> Response:
                new_slug = change(session, record_type, slug, body, if_match, caller.name, if_none_match=if_none_match)
                return _record_answer(session, request, record_type, new_slug, 200)

            return await run_write(request, caller, f"{record_type}/{slug}", work)

        return rewrite

    replace = rewriting(writes.replace, patch=False)
    patch = rewriting(writes.patch, patch=True)

    async def delete(request: Request, slug: SlugPath) -> Response:
        caller = authenticate(primary_db(request), request.headers.get("authorization"), "write")
        query = parse_query(request, DeleteQuery)
        if_match, if_none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
        await run_write(
            request, caller, f"{record_type}/{slug}",
            lambda s: writes.remove(
                s, record_type, slug, if_match, caller.name, unlink=query.unlink, if_none_match=if_none_match
            ), status=204,
        )  # fmt: skip
        return Response(status_code=204)

    async def restore(request: Request, slug: SlugPath) -> Response:
        caller = authenticate(primary_db(request), request.headers.get("authorization"), "admin")
        query = parse_query(request, RestoreQuery)

        def work(session: Session) -> Response:
            writes.restore(session, record_type, slug, query.revision, caller.name)
            return _record_answer(session, request, record_type, slug, 200)

        return await run_write(request, caller, f"{record_type}/{slug}", work)

    @read_endpoint
    def revisions(request: Request, slug: SlugPath) -> Response:
        query = parse_query(request, PageQuery)
        db = read_db(request)
        found = _history_of(request, db, record_type, slug)
        cursor = decode_cursor(request, query.cursor, "revision")

        def answer() -> Response:
            page = history.revisions(db, found.id, limit=query.limit, cursor=cursor, href=f"{prefix}/{slug}/revisions")
            return json_response(
                envelope(page.items, encode_cursor(request, page.next_cursor), page.total, query.limit)
            )

        # Validators of the data version: any write may add a revision (or rename the record).
        return conditional(request, list_validators(request, "revisions"), answer)

    @read_endpoint
    def revision(
        request: Request,
        slug: SlugPath,
        number: Annotated[int, Path(ge=1, le=2**31 - 1, description="Revision number.", examples=[1])],
    ) -> Response:
        parse_query(request, NoQuery)
        db = read_db(request)
        found = _history_of(request, db, record_type, slug)

        def answer() -> Response:
            item = history.revision(db, found.id, number, href=f"{prefix}/{slug}/revisions")
            if item is None:
                raise Problem(404, f"the {record_type} {slug!r} has no revision {number}")
            return json_response(item)

        return conditional(request, list_validators(request, "revision"), answer)

    write_doc = {"responses": record_errors, "tags": tag}
    # No body: no 413, 415 or 422 (a restore that cannot be written is a 409, like a delete).
    bodyless_doc = {"responses": {**AUTH_ERRORS, 400: BODY_ERRORS[400], **RECORD_ERRORS}, "tags": tag}
    router.add_api_route(
        prefix, create, methods=["POST"], status_code=201, name=f"create_{record_type}", summary=f"Create {a_record}",
        description=f"A new {record_type} in the record format (`type` may be left out). Needs a write key. "
        "Answers 201 with the record as GET shows it, its `ETag` and `Location`.",
        openapi_extra=_body_doc(record_type), **write_doc,  # type: ignore[arg-type]
    )  # fmt: skip
    router.add_api_route(
        f"{prefix}/{{slug}}", replace, methods=["PUT"], name=f"replace_{record_type}",
        summary=f"Replace {a_record}",
        description="The whole record, replaced: fields left out are removed. Needs a write key and `If-Match` "
        "(the record's `ETag`). A different `slug` in the body renames the record; the old slug then answers 301.",
        openapi_extra=_body_doc(record_type), **write_doc,  # type: ignore[arg-type]
    )  # fmt: skip
    router.add_api_route(
        f"{prefix}/{{slug}}", patch, methods=["PATCH"], name=f"patch_{record_type}",
        summary=f"Change fields of {a_record}",
        description="A JSON merge patch (RFC 7396) of the record document: the fields given replace the "
        "current ones, `null` removes one, lists are replaced whole. Needs a write key and `If-Match`.",
        openapi_extra={"requestBody": {"required": True, "content": {
            media: {"schema": {"type": "object"}} for media in ("application/merge-patch+json", "application/json")
        }}}, **write_doc,  # type: ignore[arg-type]
    )  # fmt: skip
    router.add_api_route(
        f"{prefix}/{{slug}}", delete, methods=["DELETE"], status_code=204, name=f"delete_{record_type}",
        summary=f"Delete {a_record}",
        description="Needs a write key and `If-Match`. The record then answers 410; its history stays, and "
        "`POST .../restore` (admin) brings it back.",
        response_class=Response, openapi_extra=query_docs(DeleteQuery), **bodyless_doc,  # type: ignore[arg-type]
    )  # fmt: skip
    router.add_api_route(
        f"{prefix}/{{slug}}/restore", restore, methods=["POST"], name=f"restore_{record_type}",
        summary=f"Restore {a_record}",
        description="Brings back a deleted record (its content before the deletion), or an earlier revision "
        "(`revision=`), as a new revision. Needs an admin key.",
        openapi_extra=query_docs(RestoreQuery), **bodyless_doc,  # type: ignore[arg-type]
    )  # fmt: skip
    router.add_api_route(
        f"{prefix}/{{slug}}/revisions", revisions, methods=["GET"], name=f"list_{record_type}_revisions",
        response_model=RevisionPage, tags=tag,
        summary=f"Revisions of {a_record}", description="Every change, oldest first: who, when, what changed.",
        responses=HISTORY_ERRORS, openapi_extra=query_docs(PageQuery),
    )  # fmt: skip
    router.add_api_route(
        f"{prefix}/{{slug}}/revisions/{{number}}", revision, methods=["GET"], name=f"get_{record_type}_revision",
        response_model=RevisionDetail, tags=tag,
        summary=f"One revision of {a_record}", description="The record's document as it was after that change.",
        responses=HISTORY_ERRORS,
    )  # fmt: skip


for _record_type, _collection in COLLECTIONS.items():
    _add_record_routes(_collection, _record_type)


@router.get(
    "/v1/changes", response_model=ChangePage, tags=["changes"], summary="Every change, in order",
    responses={304: NOT_MODIFIED, 400: BODY_ERRORS[400]}, openapi_extra=query_docs(ChangesQuery),
)  # fmt: skip
@read_endpoint
def list_changes(request: Request) -> Response:
    """Every change to every record in the order it was made: a mirror applies them and asks again
    with `since` set to the last `seq` it saw."""
    query = parse_query(request, ChangesQuery)
    cursor = decode_cursor(request, query.cursor, "seq")
    cap = request.app.state.settings.total_count_cap

    def answer() -> Response:
        page = history.changes(read_db(request), since=query.since, limit=query.limit, cursor=cursor, cap=cap)
        return json_response(envelope(page.items, encode_cursor(request, page.next_cursor), page.total, query.limit))

    # The feed moves with every write, as the data version does: a mirror polling it gets 304s between.
    return conditional(request, list_validators(request, "changes"), answer)


class DryRun(Exception):
    """Raised inside an import's transaction to roll it back: a dry run writes nothing (it stops
    once the checks have said what it would write), and leaves no audit row or key use either.
    Taken apart as soon as it is caught (`take`): its traceback holds the frames of the write, in
    reference cycles (anyio's worker thread and its future) that kept a whole import in memory
    until the next full garbage collection."""

    def __init__(self, summary: LoadSummary) -> None:
        self.summary: LoadSummary | None = summary

    def take(self) -> LoadSummary:
        summary, self.summary = self.summary, None
        self.__traceback__ = None
        assert summary is not None
        return summary


IMPORT_IN_MEMORY_BYTES = 2**20  # an import body past this waits on disk, and its memory is given back after


@router.post(
    "/v1/import", response_model=ImportReport, tags=["import and export"], summary="Import records",
    responses={**AUTH_ERRORS, **BODY_ERRORS, 409: {**_PROBLEM, "description": "Records an editor changed since."}},
    openapi_extra={**query_docs(ImportQuery), "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "One record (JSON) per line."}},
    }}},
)  # fmt: skip
async def import_records(request: Request) -> Response:
    """A JSON array or NDJSON of records in the seed format: all validated, then written in one
    transaction (all or nothing), created or updated by slug. Needs a write key."""
    caller = authenticate(primary_db(request), request.headers.get("authorization"), "write")
    query = parse_query(request, ImportQuery)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "application/x-ndjson"):
        raise Problem(415, f"an import is application/json or application/x-ndjson, not {content_type or 'untyped'}")
    ndjson = content_type == "application/x-ndjson"
    options = LoadOptions(
        author=caller.name, on_conflict=query.on_conflict, restore_deleted=includes(caller.scope, "admin")
    )
    # Past 1 MiB the body waits on disk, not in memory (its size is capped by app.limits.BodyLimit).
    # It is read twice (app.loader): validated and indexed here, before the write lock is taken, so
    # that other writers wait only for the checks and the writing; then read again to write.
    received = 0
    with tempfile.SpooledTemporaryFile(max_size=IMPORT_IN_MEMORY_BYTES) as spool:
        async for chunk in request.stream():
            received += len(chunk)
            spool.write(chunk)
        spool.seek(0)
        index: ImportIndex | None = await run_in_threadpool(lambda: index_stream(spool, ndjson=ndjson))

        def work(session: Session) -> LoadSummary:
            assert index is not None
            try:
                summary = load_index(session, index, options, dry_run=query.dry_run)
            except LoadError as exc:
                listed = f" (the first {len(exc.errors)} listed)" if exc.more else ""
                refused = Problem(
                    409 if exc.conflict else 422,
                    f"{exc.total} {'conflict' if exc.conflict else 'error'}(s){listed}; nothing was written",
                    invalid_params=[
                        {"name": f"[{e.index}].{e.field}", "in": "body", "reason": e.reason} for e in exc.errors
                    ],
                    errors=[e.as_json() for e in exc.errors],
                )
            else:
                if query.dry_run:
                    raise DryRun(summary)
                return summary
            raise refused  # raised here, not in the except: the LoadError and the frames it holds are gone

        try:
            try:
                done = await run_write(request, caller, None, work)
            except DryRun as dry:
                done = dry.take()
            answer = json_response({"dry_run": query.dry_run, **done.as_json()})
            del done
        finally:
            # Nothing of the import outlives its answer: the index (which `work`, and the frames of a
            # refusal's traceback, hold), and, after a large one, what reference cycles hold and the
            # freed heap (a full collection holds the GIL for as long as it walks every object:
            # not worth it for a few records).
            index = None
            if received > IMPORT_IN_MEMORY_BYTES:
                await run_in_threadpool(free_import_memory)
    return answer
