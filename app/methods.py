"""HEAD wherever GET is (RFC 9110 9.3.2): the same status and headers as GET, without a body.

FastAPI routes a method only to routes that name it, and no route names HEAD: every HEAD was a 405.
Here a HEAD request is handed to the app as a GET, and what it answers is sent without its body
(uvicorn, which still sees HEAD, writes none). A streamed answer - an export - is stopped as soon as
its headers are out, so a HEAD costs at most the first page.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _HeadersSent(Exception):
    """The answer to a HEAD is complete: stop the app's streaming."""


async def answer_head(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """`app`'s answer to a HEAD request. (app.operations.RequestLog, the outermost middleware, sends
    HEAD requests here: a middleware of its own cost every request ~3 us.)"""
    as_get = {**scope, "method": "GET"}  # a copy: the server keeps HEAD in its own
    complete = False

    async def headers_only(message: Message) -> None:
        nonlocal complete
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body":
            if complete:
                raise _HeadersSent
            complete = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            if message.get("more_body", False):
                raise _HeadersSent

    try:
        await app(as_get, receive, headers_only)
    except _HeadersSent:
        pass
    finally:
        if "route" in as_get:  # for the access log and metrics (app.operations), which see the original
            scope["route"] = as_get["route"]
