"""Rate limits: so many requests per window from one API key, or, without a key, from one client
address. Past the limit: 429 problem+json with Retry-After; every /v1 answer carries the RateLimit-*
headers (draft-ietf-httpapi-ratelimit-headers) so that clients can pace themselves.

Windows are fixed and aligned to the clock (a 60 s window starts on the minute), so every worker
process and replica agrees on which window a request falls in. Counters live in Redis when
CHRONICLE_REDIS_URL is set: INCR is atomic, so N workers together allow exactly the limit. Without
Redis each process counts in its own memory, exact for the single-worker default. Nothing is ever
written to the database for bookkeeping.

The client address is the socket's peer, or what X-Forwarded-For says when the peer is one of
CHRONICLE_FORWARDED_ALLOW_IPS (uvicorn's proxy-headers middleware rewrites it before we see it); an
IPv6 client counts by its /64 network (app.limits.client_address).
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

from app.db import ReadConnection
from app.errors import problem_response
from app.hrefs import is_api_path
from app.keys import FIND_KEY_SQL, key_hash
from app.limits import client_address

log = logging.getLogger("chronicle")


class Counter(Protocol):
    async def hit(self, bucket: str, window_start: int, window: int) -> int:
        """Count one request in `bucket` for the window starting at `window_start`; the count so far."""
        ...

    async def close(self) -> None: ...


class MemoryCounter:
    """Counts in this process's memory (one event loop: no lock needed), in a table of at most
    MAX_BUCKETS entries (~150 bytes each), so that a stream of new addresses cannot grow it without
    bound: when it is full, old windows are dropped, and if that is not enough, the half with the
    fewest requests (a bucket dropped starts again from 0: the clients that gain are those furthest
    from their limit)."""

    MAX_BUCKETS = 100_000

    def __init__(self) -> None:
        self.counts: dict[str, tuple[int, int]] = {}  # bucket -> (window start, count)

    async def hit(self, bucket: str, window_start: int, window: int) -> int:
        start, count = self.counts.get(bucket, (window_start, 0))
        count = count + 1 if start == window_start else 1
        if bucket not in self.counts and len(self.counts) >= self.MAX_BUCKETS:
            self._make_room(window_start)
        self.counts[bucket] = (window_start, count)
        return count

    def _make_room(self, window_start: int) -> None:
        current = {key: value for key, value in self.counts.items() if value[0] >= window_start}
        if len(current) >= self.MAX_BUCKETS // 2:
            busiest = sorted(current.items(), key=lambda item: item[1][1], reverse=True)
            current = dict(busiest[: self.MAX_BUCKETS // 2])
        self.counts = current

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
    is served unlimited and a warning logged: a lost counter must not take the API down.

    A request counts against a key only when the key is one the database holds (live): anything
    else - no key, a made-up one, a revoked one - counts against the client's address, so a new
    junk key per request is no way around the address's limit. Keys found live are remembered for
    KNOWN_KEY_SECONDS (only real keys: the memory is bounded by the number of keys); the rest cost
    one indexed lookup each."""

    KNOWN_KEY_SECONDS = 60.0
    MAX_KNOWN_KEYS = 10_000

    def __init__(
        self, app: ASGIApp, *, counter: Counter, db: ReadConnection, per_key: int, per_address: int, window: int
    ) -> None:
        self.app = app
        self.counter = counter
        self.db = db
        self.per_key = per_key
        self.per_address = per_address
        self.window = window
        self.known_keys: dict[str, float] = {}  # key hash -> until when it is taken as live (time.monotonic())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
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
        """A request with a live Bearer key counts against the key (its hash: the key itself is never
        stored); any other, against its client address (app.limits.client_address)."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, key = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and key.strip():
                    hashed = key_hash(key.strip())
                    if self._is_live(hashed):
                        return f"key:{hashed[:32]}", self.per_key
                break
        return f"address:{client_address(scope)}", self.per_address

    def _is_live(self, hashed: str) -> bool:
        now = time.monotonic()
        if self.known_keys.get(hashed, 0.0) > now:
            return True
        try:
            live = self.db.one(FIND_KEY_SQL, {"hash": hashed}) is not None
        except Exception as exc:  # the database is down or busy: the address's quota, never a 500
            log.warning("rate limit: a key could not be checked: %s", exc)
            return False
        if live:
            if len(self.known_keys) >= self.MAX_KNOWN_KEYS:
                self.known_keys = {key: until for key, until in self.known_keys.items() if until > now}
            if len(self.known_keys) < self.MAX_KNOWN_KEYS:
                self.known_keys[hashed] = now + self.KNOWN_KEY_SECONDS
        return live
