"""Pass 2 of a load: the records the plan writes (app.loading.checks), read again from the input,
prepared and written in batches - records rows, their own table's rows, the rows they own, and their
revisions - one executemany per table and batch.

Types are written in the registry's order (app.registry: sources, places, people, works, events), one read of the input
each, so that a row only ever links to rows of types already written: foreign keys hold at every
statement, whatever order the input gives. Within a type a record may refer to a later one (a place
to its parent, an event to the larger event, a source citing a source): inside one batch, parents are
inserted first; across batches the column is written NULL and set once the type is written (as
app.copy does), and a record's links that name a record not written yet are written at that point too.

Driver-level statements, not ORM objects: a bulk load writes millions of rows, and the ORM's unit of
work (or even Core's parameter handling) costs far more than the database does.
"""

from __future__ import annotations

from array import array
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from app import json
from app.loading.checks import CHANGED, NEW, WRITTEN, Plan
from app.loading.index import HASH_BYTES, TYPES
from app.loading.records import SELF_REFERENCES, LoadError, LoadIssue, LoadOptions, Prepared
from app.loading.tables import (
    LINK_COLUMNS,
    RECORD_COLUMNS,
    RECORDS,
    REVISION_COLUMNS,
    REVISIONS,
    TYPE_TABLES,
    Existing,
    bump_data_version,
    changed_fields,
    delete_owned,
    documents_before,
    insert_many,
    parents_first,
)
from app.record_types import Ref

BATCH_SIZE = 1_000  # records prepared and written at a time (~2-7 KB each while they are)


def write(session: Session, plan: Plan, options: LoadOptions, now: datetime, batch_size: int = BATCH_SIZE) -> None:
    """Write what `plan` says, in batches of `batch_size` records. Raises LoadError (the caller rolls
    back) if the input is not what was checked: a record's content differs from what was indexed."""
    writer = _Writer(session, plan, options, now)
    index = plan.index
    for code, record_type in enumerate(TYPES):
        if not plan.pending[code]:
            continue

        def wanted(position: int, code: int = code) -> bool:
            return index.record_type[position] == code and plan.state[index.record_key[position]] in WRITTEN

        batch: list[tuple[int, Prepared]] = []
        read = 0
        for position, record in index.source.read(wanted, plan.end[code]):
            writer.check_unchanged(position, record)
            batch.append((position, record))
            read += 1
            if len(batch) >= batch_size:
                writer.write(record_type, batch)
                batch = []
        writer.write(record_type, batch)
        del batch  # before the type's last step, which may read the input again
        if read != plan.pending[code]:
            raise _changed(None, f"{read} of its {plan.pending[code]} {record_type} records to write were read again")
        writer.finish(record_type)
    if any(plan.pending):
        bump_data_version(session, now)


def _changed(position: int | None, what: str) -> LoadError:
    reason = f"the input changed while it was loaded ({what}); nothing was written"
    return LoadError([LoadIssue(position, "(input)", "(record)", reason)])


class _Writer:
    """Writes batches of one type, and what must wait until the whole type is written."""

    def __init__(self, session: Session, plan: Plan, options: LoadOptions, now: datetime) -> None:
        self.session, self.plan, self.index, self.options, self.now = session, plan, plan.index, options, now
        self.edited_at = now if options.edited else None
        self.later_parents = array("q")  # (record id, key of its parent), pairs: set once the type is written
        self.later_links = array("l")  # records whose links wait until the type is written

    def check_unchanged(self, position: int, record: Prepared) -> None:
        if bytes.fromhex(record.content_hash[: 2 * HASH_BYTES]) != self.index.content_hash(position):
            raise _changed(position, f"{record.describe()} is not what was validated")

    def write(self, record_type: str, batch: list[tuple[int, Prepared]]) -> None:
        if not batch:
            return
        index, plan, session, now = self.index, self.plan, self.session, self.now
        new: list[Prepared] = []
        changed: list[Prepared] = []  # live records whose content differs
        restored: list[Prepared] = []  # deleted records brought back (their type row is inserted again)
        for position, record in batch:
            state = plan.state[index.record_key[position]]
            (new if state == NEW else changed if state == CHANGED else restored).append(record)
        ids = self._ids(batch)
        inserted = {record.key for record in new + restored}  # rows this batch inserts: it may link to them
        previous = {record.key: plan.revision[index.numbers[record.key.name]] for record in changed + restored}
        before: dict[int, dict[str, Any] | None] = {}
        if self.options.history:
            existing = [Existing(ids[r.key], None, previous[r.key], False, False) for r in changed]
            existing += [Existing(ids[r.key], None, previous[r.key], True, False) for r in restored]
            before = documents_before(session, existing, now)
        if changed or restored:
            session.execute(
                update(RECORDS).where(RECORDS.c.id == bindparam("record_id")).values(
                    revision=RECORDS.c.revision + 1, notes=bindparam("new_notes"),
                    content_hash=bindparam("new_hash"), updated_at=now, edited_at=self.edited_at, deleted_at=None,
                ),
                [{"record_id": ids[r.key], "new_notes": r.notes, "new_hash": r.content_hash}
                 for r in changed + restored],
            )  # fmt: skip
        delete_owned(session, [ids[record.key] for record in changed])
        insert_many(session, RECORDS, RECORD_COLUMNS, [
            (ids[r.key], *r.key, 1, r.notes, r.content_hash, now, now, self.edited_at) for r in new
        ])  # fmt: skip

        table = TYPE_TABLES[record_type]
        column = SELF_REFERENCES.get(record_type)
        inserts = new + restored
        if inserts:
            columns = ("id", *inserts[0].values)
            rows = [(ids[r.key], *self._values(r, ids, inserted)) for r in inserts]
            insert_many(session, table, columns, parents_first(rows, columns, column))
        if changed:
            rewrite = update(table).where(table.c.id == bindparam("record_id"))
            rewrite = rewrite.values({c: bindparam(c) for c in changed[0].values})
            session.execute(rewrite, [
                {"record_id": ids[r.key], **dict(zip(r.values, self._values(r, ids, inserted), strict=True))}
                for r in changed
            ])  # fmt: skip
        links: dict[str, list[tuple[Any, ...]]] = {}
        for position, record in batch:
            if self._links_ready(record, inserted):
                self._add_links(links, ids, record)
            else:
                self.later_links.append(position)
        self._insert_links(links)
        if self.options.history:
            self._record_history(new, changed, restored, ids, before, previous)
        for record in inserts:
            plan.ready[index.numbers[record.key.name]] = 1

    def _ids(self, batch: list[tuple[int, Prepared]]) -> dict[Ref, int]:
        """The ids of the batch's records and of every record they refer to."""
        numbers, ids = self.index.numbers, self.plan.ids
        found: dict[Ref, int] = {}
        for _position, record in batch:
            found[record.key] = ids[numbers[record.key.name]]
            for _field, ref in record.references:
                if ref not in found:
                    found[ref] = ids[numbers[f"{ref.type}/{ref.slug}"]]
        return found

    def _ready(self, ref: Ref, inserted: set[Ref]) -> bool:
        """Whether a row may link to the record `ref` now: its row of its own table is there."""
        return ref in inserted or bool(self.plan.ready[self.index.numbers[ref.name]])

    def _values(self, record: Prepared, ids: dict[Ref, int], inserted: set[Ref]) -> list[Any]:
        """The record's own table's values, references resolved: a Ref becomes its id (other values -
        str, int, float, None - are never keys of `ids` and stay). A parent not written yet (a later
        batch's) is NULL for now, and set once the type is written."""
        values = list(map(ids.get, record.values.values(), record.values.values()))
        column = SELF_REFERENCES.get(record.type)
        if column is not None and (parent := record.values[column]) is not None and not self._ready(parent, inserted):
            self.later_parents.extend((ids[record.key], self.index.numbers[parent.name]))
            values[list(record.values).index(column)] = None
        return values

    def _links_ready(self, record: Prepared, inserted: set[Ref]) -> bool:
        """Whether every record this one's links name is written (a source may cite a later source)."""
        own = SELF_REFERENCES.get(record.type, "").removesuffix("_id")  # a column, not a link
        return all(
            self._ready(ref, inserted) for field_name, ref in record.references
            if ref.type == record.type and field_name != own
        )  # fmt: skip

    @staticmethod
    def _add_links(links: dict[str, list[tuple[Any, ...]]], ids: dict[Ref, int], record: Prepared) -> None:
        own_id, resolve = ids[record.key], ids.get
        for table_name, row in record.links:
            links.setdefault(table_name, []).append((own_id, *map(resolve, row, row)))

    def finish(self, record_type: str) -> None:
        """Once every record of the type is written: the parents and links that waited."""
        plan, index = self.plan, self.index
        if self.later_parents:
            table, column = TYPE_TABLES[record_type], SELF_REFERENCES[record_type]
            pairs = self.later_parents
            self.session.execute(
                update(table).where(table.c.id == bindparam("record_id")).values({column: bindparam("parent")}),
                [{"record_id": pairs[n], "parent": plan.ids[pairs[n + 1]]} for n in range(0, len(pairs), 2)],
            )
            self.later_parents = array("q")
        if self.later_links:
            waiting = bytearray(len(index))
            for position in self.later_links:
                waiting[position] = 1
            end = self.later_links[-1] + 1
            self.later_links = array("l")
            links: dict[str, list[tuple[Any, ...]]] = {}
            for position, record in index.source.read(lambda position: bool(waiting[position]), end):
                self.check_unchanged(position, record)
                self._add_links(links, self._ids([(position, record)]), record)
                if sum(map(len, links.values())) >= 10_000:
                    self._insert_links(links)
            self._insert_links(links)

    def _insert_links(self, links: dict[str, list[tuple[Any, ...]]]) -> None:
        for table_name, rows in links.items():
            table, columns = LINK_COLUMNS[table_name]
            insert_many(self.session, table, columns, rows)
        links.clear()

    def _record_history(
        self, new: list[Prepared], changed: list[Prepared], restored: list[Prepared], ids: dict[Ref, int],
        before: dict[int, dict[str, Any] | None], previous: dict[Ref, int],
    ) -> None:  # fmt: skip
        """One revision row per written record: its document now, and the fields that changed."""
        rows = []
        for action, records in (("create", new), (self.options.rewrite, changed), ("restore", restored)):
            for record in records:
                assert record.document is not None, "a load with history keeps documents (prepare(documents=True))"
                old = before.get(ids[record.key])  # None after a deletion: every field is back
                rows.append((
                    ids[record.key], previous.get(record.key, 0) + 1, action, record.slug, record.document,
                    json.dumps(changed_fields(old, json.loads(record.document))).decode(), self.options.author,
                    self.now,
                ))  # fmt: skip
        insert_many(self.session, REVISIONS, REVISION_COLUMNS, rows)
