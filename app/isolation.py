"""Reads on the event loop within a budget; what runs past it, off the loop in a few threads.

A cheap read - an indexed page, one record - costs tens of microseconds of SQL, less than handing it
to a thread (research/perf-anchors.md), so reads run on the event loop. But one expensive read (a
prefix search over most of the database, a timeline over a million events) would hold the loop, and
every other client of the worker with it. So:

- Each read starts on the loop with a budget (CHRONICLE_LOOP_BUDGET_MS, a few milliseconds) for its
  queries together. A query that runs past it is stopped (app.db: OverBudget) and the whole answer
  is computed again in one of CHRONICLE_OFF_LOOP_THREADS threads, on that thread's own connection,
  with the full query time limit. The cost is the budget, spent once, on requests that take far
  longer anyway; cheap requests never leave the loop.
- The threads run at a lower priority (nice 10): sqlite3 releases the GIL while a statement runs, so
  a query in a thread competes with the loop only for the CPU, and the kernel then gives the loop
  the larger share.
- A request waits at most `wait_seconds` for a free thread (then 503, Retry-After), and whatever it
  runs off the loop is stopped when its client goes away (`http.disconnect`): the connection is
  interrupted, so no thread computes an answer no one will read.
- Exports use the same threads one page at a time (app.routers.formats, app.routers.export).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from app.db import Cancelled, OverBudget, ReadConnection
from app.domain_errors import BusyWithLongRequests

T = TypeVar("T")
P = ParamSpec("P")
READS = "chronicle.reads"  # a scope key: the connection this request's answer is computed on
OFF_LOOP_NICE = 10


def _lower_priority() -> None:
    """Runs in each off-loop thread: on Linux a thread has its own nice value."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: the loop's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), OFF_LOOP_NICE)


class _Job:
    """One piece of work in a thread, and the connection it runs on while it runs (to interrupt it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancelled = False
        self.connection: ReadConnection | None = None

    def start(self, connection: ReadConnection) -> None:
        with self.lock:
            if self.cancelled:
                raise Cancelled
            self.connection = connection

    def finish(self) -> None:
        with self.lock:
            if self.connection is not None:
                self.connection.reset_interrupt()
            self.connection = None

    def cancel(self) -> None:
        """From any thread: the running query stops (Cancelled), or the work never starts."""
        with self.lock:
            self.cancelled = True
            if self.connection is not None:
                self.connection.interrupt()


class OffLoop:
    """The threads that answer reads past the loop's budget, and exports, each with its own connection."""

    def __init__(self, loop_connection: ReadConnection, *, threads: int, wait_seconds: float) -> None:
        self.loop_connection = loop_connection
        self.threads = threads
        self.wait_seconds = wait_seconds
        self._executor: ThreadPoolExecutor | None = None
        self.local = threading.local()
        self.all_connections: list[ReadConnection] = []
        self._slots: asyncio.Semaphore | None = None
        # For /metrics (app.operations): threads at work now; reads moved off the loop and work
        # stopped because its client went away, since the start.
        self.busy = 0
        self.moved = 0
        self.cancelled = 0

    def _thread_connection(self) -> ReadConnection:
        found: ReadConnection | None = getattr(self.local, "connection", None)
        if found is None:
            found = self.local.connection = self.loop_connection.for_thread()
            self.all_connections.append(found)
        return found

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The threads, started on first use (again after `close`: an app's lifespan may run twice)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, "chronicle-off-loop", initializer=_lower_priority)
        return self._executor

    def close(self) -> None:
        """At the app's shutdown: the threads stop after their work, queued work included (an export's
        clean-up, which closes its connection, is queued when its answer ends), and their connections close."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        for connection in self.all_connections:
            connection.close()
        self.all_connections.clear()
        self.local = threading.local()
        self._slots = None  # bound to the loop that is ending

    async def run(
        self, work: Callable[[ReadConnection], T], *, connection: ReadConnection | None = None,
        receive: Receive | None = None,
    ) -> T:  # fmt: skip
        """`work(connection)` in a thread, on `connection` or the thread's own, once a thread is free.
        With `receive`, stopped (Cancelled) when the client goes away; stopped as well when the
        awaiting task is cancelled (a streamed answer whose client went away)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.threads)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), self.wait_seconds)
        except TimeoutError:
            raise BusyWithLongRequests(self.wait_seconds) from None
        job = _Job()
        try:
            future = asyncio.get_running_loop().run_in_executor(self.executor, self._run, job, work, connection)
        except BaseException:
            slots.release()
            raise
        self.busy += 1
        future.add_done_callback(self._done)  # the thread is free again
        try:
            if receive is None:
                return await asyncio.shield(future)  # cancelled: the thread carries on until interrupted
            return await _unless_disconnected(future, receive, job)
        except (asyncio.CancelledError, Cancelled):
            self.cancelled += 1
            _cancel(job)
            raise

    def _done(self, _future: asyncio.Future[Any]) -> None:
        self.busy -= 1
        assert self._slots is not None
        self._slots.release()

    def _run(self, job: _Job, work: Callable[[ReadConnection], T], connection: ReadConnection | None) -> T:
        db = connection if connection is not None else self._thread_connection()
        job.start(db)
        try:
            return work(db)
        finally:
            job.finish()


def _cancel(job: _Job) -> None:
    """Cancels the job from another thread (interrupting a PostgreSQL query is a round trip to the
    server: not on the loop), without waiting: a cancelled task may not await anything more."""
    asyncio.get_running_loop().run_in_executor(None, job.cancel)


async def _unless_disconnected(future: asyncio.Future[T], receive: Receive, job: _Job) -> T:
    """The future's result, unless the client disconnects first: then the job is cancelled."""
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((future, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if future.done():
        return future.result()
    raise Cancelled  # (OffLoop.run cancels the job)


async def _disconnected(receive: Receive) -> None:
    """Returns when the client disconnects. The request's (empty) body comes first; a server that
    then answers `receive` at once again, instead of waiting for the disconnect as ASGI says, is not
    watched (the loop must not spin on it)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body", False):
            break
    message = await receive()
    if message["type"] == "http.disconnect":
        return
    await asyncio.Event().wait()  # never: the work runs to its end or its time limit


def read_db(request: Request) -> ReadConnection:
    """The connection this request's answer is computed on: the loop's, or an off-loop thread's."""
    db: ReadConnection = request.scope.get(READS) or request.app.state.read_db
    return db


def read_endpoint(compute: Callable[Concatenate[Request, P], Response]) -> Callable[..., Awaitable[Response]]:
    """A route for a read: `compute(request, ...)`, a plain function that reads through
    read_db(request), runs on the loop within the budget; past it, again in an off-loop thread.
    FastAPI reads the parameters from `compute`'s signature (functools.wraps)."""

    @functools.wraps(compute)
    async def endpoint(request: Request, *args: P.args, **kwargs: P.kwargs) -> Response:
        loop_db: ReadConnection = request.app.state.read_db
        request.scope[READS] = loop_db  # (read_db then finds it in the scope: cheaper than app.state)
        loop_db.start_budget()
        try:
            return compute(request, *args, **kwargs)
        except OverBudget:
            pass
        finally:
            loop_db.end_budget()
        return await _off_the_loop(request, lambda: compute(request, *args, **kwargs))

    return endpoint


async def _off_the_loop(request: Request, compute: Callable[[], Response]) -> Response:
    def on_this_thread(db: ReadConnection) -> Response:
        request.scope[READS] = db
        return compute()

    off_loop: OffLoop = request.app.state.off_loop
    off_loop.moved += 1
    return await off_loop.run(on_this_thread, receive=request.receive)


def compute_of(endpoint: Callable[..., Awaitable[Response]]) -> Callable[..., Response]:
    """The plain function behind a read_endpoint route: a write computes its answer with it, inside
    its own transaction (app.routers.editing)."""
    compute: Callable[..., Response] = endpoint.__wrapped__  # type: ignore[attr-defined]
    return compute
