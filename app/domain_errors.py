"""What the layers below the routers refuse, or cannot do now, said in the domain's words.

Each exception carries what happened and the data an answer needs (the record, its revision, the
fields at fault, the records that link to it), never an HTTP status, header or URL: app.errors maps
each one to its status, title and problem+json body, in one place (`problem_for`). A module of its
own, not a section of app.errors, so that the loader, the queries and app.db raise these without
importing the HTTP layer (FastAPI, Starlette, the problem shape): this module imports nothing of the
app. tests/test_errors.py checks that no module below the routers imports app.errors' Problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.loading.records import LoadError, LoadIssue


class DomainError(Exception):
    """Something asked of the domain that it refuses, or cannot do now (app.errors answers it)."""


# --- a record, by type and slug ------------------------------------------------------------------------


class RecordNotFound(DomainError):
    """No record of this type has this slug, nor ever had it."""

    def __init__(self, record_type: str, slug: str) -> None:
        super().__init__(f"there is no {record_type} {slug!r}")
        self.record_type, self.slug = record_type, slug


class RecordRenamed(DomainError):
    """The slug is a record's old one: it is `current_slug` now. A write names the record by its
    current slug (it is not redirected, as a read is)."""

    def __init__(self, record_type: str, slug: str, current_slug: str) -> None:
        super().__init__(f"the {record_type} {slug!r} was renamed {current_slug!r}")
        self.record_type, self.slug, self.current_slug = record_type, slug, current_slug


class RecordGone(DomainError):
    """The record was deleted: it is a tombstone with a history, which a restore brings back."""

    def __init__(self, record_type: str, slug: str) -> None:
        super().__init__(f"the {record_type} {slug!r} was deleted")
        self.record_type, self.slug = record_type, slug


class SlugTaken(DomainError):
    """Another record of the type has the slug (`deleted`: a deleted one, which keeps it), so a record
    cannot be created with it, or (`renaming`) renamed to it."""

    def __init__(self, record_type: str, slug: str, *, deleted: bool = False, renaming: bool = False) -> None:
        super().__init__(f"a {record_type} has the slug {slug!r}")
        self.record_type, self.slug, self.deleted, self.renaming = record_type, slug, deleted, renaming


class StillLinked(DomainError):
    """The record cannot be deleted while other live records link to it: `linking`, (type, slug) of
    each, in order of type and slug."""

    def __init__(self, record_type: str, slug: str, linking: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(linking)} record(s) link to the {record_type} {slug!r}")
        self.record_type, self.slug, self.linking = record_type, slug, linking


class UnlinkRefused(DomainError):
    """The links to a record being deleted cannot be removed from every record that has them: the
    loader refused the linking records without them (`refusal`)."""

    def __init__(self, record_type: str, slug: str, refusal: LoadError) -> None:
        super().__init__(f"the links to the {record_type} {slug!r} cannot be removed: {refusal}")
        self.record_type, self.slug, self.refusal = record_type, slug, refusal


# --- the revision a write changes --------------------------------------------------------------------


class PreconditionRequired(DomainError):
    """A write must name the revision it changes (so that it never overwrites a change it has not seen)."""

    def __init__(self, record_type: str, slug: str) -> None:
        super().__init__(f"the write to the {record_type} {slug!r} names no revision")
        self.record_type, self.slug = record_type, slug


class RevisionMismatch(DomainError):
    """The write is for another revision (`named`, as the client gave it) than the record's current one."""

    def __init__(self, record_type: str, slug: str, revision: int, named: str) -> None:
        super().__init__(f"the {record_type} {slug!r} is at revision {revision}, not {named}")
        self.record_type, self.slug, self.revision, self.named = record_type, slug, revision, named


class RevisionMatched(DomainError):
    """The write is only for a record that is not as it is now (If-None-Match names its current revision)."""

    def __init__(self, record_type: str, slug: str, revision: int) -> None:
        super().__init__(f"the {record_type} {slug!r} is at the revision ({revision}) the write excludes")
        self.record_type, self.slug, self.revision = record_type, slug, revision


# --- the document written ----------------------------------------------------------------------------


class NotARecord(DomainError):
    """What was given cannot be a record document at all (not an object, nested too deep): `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidRecord(DomainError):
    """The record document fails the format, or refers to records that do not exist: `issues`, a field each."""

    def __init__(self, issues: list[LoadIssue]) -> None:
        super().__init__("the record cannot be written: " + ", ".join(issue.field for issue in issues[:10]))
        self.issues = issues


class RecordConflicts(DomainError):
    """The record, not the client's own document (a restored revision, say), conflicts with the data
    as it is now: the loader's `refusal` names each field."""

    def __init__(self, refusal: LoadError) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class NothingToRestore(DomainError):
    """The record has no revision with content (or not the one named: `revision`) to restore."""

    def __init__(self, record_type: str, slug: str, revision: int | None) -> None:
        super().__init__(f"the {record_type} {slug!r} has no revision {revision or ''} to restore")
        self.record_type, self.slug, self.revision = record_type, slug, revision


class NotDeleted(DomainError):
    """A restore without a revision brings back a deleted record; this one is live."""

    def __init__(self, record_type: str, slug: str) -> None:
        super().__init__(f"the {record_type} {slug!r} is not deleted")
        self.record_type, self.slug = record_type, slug


# --- a read's parameters and limits -------------------------------------------------------------------


class BadParameter(DomainError):
    """One parameter of a request cannot be used as given (a cursor from elsewhere, a malformed text
    query): `where` it was given (query, path, header or body) and the `reason`, in words."""

    def __init__(self, name: str, reason: str, *, where: str = "query") -> None:
        super().__init__(f"{where} parameter {name!r}: {reason}")
        self.name, self.reason, self.where = name, reason, where


class QueryTooSlow(DomainError):
    """A read query ran past the time limit (`limit_ms`) and was stopped: retry later, or ask for less."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(f"the query ran longer than the {limit_ms:,} ms limit and was stopped")
        self.limit_ms = limit_ms


class BusyWithLongRequests(DomainError):
    """Every thread for reads off the event loop stayed busy for as long as a request may wait for one."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(f"no thread was free for long requests within {waited_seconds:g} s")
        self.waited_seconds = waited_seconds
