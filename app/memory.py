"""Memory given back to the operating system after large pieces of work (exports, imports).

CPython frees small objects into its own allocator, which returns whole arenas by itself, and larger
ones to glibc's malloc, which keeps what was freed in its heaps (one arena per thread) until
malloc_trim(0) asks it to return the free pages. Measured on a worker: 16 exports that no one read
(a page each, built in the off-loop threads) took it from 132 to 382 MB RSS, and it stayed there
after they ended; malloc_trim(0) brought it to 210 MB.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable

MIN_INTERVAL_SECONDS = 5.0  # malloc_trim walks every heap (~15 ms for 400 MB): not after every request


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_trim = _malloc_trim()
_lock = threading.Lock()
_last = 0.0


def release_memory(*, force: bool = False) -> None:
    """Return glibc's free heap pages to the system: at most every MIN_INTERVAL_SECONDS (exports), or
    now (`force`: after an import, which frees hundreds of megabytes at once). Call it off the event
    loop (ctypes releases the GIL during the call)."""
    global _last
    if _trim is None:
        return
    with _lock:
        now = time.monotonic()
        if not force and now - _last < MIN_INTERVAL_SECONDS:
            return
        _last = now
    _trim(0)
