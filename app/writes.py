"""Editors' writes to one record: create, replace, patch, rename, delete, restore.

Each function runs inside the caller's write transaction (BEGIN IMMEDIATE on SQLite: it holds the
write lock from its first statement, so the revision it checks is the revision it replaces) and
goes through the loader, the product's one write path, so that validation, references, full text,
the revision history and the data version behave as for an import. A write refused is raised as an
app.domain_errors exception (app.errors answers it), and the caller's transaction is then rolled
back: nothing is half written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from app import json
from app.domain_errors import (
    DomainError,
    InvalidRecord,
    NotARecord,
    NotDeleted,
    NothingToRestore,
    PreconditionRequired,
    RecordConflicts,
    RecordGone,
    RecordNotFound,
    RecordRenamed,
    RevisionMatched,
    RevisionMismatch,
    SlugTaken,
    StillLinked,
    UnlinkRefused,
)
from app.etags import revision_of
from app.export import SessionFetch, record_documents
from app.loader import (
    LINK_COLUMNS,
    RECORDS,
    REDIRECTS,
    REVISION_COLUMNS,
    REVISIONS,
    Existing,
    LoadError,
    LoadIssue,
    LoadOptions,
    RecordIn,
    Ref,
    bump_data_version,
    documents_before,
    insert_many,
    load_prepared,
    load_records,
    prepare_one,
    validate,
)
from app.loading.tables import TYPE_TABLES
from app.models import utcnow, with_article
from app.record_types import Link
from app.registry import COMMON_LINKS, TYPES


class Current:
    """The live or deleted record behind (type, slug), read inside the write transaction."""

    def __init__(self, session: Session, record_type: str, slug: str) -> None:
        row = session.execute(
            select(RECORDS.c.id, RECORDS.c.revision, RECORDS.c.deleted_at.is_not(None)).where(
                RECORDS.c.type == record_type, RECORDS.c.slug == slug
            )
        ).first()
        if row is None:
            moved = session.execute(
                select(RECORDS.c.slug)
                .join(REDIRECTS, REDIRECTS.c.record_id == RECORDS.c.id)
                .where(REDIRECTS.c.type == record_type, REDIRECTS.c.slug == slug)
            ).scalar()
            if moved is not None:
                raise RecordRenamed(record_type, slug, moved)
            raise RecordNotFound(record_type, slug)
        self.type, self.slug = record_type, slug
        self.id, self.revision, self.deleted = int(row[0]), int(row[1]), bool(row[2])

    def live(self) -> Current:
        if self.deleted:
            raise RecordGone(self.type, self.slug)
        return self

    def check(self, if_match: str | None, if_none_match: str | None = None) -> Current:
        """If-Match must name the current revision (its ETag): PreconditionRequired without it,
        RevisionMismatch when stale. If-None-Match must not (RFC 9110 13.1.2): `*`, or a tag naming the
        current revision, is RevisionMatched whatever If-Match says."""
        if if_match is None:
            raise PreconditionRequired(self.type, self.slug)
        tags = [tag.strip() for tag in if_match.split(",")]  # strong comparison: a W/ tag never matches
        if tags != ["*"] and self.revision not in map(revision_of, tags):
            raise RevisionMismatch(self.type, self.slug, self.revision, if_match)
        if if_none_match is not None:
            tags = [tag.strip() for tag in if_none_match.split(",")]  # weak comparison: W/ is ignored
            if tags == ["*"] or self.revision in (revision_of(tag.removeprefix("W/")) for tag in tags):
                raise RevisionMatched(self.type, self.slug, self.revision)
        return self

    def document(self, session: Session) -> dict[str, Any]:
        """The record's current document, read back from its rows: links name the linked records by
        their slugs now (a stored revision may name one by a slug it has since been renamed from)."""
        return record_documents(SessionFetch(session), [self.id])[self.id]

    def keep_unrecorded(self, session: Session) -> None:
        """A snapshot of the record as it is, if its current revision has no history row yet."""
        documents_before(session, [Existing(self.id, None, self.revision, self.deleted, False)], utcnow())


def _typed(record_type: str, body: Any) -> dict[str, Any]:
    """The body as a record document of `record_type` (`type` may be left out: the URL says it)."""
    if not isinstance(body, dict):
        raise NotARecord(
            f"the body must be a JSON object ({with_article(record_type)} record), not {type(body).__name__}"
        )
    document: dict[str, Any] = {"type": record_type, **body}
    if document["type"] != record_type:
        reason = f"this URL takes {record_type} records, not {_shown(document['type'])}"
        raise InvalidRecord([LoadIssue(None, record_type, "type", reason)])
    return document


def _shown(value: Any) -> str:
    """A value from a body, for a message: a string or a number (shortened), else what it is - never
    the repr of an array or object, which may be large (or nest deep enough to exhaust the stack)."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _refused(errors: list[LoadIssue], *, conflict: bool = False) -> DomainError:
    """The record is invalid (its fields named), or, when the document is not the client's own (a
    restore), it conflicts with the data as it is now."""
    return RecordConflicts(LoadError(errors, conflict=True)) if conflict else InvalidRecord(errors)


def _load(session: Session, record: RecordIn, author: str, action: str = "update") -> None:
    """Write one validated record through the loader (it is not validated again). A record that does
    not fit the data (a reference to nothing) is invalid, its fields named; when the document is not
    the client's (a restore), it conflicts with the data as it is now."""
    options = LoadOptions(author=author, edited=True, on_conflict="overwrite", rewrite=action)
    try:
        load_prepared(session, [prepare_one(record)], None, options)
    except LoadError as exc:
        raise _refused(exc.errors, conflict=exc.conflict or action == "restore") from None


def _validated(document: dict[str, Any], *, conflict: bool = False) -> RecordIn:
    """The document as its record model, once valid (else refused, naming its fields): checked before
    its slug is looked up or taken, so that no slug the format refuses (a NUL, past varchar(100))
    ever reaches the database. The one validation of an editor's write: the loader takes the model."""
    records, errors = validate([document])
    if errors:
        raise _refused(errors, conflict=conflict)
    return records[0]


def create(session: Session, record_type: str, body: Any, author: str) -> str:
    """A new record; SlugTaken when the slug is taken (by a live or a deleted record)."""
    record = _validated(_typed(record_type, body))
    slug = record.slug
    taken = session.execute(
        select(RECORDS.c.deleted_at.is_not(None)).where(RECORDS.c.type == record_type, RECORDS.c.slug == slug)
    ).first()
    if taken is not None:
        raise SlugTaken(record_type, slug, deleted=bool(taken[0]))
    # A new record may take a renamed record's old slug: the new record wins it.
    session.execute(delete(REDIRECTS).where(REDIRECTS.c.type == record_type, REDIRECTS.c.slug == slug))
    _load(session, record, author)
    return slug


def replace(
    session: Session,
    record_type: str,
    slug: str,
    body: Any,
    if_match: str | None,
    author: str,
    *,
    if_none_match: str | None = None,
) -> str:
    """The whole record replaced (PUT); a different `slug` in the body renames it."""
    current = Current(session, record_type, slug).live().check(if_match, if_none_match)
    document = _typed(record_type, body)
    document.setdefault("slug", slug)
    return _rewrite(session, current, document, author)


def patch(
    session: Session,
    record_type: str,
    slug: str,
    body: Any,
    if_match: str | None,
    author: str,
    *,
    if_none_match: str | None = None,
) -> str:
    """Fields changed by a JSON merge patch (RFC 7396) of the current document (PATCH)."""
    current = Current(session, record_type, slug).live().check(if_match, if_none_match)
    if not isinstance(body, dict):
        raise NotARecord(f"a merge patch is a JSON object, not {type(body).__name__}")
    document = merge_patch(current.document(session), body)
    return _rewrite(session, current, _typed(record_type, document), author)


MAX_PATCH_DEPTH = 16  # a record document nests 3 deep; deeper patches are not records


def merge_patch(target: Any, patch: Any, depth: int = 0) -> Any:
    """RFC 7396: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    if depth > MAX_PATCH_DEPTH:
        raise NotARecord(f"the merge patch nests deeper than {MAX_PATCH_DEPTH} objects: it is not a record")
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value, depth + 1)
    return result


def _rewrite(session: Session, current: Current, document: dict[str, Any], author: str) -> str:
    record = _validated(document)
    if record.slug != current.slug:
        current.keep_unrecorded(session)  # before the rename: the snapshot keeps the old slug
        _rename(session, current, record.slug)
    _load(session, record, author)
    return record.slug


def _rename(session: Session, current: Current, new_slug: str) -> None:
    """The record takes `new_slug`; its old slug answers 301 to it from now on."""
    taken = session.execute(
        select(RECORDS.c.id).where(RECORDS.c.type == current.type, RECORDS.c.slug == new_slug)
    ).first()
    if taken is not None:
        raise SlugTaken(current.type, new_slug, renaming=True)
    session.execute(update(RECORDS).where(RECORDS.c.id == current.id).values(slug=new_slug))
    # The new slug stops redirecting; the old one now redirects here (replacing a redirect it kept
    # from an earlier record that had it).
    for slug in (new_slug, current.slug):
        session.execute(delete(REDIRECTS).where(REDIRECTS.c.type == current.type, REDIRECTS.c.slug == slug))
    session.execute(insert(REDIRECTS).values(type=current.type, slug=current.slug, record_id=current.id))


# --- deletion ------------------------------------------------------------------------------------------


def _referrers_sql() -> dict[str, list[str]]:
    """For each type, the statements giving the ids of the records that link to one of its records
    (bound as :id): from the registry's references and links."""
    found: dict[str, list[str]] = {name: [] for name in TYPES}
    for record_type in TYPES.values():
        for reference in record_type.references:
            found[reference.target].append(f"SELECT id FROM {record_type.table} WHERE {reference.column} = :id")
        for link in (*record_type.links, *COMMON_LINKS):
            if link.refers_to:
                sql = f"SELECT {link.owner} FROM {link.table} WHERE {link.reference_column} = :id"
                if sql not in found[link.refers_to]:  # the common links, once
                    found[link.refers_to].append(sql)
    return found


REFERRERS = _referrers_sql()


def referrers(session: Session, current: Current) -> list[tuple[int, str, str]]:
    """(id, type, slug) of the live records that link to `current`."""
    ids: set[int] = set()
    for sql in REFERRERS[current.type]:
        ids.update(int(row[0]) for row in session.execute(text(sql), {"id": current.id}))
    ids.discard(current.id)
    if not ids:
        return []
    rows = session.execute(
        select(RECORDS.c.id, RECORDS.c.type, RECORDS.c.slug)
        .where(RECORDS.c.id.in_(sorted(ids)))
        .order_by(RECORDS.c.type, RECORDS.c.slug)
    )
    return [(int(i), str(t), str(s)) for i, t, s in rows]


def _without_references(document: dict[str, Any], target: Ref) -> dict[str, Any]:
    """The document with every reference to `target` removed."""
    document = dict(document)
    record_type = TYPES[document["type"]]
    for reference in record_type.references:
        if reference.target == target.type and document.get(reference.field) == target.slug:
            del document[reference.field]
    for link in (*record_type.links, *COMMON_LINKS):
        if link.refers_to == target.type and link.field in document:
            document[link.field] = [item for item in document[link.field] if _named(link, item) != target.slug]
    return document


def _named(link: Link, item: Any) -> Any:
    """The slug of the record an item of a link that refers to records names."""
    return item if link.keys is None else item.get(link.keys[0])


def remove(
    session: Session,
    record_type: str,
    slug: str,
    if_match: str | None,
    author: str,
    *,
    unlink: bool = False,
    if_none_match: str | None = None,
) -> None:
    """Delete a record: StillLinked naming the records that link to it, unless `unlink` removes those links
    first (each linking record gets a new revision). The deleted record keeps its `records` row as a
    tombstone (RecordGone) and its history; its own rows and links go (app/models.py)."""
    current = Current(session, record_type, slug).live().check(if_match, if_none_match)
    linking = referrers(session, current)
    if linking and not unlink:
        raise StillLinked(record_type, slug, [(t, s) for _i, t, s in linking])
    if linking:
        documents = record_documents(SessionFetch(session), [i for i, _t, _s in linking])
        target = Ref(record_type, slug)
        try:
            load_records(
                session, [_without_references(documents[i], target) for i, _t, _s in linking],
                LoadOptions(author=author, edited=True, on_conflict="overwrite"),
            )  # fmt: skip
        except LoadError as exc:
            raise UnlinkRefused(record_type, slug, exc) from None
    before = current.document(session)
    current.keep_unrecorded(session)  # what is deleted stays in the history
    now = utcnow()
    for table, columns in LINK_COLUMNS.values():
        session.execute(delete(table).where(table.c[columns[0]] == current.id))
    model_table = TYPE_TABLES[record_type]
    session.execute(delete(model_table).where(model_table.c.id == current.id))
    session.execute(
        update(RECORDS)
        .where(RECORDS.c.id == current.id)
        .values(deleted_at=now, updated_at=now, edited_at=now, revision=current.revision + 1)
    )
    insert_many(session, REVISIONS, REVISION_COLUMNS, [(
        current.id, current.revision + 1, "delete", slug, None, json.dumps(sorted(before)).decode(), author, now,
    )])  # fmt: skip
    bump_data_version(session, now)


def restore(session: Session, record_type: str, slug: str, revision: int | None, author: str) -> str:
    """Bring back a deleted record (its last content), or an earlier revision of a live one, as a new
    revision. The record keeps its current slug."""
    current = Current(session, record_type, slug)
    query = select(REVISIONS.c.revision, REVISIONS.c.document).where(
        REVISIONS.c.record_id == current.id, REVISIONS.c.document.is_not(None)
    )
    if revision is not None:
        query = query.where(REVISIONS.c.revision == revision)
    found = session.execute(query.order_by(REVISIONS.c.revision.desc()).limit(1)).first()
    if found is None:
        raise NothingToRestore(record_type, slug, revision)
    if not current.deleted and revision is None:
        raise NotDeleted(record_type, slug)
    document = {**json.loads(found[1]), "slug": slug}
    _load(session, _validated(document, conflict=True), author, action="restore")
    return slug
