"""JSON bytes for responses: orjson, with pre-rendered fragments (stored dates) embedded as they are."""

from __future__ import annotations

from typing import Any

import orjson

Fragment = orjson.Fragment


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)
