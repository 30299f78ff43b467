"""The two ceilings bench/run.py measures Chronicle against: the same SQL, the same records as JSON bytes.

Both read BENCH_DATABASE (an SQLite file) and BENCH_STATEMENTS (a JSON file mapping a path such as
`/q1` to the SQL statements Chronicle ran for that query, parameters inlined, recorded by run.py).
Each request runs those statements with the stdlib sqlite3 module on a connection set up like
Chronicle's read connection, and returns the rows as JSON (columns named `*_json` embedded as JSON).

- `bare_app`: a bare ASGI callable, no framework at all;
- `fastapi_app`: FastAPI with one `async def` route and no middleware.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Response

STATEMENTS: dict[str, list[str]] = orjson.loads(Path(os.environ["BENCH_STATEMENTS"]).read_bytes())
connection = sqlite3.connect(os.environ["BENCH_DATABASE"], check_same_thread=False, cached_statements=256)
connection.execute("PRAGMA query_only = ON")
connection.execute("PRAGMA mmap_size = 268435456")
connection.execute("PRAGMA cache_size = -32000")


def answer(path: str) -> bytes | None:
    statements = STATEMENTS.get(path)
    if statements is None:
        return None
    results: list[list[dict[str, Any]]] = []
    first: int | None = None
    for sql in statements:
        cursor = connection.execute(sql)
        names = [d[0] for d in cursor.description]
        embedded = [name.endswith("_json") for name in names]
        if first is None and "slug" in names:
            first = len(results)
        results.append([
            {n: orjson.Fragment(v) if e and v is not None else v for n, e, v in zip(names, embedded, row, strict=True)}
            for row in cursor.fetchall()
        ])  # fmt: skip
    # The records are the first result with slugs; the rest (the data version read for the ETag, the
    # slug lookup, the links of a detail) come along, as the same work must be done.
    first = first or 0
    return orjson.dumps({"items": results[first], "more": results[:first] + results[first + 1 :]})


Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def bare_app(scope: Scope, _receive: Any, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = answer(scope["path"])
    status = 200 if body is not None else 404
    body = body if body is not None else b"{}"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


fastapi_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@fastapi_app.get("/{query}")
async def query_route(query: str) -> Response:
    body = answer(f"/{query}")
    if body is None:
        return Response(b"{}", status_code=404, media_type="application/json")
    return Response(body, media_type="application/json")
