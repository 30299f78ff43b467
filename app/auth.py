"""Who is asking: `Authorization: Bearer <key>` checked against the stored hashes (app.keys)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import ReadConnection
from app.errors import Problem, problem_response
from app.hrefs import is_api_path
from app.keys import FIND_KEY_SQL, Caller, includes, key_hash, matches

REALM = 'Bearer realm="chronicle"'


def authenticate(db: ReadConnection, authorization: str | None, needed: str) -> Caller:
    """The caller behind the header: 401 (with WWW-Authenticate) without a valid live key, 403 when
    its scope does not include `needed`. The key is never repeated in an answer or a log."""
    if authorization is None:
        raise Problem(
            401, "this request needs an API key: Authorization: Bearer <key>", headers={"WWW-Authenticate": REALM}
        )
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Problem(
            401, "the Authorization header must be 'Bearer <key>'",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
        )  # fmt: skip
    row = db.one(FIND_KEY_SQL, {"hash": key_hash(key)})
    if row is None or not matches(str(row[3]), key):
        raise Problem(
            401, "the API key is not valid (unknown or revoked)",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )  # fmt: skip
    caller = Caller(int(row[0]), str(row[1]), str(row[2]), None if row[4] is None else str(row[4]))
    if not includes(caller.scope, needed):
        raise Problem(
            403, f"the key {caller.name!r} has the {caller.scope} scope; this needs {needed}",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{needed}"'},
        )  # fmt: skip
    return caller


class ReadKeyRequired:
    """With CHRONICLE_READ_REQUIRES_KEY, every /v1 read needs a key with the read scope (writes check
    their own scope). The docs explorer and the OpenAPI document stay open."""

    def __init__(self, app: ASGIApp, db: ReadConnection) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope["path"]) and scope["method"] in ("GET", "HEAD"):
            request = Request(scope)
            try:
                authenticate(self.db, request.headers.get("authorization"), "read")
            except Problem as problem:
                response = problem_response(
                    problem.status, problem.detail, instance=scope["path"], headers=problem.headers
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
