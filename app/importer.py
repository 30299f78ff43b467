"""Reading an import: a JSON array or NDJSON, parsed as a stream, validated record by record.

The input is parsed incrementally (ijson for a JSON array, line by line for NDJSON) and each record
is validated and turned into rows (`app.loader.prepare`) as it is read, so what stays in memory is
the prepared rows, not the parsed documents as well. Everything is validated before anything is
written (`app.loader.load_prepared`, one transaction): all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import ijson

from app import json
from app.loader import LoadIssue, Prepared, prepare

MAX_ISSUES = 1000  # errors reported for one input; past it the input is plainly wrong


def read_records(stream: IO[bytes], *, ndjson: bool) -> Iterator[Any]:
    """The input's records; raises ValueError (naming the line for NDJSON) where it is not JSON."""
    if ndjson:
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"line {number}: not valid JSON ({exc})") from None
        return
    start = stream.read(64).lstrip()  # ijson's "item" path would also take {"item": ...}: arrays only
    stream.seek(0)
    if start and not start.startswith(b"["):
        raise ValueError("expected a JSON array of records (or NDJSON, one record a line)")
    try:
        yield from ijson.items(stream, "item", use_float=True)
    except ijson.JSONError as exc:
        raise ValueError(f"not a valid JSON array of records ({exc})") from None


def prepare_stream(
    stream: IO[bytes], *, ndjson: bool, documents: bool = True, progress: Callable[[int], None] | None = None
) -> tuple[list[Prepared], list[LoadIssue]]:
    """Every record of the input, validated and prepared; the errors, each with the record's index."""
    prepared: list[Prepared] = []
    issues: list[LoadIssue] = []
    index = -1
    try:
        for index, raw in enumerate(read_records(stream, ndjson=ndjson)):
            records, errors = prepare([raw], documents=documents, first_index=index)
            prepared += records
            if len(issues) < MAX_ISSUES:
                issues += errors
            if progress is not None:
                progress(1)
    except ValueError as exc:
        issues.append(LoadIssue(index + 1, "(input)", "(json)", str(exc)))
    if index == -1 and not issues:
        issues.append(LoadIssue(None, "(input)", "(json)", "no records: expected a JSON array or NDJSON of records"))
    return prepared, issues[:MAX_ISSUES]
