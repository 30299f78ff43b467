"""How Chronicle is served: uvicorn's configuration, and its HTTP/1.1 protocol with the timeouts that
keep slow clients from holding a worker's connections.

uvicorn waits for a request's headers, and for a client to read its answer, as long as the client
likes: 200 connections sending a header line now and then (slowloris), or 70 asking for an export and
never reading it, stay open for ever. So, on top of uvicorn's httptools protocol:

- a request's headers must arrive within CHRONICLE_HEADER_TIMEOUT_SECONDS of its first byte (or of
  the connection's opening), and its body must not pause longer than that between two reads: past
  either, 408 and the connection is closed;
- an answer whose client reads nothing for CHRONICLE_SEND_TIMEOUT_SECONDS (the socket's send buffer
  stays full) is abandoned: the connection is aborted, and the request's work stops as for a client
  that went away.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from app.config import Settings

TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 44\r\n"
    b"connection: close\r\n\r\nthe request did not arrive in time; try again"
)


class _TimedFlowControl(FlowControl):
    """uvicorn's flow control, whose wait for a full send buffer to drain gives up after `timeout`."""

    def __init__(self, transport: asyncio.Transport, timeout: float, on_timeout: Any) -> None:
        super().__init__(transport)
        self.timeout = timeout
        self.on_timeout = on_timeout

    async def drain(self) -> None:
        try:
            await asyncio.wait_for(self._is_writable_event.wait(), self.timeout)
        except TimeoutError:
            self.on_timeout()


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header (and body) timeout and a send timeout. The timeouts
    come from the uvicorn Config (`uvicorn_config` sets them), which is what reaches every worker.

    A request being read notes since when (`reading_since`); one sweep a second over the server's
    connections closes those past the timeout. (A timer per request - armed at its first byte,
    cancelled at its last - cost three timer operations on every request.)"""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout: float = getattr(config, "chronicle_header_timeout", 10.0)
        self.send_timeout: float = getattr(config, "chronicle_send_timeout", 30.0)
        self.reading_since: float | None = None  # on the loop's clock; None between requests

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.flow = _TimedFlowControl(self.transport, self.send_timeout, self._abandon)
        self.reading_since = self.loop.time()  # a connection that sends nothing is closed too
        _sweep_every_second(self.loop, self.connections)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_since = self.loop.time()  # the headers, whole, within the timeout

    def on_headers_complete(self) -> None:
        self.reading_since = self.loop.time()  # then the body: no pause longer than the timeout
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.reading_since = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.reading_since = None
        super().on_message_complete()

    def read_timed_out(self) -> None:
        self.reading_since = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(TIMEOUT_408)  # no answer under way: say why before closing
        self.transport.close()

    def _abandon(self) -> None:
        """The client has read nothing for the send timeout: stop writing to it, and let the request's
        work see a client that went away (`http.disconnect`)."""
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.abort()


# The connection sets (one per server) a sweep runs over, by id; held, so that no id is reused.
_SWEPT: dict[int, set[Any]] = {}


def _sweep_every_second(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
    """Once per server: every second, close its connections whose request has been read for longer
    than the header timeout."""
    if id(connections) in _SWEPT:
        return
    _SWEPT[id(connections)] = connections

    def sweep() -> None:
        now = loop.time()
        for protocol in list(connections):
            since = getattr(protocol, "reading_since", None)
            if since is not None and now - since > protocol.header_timeout:
                protocol.read_timed_out()
        loop.call_later(1.0, sweep)

    loop.call_later(1.0, sweep)


def uvicorn_config(app: Any, settings: Settings, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration as `chronicle serve` runs it (tests serve the app the same way).

    No Server banner; on SIGTERM uvicorn stops accepting, lets requests in flight finish (up to the
    graceful timeout), then exits. access_log=False: app.operations writes one JSON line per request
    instead. X-Forwarded-For is believed only from CHRONICLE_FORWARDED_ALLOW_IPS (uvicorn's own
    default would believe any local process, which could then choose the address its rate limit is
    counted under)."""
    config = uvicorn.Config(
        app, host=host, port=port, http=TimedHttpProtocol, server_header=False, access_log=False,
        timeout_graceful_shutdown=30, proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None, **options,
    )  # fmt: skip
    config.chronicle_header_timeout = settings.header_timeout_seconds  # type: ignore[attr-defined]
    config.chronicle_send_timeout = settings.send_timeout_seconds  # type: ignore[attr-defined]
    return config


def run(config: uvicorn.Config) -> None:
    """Serve until stopped, as uvicorn.run does with these settings: one process, or `config.workers`
    processes sharing one socket. Exits with uvicorn's start-up failure code if the server did not start."""
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and config.workers == 1:
        raise SystemExit(STARTUP_FAILURE)
