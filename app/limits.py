"""Request caps (OWASP API4, unrestricted resource consumption): a query string over its cap is a 414,
one with too many parameters a 400; a body over its cap is a 413 before it is read (Content-Length)
or as soon as the bytes received pass the cap (chunked), so an oversized upload never sits in memory.
Past the concurrency cap a request is turned away at once with a 503. (The page size is capped by
each list's `limit`; a read query's running time by app.db.)"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Problem, bad_parameter, problem_response

IMPORT_PATH = "/v1/import"


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, import_max_bytes: int, max_query_bytes: int, max_query_parameters: int
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.import_max_bytes = import_max_bytes
        self.max_query_bytes = max_query_bytes
        self.max_query_parameters = max_query_parameters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope["query_string"]) > self.max_query_bytes:
            detail = f"the query string is {len(scope['query_string']):,} bytes; at most {self.max_query_bytes:,}"
            await problem_response(414, detail, instance=scope["path"])(scope, receive, send)
            return
        if scope["query_string"].count(b"&") >= self.max_query_parameters:  # cheap first look, then count
            count = len(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            if count > self.max_query_parameters:
                problem = bad_parameter("query", f"{count} parameters; at most {self.max_query_parameters}")
                response = problem_response(
                    400, problem.detail, instance=scope["path"], invalid_params=problem.invalid_params
                )
                await response(scope, receive, send)
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


class ConcurrencyLimit:
    """At most `max_requests` requests in this process at once; past it a 503 with Retry-After, at
    once. A server that queues everything it is sent answers everyone late; one that says "busy"
    keeps answering the requests it took on time, and the client (or the load balancer) retries.
    The operations endpoints are not counted: a busy server is alive."""

    EXEMPT = ("/healthz", "/readyz", "/metrics")

    def __init__(self, app: ASGIApp, *, max_requests: int) -> None:
        self.app = app
        self.max_requests = max_requests
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_requests:
            detail = f"the server is handling {self.in_flight} requests, its limit; retry shortly"
            response = problem_response(503, detail, instance=scope["path"], headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
