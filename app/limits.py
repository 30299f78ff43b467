"""Request caps (OWASP API4, unrestricted resource consumption): a query string over its cap is a 414,
one with too many parameters a 400; a body over its cap is a 413 before it is read (Content-Length)
or as soon as the bytes received pass the cap (chunked), so an oversized upload never sits in memory.
Past the concurrency caps (the server's, one client address's) a request is turned away at once.
(The page size is capped by each list's `limit`; a read query's running time by app.db and
app.isolation; slow clients by app.server's timeouts.)"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Problem, bad_parameter, problem_response
from app.hrefs import api_path

IMPORT_PATH = api_path("import")


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


def client_address(scope: Scope) -> str:
    """Who is asking, as far as the network tells: the client's IPv4 address, or its IPv6 /64 network
    (one host commonly holds a whole /64, so its addresses count as one). The socket's peer, or what
    X-Forwarded-For says when the peer is a believed proxy (uvicorn has rewritten the scope by then)."""
    client = scope.get("client")
    if not client:
        return "unknown"
    host = str(client[0])
    if ":" not in host:
        return host
    try:
        return str(ipaddress.IPv6Network((host, 64), strict=False))
    except ValueError:
        return host


class Load:
    """This process's requests at work (until their answer starts) and in progress by client address:
    counted by ConcurrencyLimit, shown by /metrics (one event loop per process: no lock needed)."""

    def __init__(self) -> None:
        self.at_work = 0
        self.by_address: dict[str, int] = {}


class ConcurrencyLimit:
    """At most `max_requests` requests at work in this process at once, and at most `per_address` in
    progress from one client address; past either, refused at once (503, or 429 for the address) with
    Retry-After. A server that queues everything it is sent answers everyone late; one that says
    "busy" keeps answering the requests it took on time, and the client (or the load balancer) retries.

    A request is at work until its answer starts: one whose client is slow to read it (or an export,
    streamed for minutes) then waits on the network, not on the server, and must not keep others out.
    Its client's address still counts it until the answer ends, so one client cannot hold more than
    `per_address` answers open (70 slow readers from one address no longer fill the server).
    The operations endpoints are not counted: a busy server is alive."""

    EXEMPT = ("/healthz", "/readyz", "/metrics")

    def __init__(self, app: ASGIApp, *, load: Load, max_requests: int, per_address: int) -> None:
        self.app = app
        self.load = load
        self.max_requests = max_requests
        self.per_address = per_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        load = self.load
        address = client_address(scope)
        in_progress = load.by_address.get(address, 0)
        if in_progress >= self.per_address:
            detail = (
                f"this client address has {in_progress} requests in progress, the most one address may have; "
                "retry when one has ended"
            )
            response = problem_response(429, detail, instance=scope["path"], headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        if load.at_work >= self.max_requests:
            detail = f"the server is handling {load.at_work} requests, its limit; retry shortly"
            response = problem_response(503, detail, instance=scope["path"], headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        load.at_work += 1
        load.by_address[address] = in_progress + 1
        working = True

        async def send_and_release(message: Message) -> None:
            nonlocal working
            if working and message["type"] == "http.response.start":
                working = False
                load.at_work -= 1
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if working:
                load.at_work -= 1
            left = load.by_address[address] - 1
            if left:
                load.by_address[address] = left
            else:
                del load.by_address[address]
