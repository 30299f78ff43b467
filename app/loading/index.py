"""Pass 1 of a load: every record validated and folded into an `ImportIndex`, then dropped.

An import must be validated whole before anything is written, and the checks that follow (references,
identifiers, cycles, what exists, conflicts) need something of every record at once - but not its
rows: a prepared record costs ~2-7 KB (a 60,000-record dry run grew the server by 469 MB). The index
keeps what the checks need in ~200 bytes a record:

- `numbers`: "type/slug" -> key number, for every key the input defines or refers to, and `names`
  back; `defined_by[key]` is the record that defines it (-1: only referred to).
- per record, by its index in the input: `record_key`, `record_type` (a byte: its position in
  MODELS), `hashes` (16-byte prefixes of its content hash and legacy hash: enough to tell
  "unchanged"), `parent` (the key of a place's parent or an event's larger event, for cycles),
  `bounds` (an event's first and last day, for parts within their larger event).
- `identifiers`: "scheme:value" -> the record that has it.

Duplicates and identifiers given twice are found here, as the records come. The write (pass 2,
app.loading.write) reads the input again through `source` and prepares the records it writes.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Iterator
from typing import Protocol

from app.loading.records import Issues, LoadIssue, Outline, Prepared, describe
from app.record_types import Ref
from app.registry import TYPES as REGISTRY

TYPES = tuple(REGISTRY)  # a record's type code is its type's position here
TYPE_CODES = {record_type: code for code, record_type in enumerate(TYPES)}
NO_TYPE = 255  # an invalid record's type code
NONE = -1  # no key, no record
HASH_BYTES = 16  # of each of a record's two hashes: a collision needs 2**64 records
ZERO_HASH = bytes(HASH_BYTES)


class RecordInput(Protocol):
    """An input that can be read again (a spooled request body, a file, a list): its records, prepared."""

    def read(self, wanted: Callable[[int], bool], end: int) -> Iterator[tuple[int, Prepared]]:
        """(index, prepared record) of the records before `end` that `wanted(index)` selects, in input
        order. Raises LoadError when the input is not what it was when indexed."""
        ...


class PreparedInput:
    """Records prepared already (app.generate prepares them in worker processes; load_records)."""

    def __init__(self, prepared: list[Prepared]) -> None:
        self.prepared = prepared

    def read(self, wanted: Callable[[int], bool], end: int) -> Iterator[tuple[int, Prepared]]:
        for index, record in enumerate(itertools.islice(self.prepared, end)):
            if wanted(index):
                yield index, record


class ImportIndex:
    """What the checks and the write need of every record of an input (see the module's doc)."""

    def __init__(self, source: RecordInput, *, documents: bool = True) -> None:
        self.source = source
        self.documents = documents  # records keep their documents (history) and legacy hashes
        self.numbers: dict[str, int] = {}
        self.names: list[str] = []
        self.defined_by = array("l")
        self.record_key = array("l")
        self.record_type = bytearray()
        self.hashes = bytearray()  # per record: the content hash's first 16 bytes, then the legacy hash's
        self.parent = array("l")
        self.bounds = array("q")  # per record: an event's min_jdn and max_jdn (0, 0 for other records)
        self.identifiers: dict[str, int] = {}
        self.issues = Issues()
        self.invalid = 0  # records (or input) with errors of their own: then nothing else is checked

    def __len__(self) -> int:
        """The records read (valid or not)."""
        return len(self.record_key)

    def key_number(self, name: str) -> int:
        """The number of the key "type/slug", given one if it has none."""
        number = self.numbers.get(name)
        if number is None:
            number = self.numbers[name] = len(self.names)
            self.names.append(name)
            self.defined_by.append(NONE)
        return number

    def key(self, number: int) -> Ref:
        record_type, slug = self.names[number].split("/", 1)
        return Ref(record_type, slug)

    def describe(self, index: int) -> str:
        return describe(self.key(self.record_key[index]))

    def add(self, outline: Outline) -> None:
        """A valid record, the next in the input."""
        index = len(self.record_key)
        key = self.key_number(outline.key.name)
        if self.defined_by[key] != NONE:
            reason = f"duplicate of record {self.defined_by[key]}"
            self.issues.add(LoadIssue(index, describe(outline.key), "slug", reason))
        else:
            self.defined_by[key] = index
        self.record_key.append(key)
        self.record_type.append(TYPE_CODES[outline.key.type])
        self.hashes += bytes.fromhex(outline.content_hash[: 2 * HASH_BYTES])
        self.hashes += bytes.fromhex(outline.legacy_hash[: 2 * HASH_BYTES]) if outline.legacy_hash else ZERO_HASH
        self.parent.append(NONE if outline.parent is None else self.key_number(outline.parent.name))
        self.bounds.extend(outline.bounds or (0, 0))
        numbers = self.numbers
        for _field, ref in outline.references:
            if (name := f"{ref.type}/{ref.slug}") not in numbers:
                self.key_number(name)
        for scheme, value in outline.identifiers:
            other = self.identifiers.setdefault(f"{scheme}:{value}", index)
            if other != index:  # an external identifier names one record
                reason = f"{value} is also given to record {other} ({self.describe(other)})"
                self.issues.add(LoadIssue(index, describe(outline.key), f"identifiers.{scheme}", reason))

    def add_invalid(self, errors: list[LoadIssue]) -> None:
        """A record that is not valid (the errors name it), the next in the input."""
        self.record_key.append(NONE)
        self.record_type.append(NO_TYPE)
        self.hashes += ZERO_HASH * 2
        self.parent.append(NONE)
        self.bounds.extend((0, 0))
        self.issues.extend(errors)
        self.invalid += 1

    def input_error(self, issue: LoadIssue) -> None:
        """The input itself is wrong (not JSON, no records): nothing in it is loaded."""
        self.issues.add(issue)
        self.invalid += 1

    def event_bounds(self, index: int) -> tuple[int, int]:
        """The first and last day of the event that is record `index`."""
        return self.bounds[2 * index], self.bounds[2 * index + 1]

    def content_hash(self, index: int) -> bytes:
        return bytes(self.hashes[index * 2 * HASH_BYTES : (index * 2 + 1) * HASH_BYTES])

    def legacy_hash(self, index: int) -> bytes | None:
        found = bytes(self.hashes[(index * 2 + 1) * HASH_BYTES : (index + 1) * 2 * HASH_BYTES])
        return found if self.documents and found != ZERO_HASH else None


def indexed(prepared: list[Prepared], *, documents: bool) -> ImportIndex:
    """The index of records prepared already, which it reads again from the list."""
    index = ImportIndex(PreparedInput(prepared), documents=documents)
    for record in prepared:
        index.add(record.outline())
    return index


def same_hash(stored: bytes | None, content_hash: str | None) -> bool:
    """Whether a full hash (hex, as the database holds it) begins with a stored prefix."""
    if stored is None or content_hash is None or len(content_hash) != 4 * HASH_BYTES:
        return False
    try:
        return bytes.fromhex(content_hash[: 2 * HASH_BYTES]) == stored
    except ValueError:  # not a hash
        return False
