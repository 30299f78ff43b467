"""Reading an import: a JSON array or NDJSON, parsed as a stream, validated record by record.

An import is read twice (app.loader). Pass 1 (`index_stream`, outside the write lock) validates each
record as it is read and keeps only what the checks need of it, in an ImportIndex of ~200 bytes a
record; the record itself is dropped. Pass 2, in the write transaction, reads the input again
(`StreamInput`: a file, or the request body spooled to a temporary file) and prepares only the
records it writes, a batch at a time. So an import of any size holds the index and one batch, not
every record's rows (a 60,000-record dry run held 469 MB that way). Everything is validated before
anything is written, in one transaction: all or nothing.

A JSON array is cut into its items by a scanner (`array_items`) that only finds where each item
ends - strings skipped, brackets counted, by regular expressions - and refuses nesting deeper than
MAX_DEPTH as soon as it sees it, before anything is built: 100,000 `[` cost it nothing (an NDJSON
line is checked the same way, by `too_deep`). Each item is then parsed on its own by the JSON parser
that parses NDJSON lines and write bodies (orjson), so that every way in reads JSON alike: invalid
UTF-8, a lone surrogate escape ("\\ud800"), NaN or a number too large for a double are errors, never
silently replaced (ijson's C backend, used before, read "\\ud800" as "?").
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from app import json, memory
from app.loading.index import ImportIndex
from app.loading.records import MAX_ISSUES, LoadError, LoadIssue, Prepared, outline, prepare, prepare_one, validate

MAX_DEPTH = 32  # arrays and objects within one another in a record; a record document nests 3 deep
CHUNK = 2**20  # bytes read at a time (more when one item is larger)

_SPACE = re.compile(rb"[ \t\r\n]*")  # JSON's white space
_STRING = rb'"(?>[^"\\]++|\\.)*+"'


@functools.cache
def _contents(levels: int) -> re.Pattern[bytes]:
    """What an array or object holds, as far as it goes without nesting more than `levels` deeper:
    anything but brackets and quotes, whole strings, and arrays or objects (their brackets' kinds
    unchecked) that nest at most `levels` deep. Atomic and possessive: it never backtracks. One
    call of the regex engine skips what would take a Python step per string and bracket."""
    inner = rb'(?>[^"\[\]{}]++|' + _STRING + rb")*+"
    for _ in range(levels):
        inner = rb'(?>[^"\[\]{}]++|' + _STRING + rb"|[\[{]" + inner + rb"[\]}])*+"
    return re.compile(inner, re.DOTALL)


@functools.cache
def _nested(levels: int) -> re.Pattern[bytes]:
    """One array or object nesting at most `levels` deep."""
    return re.compile(rb"[\[{]" + _contents(levels - 1).pattern + rb"[\]}]", re.DOTALL)


_SCALAR = re.compile(rb'(?>[^"\[\]{},]++|' + _STRING + rb")*+", re.DOTALL)  # up to a , ] or bracket


def too_deep(data: bytes) -> int | None:
    """Where the JSON value `data` first nests deeper than MAX_DEPTH (an offset), or None: checked
    before it is parsed (NDJSON lines, write bodies), so that nothing that deep is ever built - orjson
    would build 1,024 levels, and Python's repr of that is a RecursionError. One regex match per
    level it goes down or up, whatever the length."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return None  # the usual case: too few brackets to nest that deep
    depth, pos = 0, 0
    while True:
        pos = _match(_contents(MAX_DEPTH - depth), data, pos)
        if pos == len(data) or data[pos] == ord('"'):  # the end, or a string that never ends
            return None
        if data[pos] in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                return pos
        elif (depth := depth - 1) < 0:
            return None  # more closed than opened: the parser says so
        pos += 1


def _match(pattern: re.Pattern[bytes], data: bytes, pos: int) -> int:
    """Where `pattern`, which matches the empty string too, ends when matched at `pos`."""
    found = pattern.match(data, pos)
    assert found is not None
    return found.end()


def read_records(stream: IO[bytes], *, ndjson: bool) -> Iterator[Any]:
    """The input's records; raises ValueError (naming the line for NDJSON) where it is not JSON."""
    for where, raw in raw_records(stream, ndjson=ndjson):
        try:
            yield json.loads(raw)
        except ValueError as exc:
            if ndjson:
                raise ValueError(f"line {where}: not valid JSON ({exc})") from None
            raise ValueError(f"the record at byte {where} is not valid JSON ({exc})") from None


def raw_records(stream: IO[bytes], *, ndjson: bool) -> Iterator[tuple[int, bytes]]:
    """Each record's bytes, unparsed, with where it is (NDJSON: its line number; an array: its
    offset). Raises ValueError where the input is not an array or a line nests too deep."""
    if ndjson:
        for number, line in enumerate(stream, 1):
            if line.strip():
                if (at := too_deep(line)) is not None:
                    raise ValueError(f"line {number}: nests deeper than {MAX_DEPTH} arrays or objects (at byte {at})")
                yield number, line
        return
    yield from array_items(stream)


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
            if not source.next_byte():  # (past the white space before the item)
                raise ValueError(f"not a valid JSON array of records: it ends inside the array {source.at()}")
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
    `,` or `]` that follows it, reading more input as it needs. Only the depth is checked here; the
    parser checks the rest. A Python step per level and per read at most: a record read whole is
    one match, however long."""
    start = source.pos
    if source.data[start : start + 1] not in (b"[", b"{"):  # a string, a number, ... (not a record)
        while (end := _match(_SCALAR, source.data, start)) == len(source.data) or source.data[end] == ord('"'):
            if not source.more():
                return end
        return end
    if (record := _nested(MAX_DEPTH).match(source.data, start)) is not None:
        return record.end()  # the usual case
    depth, pos = 1, start + 1
    while True:
        pos = _match(_contents(MAX_DEPTH - depth), source.data, pos)
        if pos == len(source.data) or source.data[pos] == ord('"'):  # the end of what was read
            if not source.more():
                problem = "a string never ends" if pos < len(source.data) else "it ends inside a record"
                raise ValueError(f"not a valid JSON array of records: {problem} {source.at(pos)}")
            continue  # on from the same place, at the same depth
        if source.data[pos] in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"a record nests deeper than {MAX_DEPTH} arrays or objects {source.at(pos)}")
        elif (depth := depth - 1) == 0:
            return pos + 1
        pos += 1


def index_stream(
    stream: IO[bytes], *, ndjson: bool, documents: bool = True, progress: Callable[[int], None] | None = None
) -> ImportIndex:
    """Pass 1 of an import: every record of the input validated and indexed (app.loading.index),
    with the errors, each with the record's index. The index reads `stream` again for pass 2."""
    index = ImportIndex(StreamInput(stream, ndjson=ndjson, documents=documents), documents=documents)
    try:
        for position, raw in enumerate(read_records(stream, ndjson=ndjson)):
            records, errors = validate([raw], first_index=position)
            if errors:
                index.add_invalid(errors)
            else:
                index.add(outline(records[0], documents))
            if progress is not None:
                progress(1)
    except ValueError as exc:
        index.input_error(LoadIssue(len(index), "(input)", "(json)", str(exc)))
    if not len(index) and not index.issues:
        index.input_error(
            LoadIssue(None, "(input)", "(json)", "no records: expected a JSON array or NDJSON of records")
        )
    return index


class StreamInput:
    """An import's input read again (pass 2): from its start, the records asked for, prepared. Those
    not asked for are skipped unparsed."""

    def __init__(self, stream: IO[bytes], *, ndjson: bool, documents: bool) -> None:
        self.stream, self.ndjson, self.documents = stream, ndjson, documents

    def read(self, wanted: Callable[[int], bool], end: int) -> Iterator[tuple[int, Prepared]]:
        self.stream.seek(0)
        position = -1
        try:
            for position, (_where, raw) in enumerate(raw_records(self.stream, ndjson=self.ndjson)):
                if position >= end:
                    return
                if wanted(position):
                    records, errors = validate([json.loads(raw)], first_index=position)
                    if errors:
                        raise ValueError(str(errors[0]))
                    yield position, prepare_one(records[0], self.documents, legacy=False)
        except ValueError as exc:  # it was read, and valid, in pass 1
            reason = f"the input changed while it was loaded ({exc}); nothing was written"
            raise LoadError([LoadIssue(position, "(input)", "(json)", reason)]) from None


def prepare_stream(
    stream: IO[bytes], *, ndjson: bool, documents: bool = True, progress: Callable[[int], None] | None = None
) -> tuple[list[Prepared], list[LoadIssue]]:
    """Every record of the input, validated and prepared, in memory; the errors, each with the
    record's index. (Imports index the input instead: `index_stream`.)"""
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


def free_import_memory() -> None:
    """After an import (or a dry run), off the event loop: collect what reference cycles still hold
    - nothing of the import should be left - and give glibc's free heap back to the system
    (app.memory). Measured: a server at 439 MB after an import went back to 174 MB."""
    gc.collect()
    memory.release_memory(force=True)
