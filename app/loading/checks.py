"""The checks of a load: its index (app.loading.index) against the database, in the write
transaction and before anything is written. The outcome is a `Plan`: what each record becomes.

In order: references to records outside the input (in the database, by slug or a renamed record's
old slug), identifiers another record holds, cycles of place parents and larger events (followed
through the input and, past it, the database) - errors, all reported together; then what the
database holds of each record: new, changed, unchanged, or changed by an editor since it was loaded;
then events whose dates fall outside the larger event they are part of, either way round (a part of
the input outside its larger event, or an event of the input whose dates leave a part in the
database outside) - errors, reported together; then conflicts (a record an editor changed, unless
on_conflict says to skip or overwrite it), reported together.

Everything is looked up in chunks of 500 keys. The input is read again only on two rare paths: to
name the records and fields that refer to something missing, and to find links to a deleted record
that an import skips.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.dates import OPEN_END_JDN, OPEN_START_JDN, jdn_to_iso
from app.loading.index import NONE, TYPE_CODES, TYPES, ImportIndex, same_hash
from app.loading.records import SELF_REFERENCES, Issues, KeyList, LoadIssue, LoadOptions, LoadSummary
from app.loading.tables import IDENTIFIERS, RECORDS, REDIRECTS, TYPE_TABLES, chunks, next_record_id

# What a load does with each key (Plan.state). REFERRED: a key only referred to (in the database).
REFERRED, NEW, CHANGED, RESTORED, UNCHANGED, SKIPPED, SKIPPED_GONE = range(7)
# Conflicts: the record an editor renamed, deleted (overwriting it needs an admin key) or changed.
RENAMED, DELETED, DELETED_FOR_ADMIN, EDITED = range(7, 11)
WRITTEN = (NEW, CHANGED, RESTORED)
_EITHER = "; on_conflict=overwrite replaces it, on_conflict=skip keeps it"
CONFLICT_REASONS = {
    DELETED: "was deleted by an editor" + _EITHER,
    DELETED_FOR_ADMIN: "was deleted by an editor; bringing it back needs an admin key",
    EDITED: "was changed by an editor since it was loaded" + _EITHER,
}


class Plan:
    """What a load does, by key number (arrays the length of the index's keys): the state, the id
    (the database's, or the one a new record gets), the revision it is at, and whether its row of
    its own table exists (`ready`: a row may link to it). Per type (in TYPES order), how many records
    are written and where the last of them is."""

    def __init__(self, index: ImportIndex) -> None:
        self.index = index
        self.state = bytearray()
        self.ids = array("q")
        self.revision = array("l")
        self.ready = bytearray()
        self.renamed: dict[int, str] = {}  # key -> the slug an editor renamed it to
        self.pending = [0] * len(TYPES)
        self.end = [0] * len(TYPES)
        self.summary = LoadSummary()
        self.cover()

    def cover(self) -> None:
        """Grow the arrays to the index's keys (the cycle check adds keys it meets in the database)."""
        more = len(self.index.names) - len(self.state)
        self.state += bytes(more)
        self.ids.extend([0] * more)
        self.revision.extend([0] * more)
        self.ready += bytes(more)


def check(session: Session, index: ImportIndex, options: LoadOptions) -> Plan:
    """The plan of the load; raises LoadError (errors, or conflicts) before anything is written."""
    issues = index.issues.copy()  # with duplicates and identifiers given twice, found in pass 1
    if index.invalid:  # records that are not valid: nothing else is checked
        raise issues.error()
    plan = Plan(index)
    _find_referred(session, plan, issues)
    _check_identifiers(session, index, issues)
    for record_type, column in SELF_REFERENCES.items():
        _check_cycles(session, plan, record_type, column, issues)
    if issues:
        raise issues.error()
    conflicts = Issues()
    _find_existing(session, plan, options)
    _check_parts_within(session, plan, issues)
    if issues:
        raise issues.error()
    _name_conflicts(plan, conflicts)
    if conflicts:
        raise conflicts.error(conflict=True)
    _number(session, plan)
    return plan


def slug_ids(session: Session, record_type: str, slugs: Iterable[str]) -> dict[str, int]:
    """Ids of the live records of `record_type` with these slugs (or a renamed record's old slug)."""
    wanted = sorted(set(slugs))
    found: dict[str, int] = {}
    for chunk in chunks(wanted):
        rows = session.execute(
            select(RECORDS.c.slug, RECORDS.c.id).where(
                RECORDS.c.type == record_type, RECORDS.c.slug.in_(chunk), RECORDS.c.deleted_at.is_(None)
            )
        )
        found.update(dict(rows.all()))
    for chunk in chunks([slug for slug in wanted if slug not in found]):  # a renamed record's old slug names it
        rows = session.execute(
            select(REDIRECTS.c.slug, RECORDS.c.id)
            .join(RECORDS, RECORDS.c.id == REDIRECTS.c.record_id)
            .where(REDIRECTS.c.type == record_type, REDIRECTS.c.slug.in_(chunk), RECORDS.c.deleted_at.is_(None))
        )
        found.update(dict(rows.all()))
    return found


def _find_referred(session: Session, plan: Plan, issues: Issues) -> None:
    """The ids of the records outside the input that it refers to; an error for each reference to
    a record neither in the input nor in the database."""
    index = plan.index
    wanted: dict[str, dict[str, int]] = {}  # type -> slug -> key
    for key, defined in enumerate(index.defined_by):
        if defined == NONE:
            record_type, slug = index.names[key].split("/", 1)
            wanted.setdefault(record_type, {})[slug] = key
    missing = False
    for record_type, keys in wanted.items():
        found = slug_ids(session, record_type, keys)
        missing = missing or len(found) < len(keys)
        for slug, record_id in found.items():
            key = keys[slug]
            plan.ids[key], plan.ready[key] = record_id, 1
    if not missing:
        return
    # The error path: read the input again to name each record and field that refers to one.
    for position, record in index.source.read(lambda _position: True, len(index)):
        for field_name, ref in record.references:
            key = index.numbers[ref.name]
            if index.defined_by[key] == NONE and not plan.ids[key]:
                reason = f"no {ref.type} with slug {ref.slug!r} in the input or the database"
                issues.add(LoadIssue(position, record.describe(), field_name, reason))


def _check_identifiers(session: Session, index: ImportIndex, issues: Issues) -> None:
    """An external identifier names one record: not one another record holds in the database (two
    records of the input were found in pass 1)."""
    by_scheme: dict[str, list[str]] = {}
    for name in index.identifiers:
        scheme, value = name.split(":", 1)
        by_scheme.setdefault(scheme, []).append(value)
    for scheme, values in by_scheme.items():
        for chunk in chunks(values):
            rows = session.execute(
                select(IDENTIFIERS.c.value, RECORDS.c.type, RECORDS.c.slug)
                .join(RECORDS, RECORDS.c.id == IDENTIFIERS.c.record_id)
                .where(IDENTIFIERS.c.scheme == scheme, IDENTIFIERS.c.value.in_(chunk))
            )
            for value, owner_type, owner_slug in rows:
                position = index.identifiers[f"{scheme}:{value}"]
                if f"{owner_type}/{owner_slug}" != index.names[index.record_key[position]]:
                    reason = f"{value} already identifies {owner_type} {owner_slug!r}"
                    issues.add(LoadIssue(position, index.describe(position), f"identifiers.{scheme}", reason))


# The marks of the cycle check, by key: not yet met, on the chain being followed, leads nowhere
# wrong, on or into a cycle.
UNSEEN, ON_CHAIN, CLEAR, CYCLIC = range(4)


def _check_cycles(session: Session, plan: Plan, record_type: str, column: str, issues: Issues) -> None:
    """A place may not end up within itself, nor an event part of itself: the chain of parents is
    followed through the input and, past it, through the database. Each key is visited once: a
    chain stops at a key whose fate is known."""
    index = plan.index
    code = TYPE_CODES[record_type]
    starts = [i for i, parent in enumerate(index.parent) if parent != NONE and index.record_type[i] == code]
    if not starts:
        return
    outside = _parents_in_database(session, index, record_type, column, {index.parent[i] for i in starts})
    plan.cover()

    def parent_of(key: int) -> int:
        defined = index.defined_by[key]
        return index.parent[defined] if defined != NONE else outside.get(key, NONE)

    mark = bytearray(len(index.names))
    through: dict[int, int] = {}  # a key on or into a cycle -> the first key its chain meets twice
    for start in starts:
        chain: list[int] = []
        key = index.record_key[start]
        while key != NONE and mark[key] == UNSEEN:
            mark[key] = ON_CHAIN
            chain.append(key)
            key = parent_of(key)
        if key == NONE or mark[key] == CLEAR:
            for link in chain:
                mark[link] = CLEAR
            continue
        if mark[key] == ON_CHAIN:  # a new cycle: the keys from `key` on are on it, each met twice first
            at = chain.index(key)
            for link in chain[at:]:
                through[link], mark[link] = link, CYCLIC
            entry, chain = key, chain[:at]
        else:  # into a cycle found before: the key it meets twice first is the one `key` meets
            entry = through[key]
        for link in chain:
            through[link], mark[link] = entry, CYCLIC
    for start in starts:
        key = index.record_key[start]
        if mark[key] == CYCLIC:
            reason = f"forms a cycle through {index.key(through[key]).slug!r}"
            issues.add(LoadIssue(start, index.describe(start), column.removesuffix("_id"), reason))


def _parents_in_database(
    session: Session, index: ImportIndex, record_type: str, column: str, keys: set[int]
) -> dict[int, int]:
    """key -> its parent's key, for the keys outside the input that chains from `keys` reach, from
    the database (level by level, in chunks)."""
    table = TYPE_TABLES[record_type]
    parent = RECORDS.alias("parent")
    found: dict[int, int] = {}
    frontier = sorted(key for key in keys if index.defined_by[key] == NONE)
    while frontier:
        reached: list[int] = []
        for chunk in chunks(frontier):
            for key in chunk:
                found[key] = NONE
            rows = session.execute(
                select(RECORDS.c.slug, parent.c.slug)
                .select_from(RECORDS.join(table, table.c.id == RECORDS.c.id))
                .join(parent, parent.c.id == table.c[column])
                .where(RECORDS.c.type == record_type, RECORDS.c.slug.in_([index.key(k).slug for k in chunk]))
            )
            for slug, parent_slug in rows:
                above = index.key_number(f"{record_type}/{parent_slug}")
                found[index.numbers[f"{record_type}/{slug}"]] = above
                if index.defined_by[above] == NONE and above not in found:
                    reached.append(above)
        frontier = sorted(set(reached))
    return found


def _find_existing(session: Session, plan: Plan, options: LoadOptions) -> None:
    """What the database holds of each record of the input, and so what the load does with it."""
    index = plan.index
    by_type: list[list[int]] = [[] for _ in TYPES]
    for key, code in zip(index.record_key, index.record_type, strict=True):
        by_type[code].append(key)
    for code, record_type in enumerate(TYPES):
        start = len(record_type) + 1  # names are "type/slug"
        for chunk in chunks(by_type[code]):
            slugs = {index.names[key][start:]: key for key in chunk}
            rows = session.execute(
                select(
                    RECORDS.c.slug, RECORDS.c.id, RECORDS.c.content_hash, RECORDS.c.revision,
                    RECORDS.c.deleted_at.is_not(None), RECORDS.c.edited_at.is_not(None),
                ).where(RECORDS.c.type == record_type, RECORDS.c.slug.in_(list(slugs)))
            )  # fmt: skip
            for slug, record_id, content_hash, revision, deleted, edited in rows:
                key = slugs.pop(slug)
                plan.ids[key], plan.revision[key] = record_id, revision
                _decide(plan, key, content_hash, bool(deleted), bool(edited), options)
            _find_renamed(session, plan, record_type, slugs, options)


def _decide(plan: Plan, key: int, content_hash: str | None, deleted: bool, edited: bool, options: LoadOptions) -> None:
    """The state of a record the database holds: unchanged (same content), a conflict (an editor
    changed or deleted it since it was loaded) or skipped, or changed (or brought back)."""
    index, position = plan.index, plan.index.defined_by[key]
    state: int
    if not deleted and (
        same_hash(index.content_hash(position), content_hash) or same_hash(index.legacy_hash(position), content_hash)
    ):
        state = UNCHANGED
    elif (deleted or edited) and (options.on_conflict != "overwrite" or (deleted and not options.restore_deleted)):
        if options.on_conflict == "skip":
            state = SKIPPED_GONE if deleted else SKIPPED
        elif deleted:
            state = DELETED_FOR_ADMIN if options.on_conflict == "overwrite" else DELETED
        else:
            state = EDITED
    else:
        state = RESTORED if deleted else CHANGED
    plan.state[key] = state
    plan.ready[key] = state in (UNCHANGED, SKIPPED, CHANGED)  # its row of its own table is there


def _find_renamed(session: Session, plan: Plan, record_type: str, slugs: dict[str, int], options: LoadOptions) -> None:
    """Records the database does not hold under their slug: new, unless the slug is a renamed
    record's old slug (an editor renamed it: never a second record)."""
    for key in slugs.values():
        plan.state[key] = NEW
    if not slugs:
        return
    rows = session.execute(
        select(REDIRECTS.c.slug, RECORDS.c.slug, RECORDS.c.id, RECORDS.c.deleted_at.is_not(None))
        .join(RECORDS, RECORDS.c.id == REDIRECTS.c.record_id)
        .where(REDIRECTS.c.type == record_type, REDIRECTS.c.slug.in_(list(slugs)))
    )
    for old, current, record_id, deleted in rows:
        key = slugs[old]
        if options.on_conflict == "skip":  # the renamed record stays as the editor left it
            plan.state[key], plan.ids[key] = (SKIPPED_GONE if deleted else SKIPPED), record_id
            plan.ready[key] = not deleted
        else:
            plan.state[key], plan.renamed[key] = RENAMED, str(current)


EVENTS = TYPE_TABLES["event"]
# The states in which the database keeps its own version of a record, not the input's.
KEPT = (REFERRED, SKIPPED, SKIPPED_GONE)
# The states of a record of the input that the database holds, with its parts (conflicts included:
# written if the load is run again with on_conflict=overwrite).
STORED = (CHANGED, RESTORED, EDITED, DELETED, DELETED_FOR_ADMIN)


def _days(bounds: tuple[int, int]) -> str:
    first, last = bounds
    start = ".." if first <= OPEN_START_JDN else jdn_to_iso(first)
    end = ".." if last >= OPEN_END_JDN else jdn_to_iso(last)
    return start if start == end else f"{start} to {end}"


def _within(part: tuple[int, int], whole: tuple[int, int]) -> bool:
    return whole[0] <= part[0] and part[1] <= whole[1]


def _check_parts_within(session: Session, plan: Plan, issues: Issues) -> None:
    """A part's days (min_jdn to max_jdn) lie within its larger event's: the order of a deportation
    is not dated before the deportation. Checked both ways, as the records will be once written: an
    event of the input against its larger event (of the input, else the database's), and an event of
    the input that the database holds against its parts in the database that the load does not
    rewrite. The database's own version counts for a record the load keeps (on_conflict=skip).
    Nothing here grows with the input beyond its parts: the events the database holds are looked up
    500 at a time."""
    index = plan.index
    code = TYPE_CODES["event"]

    def from_input(key: int) -> bool:
        return index.defined_by[key] != NONE and plan.state[key] not in KEPT

    parts = [
        i for i, parent in enumerate(index.parent)
        if parent != NONE and index.record_type[i] == code and from_input(index.record_key[i])
    ]  # fmt: skip
    stored = _stored_bounds(session, {plan.ids[index.parent[i]] for i in parts if not from_input(index.parent[i])})
    for position in parts:
        parent = index.parent[position]
        if plan.state[parent] == SKIPPED_GONE:  # deleted, and kept so: a conflict (_name_conflicts)
            continue
        whole = index.event_bounds(index.defined_by[parent]) if from_input(parent) else stored.get(plan.ids[parent])
        part = index.event_bounds(position)
        if whole is not None and not _within(part, whole):
            reason = (
                f"its days ({_days(part)}) are not within those of the event it is part of, "
                f"{index.key(parent).slug!r} ({_days(whole)}); a part's dates must lie within its larger event's "
                "(days in the Gregorian calendar)"
            )
            issues.add(LoadIssue(position, index.describe(position), "date", reason))
    wholes: dict[int, int] = {}  # id -> position, for an event of the input that the database holds
    for position, record_type in enumerate(index.record_type):
        if record_type == code and plan.state[index.record_key[position]] in STORED:
            wholes[plan.ids[index.record_key[position]]] = position
            if len(wholes) == 500:
                _check_stored_parts(session, plan, wholes, from_input, issues)
                wholes = {}
    if wholes:
        _check_stored_parts(session, plan, wholes, from_input, issues)


def _check_stored_parts(
    session: Session, plan: Plan, wholes: dict[int, int], from_input: Callable[[int], bool], issues: Issues
) -> None:
    """The parts the database holds of these events (id -> position in the input), against the
    events' new dates; not the parts the load rewrites (checked as parts of the input)."""
    index = plan.index
    rows = session.execute(
        select(EVENTS.c.part_of_id, RECORDS.c.slug, EVENTS.c.date_min_jdn, EVENTS.c.date_max_jdn)
        .join(RECORDS, RECORDS.c.id == EVENTS.c.id)
        .where(EVENTS.c.part_of_id.in_(sorted(wholes)), RECORDS.c.deleted_at.is_(None))
        .order_by(EVENTS.c.part_of_id, RECORDS.c.slug)
    )
    for whole_id, slug, first, last in rows:
        part_key = index.numbers.get(f"event/{slug}")
        if part_key is not None and from_input(part_key):
            continue
        position = wholes[whole_id]
        whole = index.event_bounds(position)
        if not _within((first, last), whole):
            reason = (
                f"its days ({_days(whole)}) leave its part {slug!r} ({_days((first, last))}) outside; a part's "
                "dates must lie within its larger event's: change the part's dates or its part_of first "
                "(days in the Gregorian calendar)"
            )
            issues.add(LoadIssue(position, index.describe(position), "date", reason))


def _stored_bounds(session: Session, ids: set[int]) -> dict[int, tuple[int, int]]:
    """id -> the first and last day of each of these events, as the database holds them."""
    found: dict[int, tuple[int, int]] = {}
    for chunk in chunks(sorted(i for i in ids if i)):
        rows = session.execute(
            select(EVENTS.c.id, EVENTS.c.date_min_jdn, EVENTS.c.date_max_jdn).where(EVENTS.c.id.in_(chunk))
        )
        found.update((record_id, (first, last)) for record_id, first, last in rows)
    return found


def _name_conflicts(plan: Plan, conflicts: Issues) -> None:
    """A conflict for each record an editor changed, deleted or renamed (unless skipped), and for each
    link from a record written to a deleted one that stays deleted (skipped)."""
    index = plan.index
    gone = False
    for position, key in enumerate(index.record_key):
        state = plan.state[key]
        gone = gone or state == SKIPPED_GONE
        if state == RENAMED:
            reason = f"was renamed {plan.renamed[key]!r} by an editor: import it under that slug"
            conflicts.add(LoadIssue(position, index.describe(position), "slug", reason))
        elif state in CONFLICT_REASONS:
            conflicts.add(LoadIssue(position, index.describe(position), "(record)", CONFLICT_REASONS[state]))
    if not gone:
        return
    # Rare (on_conflict=skip, and a record of the input was deleted): read the input again for links to it.
    for position, record in index.source.read(lambda i: plan.state[index.record_key[i]] in WRITTEN, len(index)):
        for field_name, ref in record.references:
            if plan.state[index.numbers[ref.name]] == SKIPPED_GONE:
                reason = f"{ref.type} {ref.slug!r} was deleted by an editor and is skipped (on_conflict=skip)"
                conflicts.add(LoadIssue(position, record.describe(), field_name, reason))


def _number(session: Session, plan: Plan) -> None:
    """Ids for the new records (the first free id, then in input order), what is written of each
    type, and the summary."""
    index = plan.index
    first = next_record_id(session) if NEW in plan.state else 0
    outcomes: dict[int, array[int]] = {state: array("l") for state in (NEW, CHANGED, SKIPPED)}
    unchanged = 0
    for position, (key, code) in enumerate(zip(index.record_key, index.record_type, strict=True)):
        state = plan.state[key]
        if state == NEW:
            plan.ids[key] = first + len(outcomes[NEW])
        if state in WRITTEN:
            plan.pending[code] += 1
            plan.end[code] = position + 1
        if state == UNCHANGED:
            unchanged += 1
        else:
            outcomes[{RESTORED: CHANGED, SKIPPED_GONE: SKIPPED}.get(state, state)].append(key)
    names = index.names
    plan.summary = LoadSummary(
        KeyList(names, outcomes[NEW]), KeyList(names, outcomes[CHANGED]), unchanged, KeyList(names, outcomes[SKIPPED])
    )
