"""Request caps: a query string over its cap is a 414; a body over its cap is a 413 before it is read
(Content-Length) or as soon as the bytes received pass the cap (chunked), so an oversized upload
never sits in memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Problem, problem_response

IMPORT_PATH = "/v1/import"


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, import_max_bytes: int, max_query_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.import_max_bytes = import_max_bytes
        self.max_query_bytes = max_query_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope["query_string"]) > self.max_query_bytes:
            detail = f"the query string is {len(scope['query_string']):,} bytes; at most {self.max_query_bytes:,}"
            await problem_response(414, detail, instance=scope["path"])(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        cap = self.import_max_bytes if scope["path"] == IMPORT_PATH else self.max_bytes
        too_large = f"the request body is larger than {cap:,} bytes, this endpoint's limit"
        length = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > cap):
            detail = too_large if length.isdigit() else "Content-Length is not a number"
            response = problem_response(413 if length.isdigit() else 400, detail, instance=scope["path"])
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise Problem(413, too_large)
            return message

        await self.app(scope, limited, send)
