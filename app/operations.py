"""What operators run the API with: health and readiness, Prometheus metrics, request ids and
structured request logs.

- `GET /healthz`: the process answers (a load balancer's liveness check). No database access.
- `GET /readyz`: the database answers and is at the migration this code expects; 503 otherwise,
  so a replica whose database is down or not yet migrated is taken out of rotation.
- `GET /metrics`: Prometheus text format - requests, latencies and errors by route template (never
  by raw path: slugs would make one series each), and the write engine's connection pool. Each
  process keeps its own counters: scrape every replica (with `--workers N`, use one worker per
  replica or accept per-process samples).
- Every answer carries `X-Request-ID` (the client's, if it sent a sane one, else a new one), and
  one JSON line per request goes to the `chronicle.access` logger (stderr by default), replacing
  uvicorn's plain-text access log.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import ReadConnection
from app.isolation import OffLoop
from app.limits import Load
from app.methods import answer_head
from app.migrate import head_revision

# Not in the OpenAPI document: they are for load balancers and scrapers (docs/deploy.md), not API clients.
router = APIRouter(include_in_schema=False)
access_log = logging.getLogger("chronicle.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """One registry per app (tests make several apps in one process)."""

    def __init__(self, write_engine: Engine, off_loop: OffLoop, load: Load) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "chronicle_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "chronicle_request_duration_seconds", "Time to answer, by route", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "chronicle_server_errors", "Answers with a 5xx status", ["method", "route"], registry=self.registry
        )
        pool = Gauge("chronicle_db_pool_connections", "Write engine's pool", ["state"], registry=self.registry)
        pool.labels("checked_out").set_function(lambda: _pool_stat(write_engine, "checkedout"))
        pool.labels("idle").set_function(lambda: _pool_stat(write_engine, "checkedin"))
        busy = Gauge("chronicle_off_loop_threads_busy", "Threads answering reads off the event loop now",
                     registry=self.registry)  # fmt: skip
        busy.set_function(lambda: off_loop.busy)
        moved = Gauge("chronicle_off_loop_reads", "Reads answered off the event loop (past the loop budget)",
                      registry=self.registry)  # fmt: skip
        moved.set_function(lambda: off_loop.moved)
        cancelled = Gauge("chronicle_off_loop_cancelled", "Work off the loop stopped because its client went away",
                          registry=self.registry)  # fmt: skip
        cancelled.set_function(lambda: off_loop.cancelled)
        at_work = Gauge("chronicle_requests_at_work", "Requests being worked on now (until their answer starts)",
                        registry=self.registry)  # fmt: skip
        at_work.set_function(lambda: load.at_work)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _pool_stat(engine: Engine, name: str) -> float:
    method = getattr(engine.pool, name, None)
    return float(method()) if callable(method) else 0.0


class RequestLog:
    """Request id, access log line and metrics for every HTTP request (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = headers  # added to every answer (app.security.EVERY_ANSWER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                text = value.decode("latin-1")
                request_id = text if _REQUEST_ID.fullmatch(text) else ""
                break
        request_id = request_id or uuid.uuid4().hex
        status = 500  # if the app fails before it starts an answer

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Request-ID", request_id)
                headers.raw.extend(self.headers)
            await send(message)

        try:
            if scope["method"] == "HEAD":
                await answer_head(self.app, scope, receive, send_with_id)  # HEAD wherever GET is
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id)

    def _record(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "(no route)"
        method = scope["method"]
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(method, template).observe(seconds)
        if status >= 500:
            self.metrics.errors.labels(method, template).inc()
        if access_log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            line: dict[str, Any] = {
                "event": "request", "request_id": request_id, "method": method, "path": scope["path"],
                "route": template, "status": status, "ms": round(seconds * 1000, 3),
                "client": client[0] if client else None,
            }  # fmt: skip
            access_log.info(json.dumps(line))


def install_json_log(name: str) -> None:
    """Lines of the logger `name` (JSON already) to stderr, unless the operator routed it elsewhere:
    `chronicle.access` (one per request) and `chronicle.audit` (one per write)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@router.get("/healthz", summary="Liveness: the process answers", response_model=None)
async def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz", summary="Readiness: the database answers and is migrated", response_model=None,
    responses={503: {"description": "Not ready: the database is unreachable or not at the expected migration."}},
)  # fmt: skip
async def readyz(request: Request) -> Response:
    db: ReadConnection = request.app.state.read_db
    expected = head_revision()
    try:
        row = db.one("SELECT version_num FROM alembic_version")
    except Exception as exc:
        return _not_ready(f"the database does not answer: {type(exc).__name__}")
    found = None if row is None else str(row[0])
    if found != expected:
        return _not_ready(f"the database is at migration {found}, this code expects {expected}")
    return JSONResponse({"status": "ready", "migration": found})


def _not_ready(detail: str) -> Response:
    body = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail}
    return JSONResponse(body, status_code=503, media_type="application/problem+json", headers={"Retry-After": "5"})


@router.get("/metrics", summary="Prometheus metrics of this process", response_model=None)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
