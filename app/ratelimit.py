"""Rate limits: so many requests per window from one API key, or, without a key, from one client
address. Past the limit: 429 problem+json with Retry-After; every /v1 answer carries the RateLimit-*
headers (draft-ietf-httpapi-ratelimit-headers) so that clients can pace themselves.

Windows are fixed and aligned to the clock (a 60 s window starts on the minute), so every worker
process and replica agrees on which window a request falls in. Counters live in Redis when
CHRONICLE_REDIS_URL is set: INCR is atomic, so N workers together allow exactly the limit. Without
Redis each process counts in its own memory, exact for the single-worker default. Nothing is ever
written to the database for bookkeeping.

The client address is the socket's peer, or what X-Forwarded-For says when the peer is one of
CHRONICLE_FORWARDED_ALLOW_IPS (uvicorn's proxy-headers middleware rewrites it before we see it).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

import redis.asyncio
import redis.exceptions
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem_response
from app.keys import key_hash

log = logging.getLogger("chronicle")


class Counter(Protocol):
    async def hit(self, bucket: str, window_start: int, window: int) -> int:
        """Count one request in `bucket` for the window starting at `window_start`; the count so far."""
        ...

    async def close(self) -> None: ...


class MemoryCounter:
    """Counts in this process's memory (one event loop: no lock needed). Old windows are dropped
    when the table grows, so a stream of new addresses cannot grow it without bound."""

    PRUNE_AT = 10_000

    def __init__(self) -> None:
        self.counts: dict[str, tuple[int, int]] = {}  # bucket -> (window start, count)

    async def hit(self, bucket: str, window_start: int, window: int) -> int:
        start, count = self.counts.get(bucket, (window_start, 0))
        count = count + 1 if start == window_start else 1
        if len(self.counts) >= self.PRUNE_AT:
            self.counts = {key: value for key, value in self.counts.items() if value[0] >= window_start}
        self.counts[bucket] = (window_start, count)
        return count

    async def close(self) -> None:
        self.counts.clear()


class RedisCounter:
    """One Redis key per bucket and window: INCR and EXPIRE in one MULTI/EXEC, so the count is
    exact however many processes share it, and a window's key is gone soon after the window."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.asyncio.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.prefix = prefix

    async def hit(self, bucket: str, window_start: int, window: int) -> int:
        key = f"{self.prefix}:ratelimit:{bucket}:{window_start}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 5)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self.client.aclose()


def make_counter(redis_url: str | None, prefix: str) -> Counter:
    return RedisCounter(redis_url, prefix) if redis_url else MemoryCounter()


class RateLimit:
    """Counts every /v1 request against its key's or its address's quota (the docs, the OpenAPI
    document and the operations endpoints are not counted). If Redis cannot be reached the request
    is served unlimited and a warning logged: a lost counter must not take the API down."""

    def __init__(self, app: ASGIApp, *, counter: Counter, per_key: int, per_address: int, window: int) -> None:
        self.app = app
        self.counter = counter
        self.per_key = per_key
        self.per_address = per_address
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        bucket, limit = self._bucket(scope)
        if not limit:
            await self.app(scope, receive, send)
            return
        now = time.time()
        window_start = int(now // self.window) * self.window
        try:
            count = await self.counter.hit(bucket, window_start, self.window)
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("rate limit not applied: the counter store failed: %s", exc)
            await self.app(scope, receive, send)
            return
        reset = max(1, math.ceil(window_start + self.window - now))
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - count)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{limit};w={self.window}",
        }
        if count > limit:
            who = "this API key" if bucket.startswith("key:") else "this client address"
            detail = f"{who} made more than {limit} requests in {self.window} s; retry after {reset} s"
            response = problem_response(
                429, detail, instance=scope["path"], headers={**headers, "Retry-After": str(reset)}
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _bucket(self, scope: Scope) -> tuple[str, int]:
        """A request with a Bearer key counts against the key (its hash: the key itself is never
        stored); one without, against its client address."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, key = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and key.strip():
                    return f"key:{key_hash(key.strip())[:32]}", self.per_key
        client = scope.get("client")
        return f"address:{client[0] if client else 'unknown'}", self.per_address
