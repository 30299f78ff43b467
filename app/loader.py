"""Load records in the record format (docs/data-format.md) into the database: validate all, then write.

The product's one write path: `chronicle db seed`, `chronicle import`, `POST /v1/import`, the
editors' writes (app.writes) and `chronicle generate` all load through here. Nothing is written
unless the whole input is valid; the write is one transaction; loading the same input twice changes
nothing the second time.

A load runs in three steps, each a module of app.loading:

1. `index`: every record validated and folded into an ImportIndex (~200 bytes a record), then
   dropped. An import does this outside the write lock (app.importer.index_stream).
2. `checks`: in the write transaction, the index against the database - references, identifiers,
   cycles, what exists, conflicts - into a Plan. Raises LoadError before anything is written.
3. `write`: the input read again, type by type, and the records to write prepared and written in
   batches of BATCH_SIZE. A dry run stops before this step: the plan says all it would do.

So an import holds at most one batch of prepared records at a time, whatever its size.
`load_records` (documents) and `load_prepared` (records prepared already: app.generate prepares them
in worker processes) load a list the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.documents import RecordIn
from app.loading.checks import check, slug_ids
from app.loading.index import ImportIndex, indexed
from app.loading.records import (
    MAX_ERRORS,
    MAX_ISSUES,
    SELF_REFERENCES,
    AnyRecordIn,
    KeyList,
    LoadError,
    LoadIssue,
    LoadOptions,
    LoadSummary,
    OnConflict,
    Prepared,
    prepare,
    prepare_one,
    read_file,
    validate,
)
from app.loading.tables import (
    IDENTIFIERS,
    LINK_COLUMNS,
    RECORD_COLUMNS,
    RECORDS,
    REDIRECTS,
    REVISION_COLUMNS,
    REVISIONS,
    Existing,
    bump_data_version,
    documents_before,
    insert_many,
)
from app.loading.write import BATCH_SIZE, write
from app.models import utcnow
from app.record_types import Ref

DEFAULT_OPTIONS = LoadOptions()  # an import or seed by "loader"

__all__ = [
    "BATCH_SIZE",
    "IDENTIFIERS",
    "LINK_COLUMNS",
    "MAX_ERRORS",
    "MAX_ISSUES",
    "RECORDS",
    "RECORD_COLUMNS",
    "REDIRECTS",
    "REVISIONS",
    "REVISION_COLUMNS",
    "SELF_REFERENCES",
    "AnyRecordIn",
    "Existing",
    "ImportIndex",
    "KeyList",
    "LoadError",
    "LoadIssue",
    "LoadOptions",
    "LoadSummary",
    "OnConflict",
    "Prepared",
    "RecordIn",
    "Ref",
    "bump_data_version",
    "documents_before",
    "insert_many",
    "load_index",
    "load_prepared",
    "load_records",
    "prepare",
    "prepare_one",
    "read_file",
    "slug_ids",
    "validate",
]  # fmt: skip


def load_records(session: Session, raw_records: Sequence[Any], options: LoadOptions = DEFAULT_OPTIONS) -> LoadSummary:
    """Validate, then write all records in the caller's transaction. Raises LoadError, writing nothing."""
    prepared, errors = prepare(raw_records, documents=options.history)
    return load_prepared(session, prepared, errors, options)


def load_prepared(
    session: Session, prepared: list[Prepared], errors: list[LoadIssue] | None = None,
    options: LoadOptions = DEFAULT_OPTIONS,
) -> LoadSummary:  # fmt: skip
    """Check references (to the input or the database), then write. Raises LoadError, writing nothing
    (the caller rolls its transaction back). The records are in memory already: one batch a type."""
    if errors:
        raise LoadError(list(errors))
    index = indexed(prepared, documents=options.history)
    return load_index(session, index, options, batch_size=max(1, len(prepared)))


def load_index(
    session: Session, index: ImportIndex, options: LoadOptions = DEFAULT_OPTIONS, *, dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> LoadSummary:  # fmt: skip
    """Check the indexed input against the database, then (unless `dry_run`) write it, reading it
    again, in the caller's transaction. Raises LoadError, writing nothing (the caller rolls back).
    The summary is what the load writes (or, in a dry run, would)."""
    plan = check(session, index, options)
    if not dry_run:
        write(session, plan, options, utcnow(), batch_size)
    return plan.summary
