"""Reading an import: a JSON array or NDJSON, parsed as a stream, validated record by record.

The input is read incrementally and each record is validated and turned into rows
(`app.loader.prepare`) as it is read, so what stays in memory is the prepared rows, not the parsed
documents as well. Everything is validated before anything is written (`app.loader.load_prepared`,
one transaction): all or nothing.

A JSON array is cut into its items by a scanner (`array_items`) that only finds where each item
ends - strings skipped, brackets counted - and refuses nesting deeper than MAX_DEPTH as soon as it
sees it, before anything is built: 100,000 `[` cost it nothing. Each item is then parsed on its own
by the JSON parser that parses NDJSON lines and write bodies (orjson), so that every way in reads
JSON alike: invalid UTF-8, a lone surrogate escape ("\\ud800"), NaN or a number too large for a double
are errors, never silently replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from app import json
from app.loader import LoadIssue, Prepared, prepare

MAX_ISSUES = 1000  # errors reported for one input; past it the input is plainly wrong
MAX_DEPTH = 32  # arrays and objects within one another in a record; a record document nests 3 deep
CHUNK = 2**20  # bytes read at a time (more when one item is larger)

_SPACE = re.compile(rb"[ \t\r\n]*")  # JSON's white space
_STRUCTURE = re.compile(rb'["\[\]{},]')  # in an item, what opens a string or changes the depth
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)  # a string, after its opening quote


def _nested(depth: int) -> re.Pattern[bytes]:
    """An array or object (its brackets' kinds unchecked) nesting at most `depth` deep, strings
    skipped: one record found in one call of the regex engine, where _item_end takes a Python step
    per string and bracket (ten times slower). Atomic and possessive: it never backtracks."""
    string = rb'"(?>[^"\\]++|\\.)*+"'
    level = rb'[\[{](?>[^"\[\]{}]++|' + string + rb")*+[\]}]"
    for _ in range(depth - 1):
        level = rb'[\[{](?>[^"\[\]{}]++|' + string + rb"|" + level + rb")*+[\]}]"
    return re.compile(level, re.DOTALL)


_RECORD = _nested(MAX_DEPTH)


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
    for offset, item in array_items(stream):
        try:
            yield json.loads(item)
        except ValueError as exc:
            raise ValueError(f"the record at byte {offset} is not valid JSON ({exc})") from None


class _Input:
    """The stream's bytes read so far that are still needed: `data`, from absolute offset `base`."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.data, self.base, self.pos, self.ended = stream, b"", 0, 0, False

    def more(self) -> bool:
        """Read more (at least as much again as is held, so that a large item is rescanned only a
        logarithmic number of times); False at the end of the input."""
        if self.ended:
            return False
        chunk = self.stream.read(max(CHUNK, len(self.data) - self.pos))
        if not chunk:
            self.ended = True
            return False
        self.data += chunk
        return True

    def drop_read(self) -> None:
        """Forget what is before `pos` (between items: nothing before it is needed again)."""
        if self.pos >= CHUNK:
            self.base += self.pos
            self.data, self.pos = self.data[self.pos :], 0

    def next_byte(self) -> bytes:
        """The next byte that is not white space (b"" at the end), not consumed."""
        while True:
            self.pos = _SPACE.match(self.data, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.data) or not self.more():
                return self.data[self.pos : self.pos + 1]

    def at(self, pos: int | None = None) -> str:
        return f"at byte {self.base + (self.pos if pos is None else pos)}"


def array_items(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """The items of the JSON array that is the whole input, each as its bytes with its offset. Raises
    ValueError where the input is not an array, or an item nests deeper than MAX_DEPTH."""
    source = _Input(stream)
    if source.next_byte() != b"[":
        raise ValueError("expected a JSON array of records (or NDJSON, one record a line)")
    source.pos += 1
    if source.next_byte() == b"]":
        source.pos += 1
    else:
        while True:
            source.next_byte()  # past the white space before the item
            start = source.pos
            end = _item_end(source)
            yield source.base + start, source.data[start:end]
            source.pos = end
            following = source.next_byte()
            source.pos += 1
            if following == b"]":
                break
            if following != b",":
                found = f"found {following!r}" if following else "the input ends"
                raise ValueError(f"not a valid JSON array of records: expected , or ] {source.at(end)}, {found}")
            source.drop_read()
    if source.next_byte():
        raise ValueError(f"not a valid JSON array of records: more after its end {source.at()}")


def _item_end(source: _Input) -> int:
    """Where the item at `source.pos` ends: after its closing bracket, or (any other value) before the
    `,` or `]` that follows it. Only the depth is checked here; the parser checks the rest. A record
    read whole and no deeper than MAX_DEPTH is found by _RECORD; the steps below find the others'
    ends, or what is wrong with them, reading more input as they need it."""
    record = _RECORD.match(source.data, source.pos)
    if record is not None:
        return record.end()
    depth, pos = 0, source.pos
    while True:
        found = _STRUCTURE.search(source.data, pos)
        if found is None:
            pos = len(source.data)
            if not source.more():
                raise ValueError(f"not a valid JSON array of records: it ends inside a record {source.at(pos)}")
            if (record := _RECORD.match(source.data, source.pos)) is not None:
                return record.end()  # the whole of it is read now
            continue
        char = source.data[found.start()]
        if char == ord('"'):
            string = _STRING_REST.match(source.data, found.end())
            while string is None:  # the string goes on past what was read
                if not source.more():
                    raise ValueError(
                        f"not a valid JSON array of records: a string never ends {source.at(found.start())}"
                    )
                string = _STRING_REST.match(source.data, found.end())
            pos = string.end()
        elif char in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"a record nests deeper than {MAX_DEPTH} arrays or objects {source.at(found.start())}")
            pos = found.end()
        elif depth == 0:  # `]`, `}` or `,` after a value that is not an array or object
            return found.start()
        elif char == ord(","):
            pos = found.end()
        else:
            depth -= 1
            if depth == 0:
                return found.end()
            pos = found.end()


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
