"""Security headers: `X-Content-Type-Options: nosniff` on every answer, and a Content-Security-Policy
for the docs pages that lets exactly their own code run.

The API's answers are JSON, CSV or GeoJSON, never HTML (but the two docs pages): nosniff keeps a
browser from reading one as something else. The docs pages load scripts and styles from
/static/docs only; their one inline script (Swagger UI's start-up) is allowed by its SHA-256, not by
'unsafe-inline'. Styles do need 'unsafe-inline': both explorers set styles from JavaScript. ReDoc
runs its search in a worker made from a blob. Nothing may frame the pages, and nothing leaves the
server but requests to itself.
"""

from __future__ import annotations

import base64
import hashlib
import re

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(html: bytes) -> str:
    """The Content-Security-Policy of a docs page: its inline scripts allowed by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {hashes}".rstrip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ])  # fmt: skip


# Headers every HTTP answer carries (app.operations.RequestLog adds them, in the one wrapper of `send`
# that every answer passes through: a middleware of its own cost ~4 us a request).
EVERY_ANSWER: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
