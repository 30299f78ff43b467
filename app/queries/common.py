"""Keyset pagination, capped totals and small SQL helpers shared by the resource queries."""

from __future__ import annotations

import binascii
import dataclasses
import functools
import hashlib
import hmac
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.sql import CompoundSelect

from app import json
from app.dates import year_bounds
from app.db import ReadConnection
from app.domain_errors import BadParameter

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Statement = Select[Any] | CompoundSelect[Any]
Row = TypeVar("Row")
Keyed = TypeVar("Keyed", bound="KeysetRow")


@dataclass(frozen=True, slots=True)
class Total:
    value: int
    exact: bool

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "relation": "eq" if self.exact else "gte"}


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: the last row's sort key and id, and the total counted on page 1.

    A cursor is signed (keyed BLAKE2b with the database's cursor key, app.routers.common.cursor_key), so
    that what it carries - above all the total, which no later page counts again - is what the API
    wrote: a forged total (`"value": 123456789, "relation": "eq"`) is refused, not repeated."""

    sort: str
    key: int | float | str | None
    id: int
    total: Total

    def encode(self, secret: bytes) -> str:
        raw = json.dumps([self.sort, self.key, self.id, self.total.value, self.total.exact])
        return f"{_b64(raw)}.{_b64(_tag(secret, raw))}"

    @classmethod
    def decode(cls, text: str, sort: str, secret: bytes) -> Cursor:
        body, _, tag = text.partition(".")
        try:
            raw = _unb64(body)
            if not hmac.compare_digest(_unb64(tag), _tag(secret, raw)):
                raise ValueError("not signed with this database's key")
            cursor_sort, key, last_id, total, exact = json.loads(raw)
            valid = (
                isinstance(cursor_sort, str)
                and _key_fits(cursor_sort, key)
                and isinstance(last_id, int)
                and not isinstance(last_id, bool)
                and isinstance(total, int)
                and isinstance(exact, bool)
                and abs(last_id) < 2**62
                and 0 <= total < 2**62
            )
        except (ValueError, TypeError, binascii.Error):
            valid = False
        if not valid:
            raise BadParameter("cursor", "not a cursor this API issued; use next_cursor from a previous page")
        if cursor_sort != sort:
            raise BadParameter("cursor", f"this cursor belongs to sort={cursor_sort}, not sort={sort}")
        return cls(cursor_sort, key, last_id, Total(total, exact))


CURSOR_KEY_SQL = "SELECT value FROM secrets WHERE name = 'cursor_key'"


def cursor_secret(db: ReadConnection) -> bytes:
    """The database's cursor key (made at random by migration 0011)."""
    row = db.one(CURSOR_KEY_SQL)
    if row is None:
        raise RuntimeError("the database has no cursor key: run `chronicle db upgrade`")
    return bytes.fromhex(str(row[0]))


CURSOR_TAG_BYTES = 12  # a 96-bit tag: no one guesses that (and the cursor stays short)


def _tag(secret: bytes, raw: bytes) -> bytes:
    # Keyed BLAKE2b is a MAC of its own (RFC 7693), without OpenSSL: ~0.6 us, where HMAC-SHA256 cost
    # 1.5-9 us a call (measured in the app, beside its other threads).
    return hashlib.blake2b(raw, key=secret, digest_size=CURSOR_TAG_BYTES).digest()


_URL_SAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URL_SAFE = bytes.maketrans(b"-_", b"+/")


def _b64(raw: bytes) -> str:
    """URL-safe base64 without padding (binascii directly: base64's wrappers cost twice as much)."""
    return binascii.b2a_base64(raw, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    data = text.encode("ascii").translate(_FROM_URL_SAFE)
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)


def _key_fits(sort: str, key: object) -> bool:
    """A cursor's key has its sort's type: a name or title is text, a rank or distance a number,
    revisions and changes page by id alone, and every date sort by day number (an integer)."""
    if sort in ("name", "title"):
        return isinstance(key, str) and "\x00" not in key
    if sort in ("rank", "distance"):
        return isinstance(key, int | float) and not isinstance(key, bool) and math.isfinite(key)
    if sort in ("revision", "seq"):
        return key is None
    return isinstance(key, int) and not isinstance(key, bool) and abs(key) < 2**62


@dataclass(frozen=True, slots=True)
class Page(Generic[Row]):
    rows: list[Row]
    next_cursor: Cursor | None  # encoded (signed) by the router: app.routers.common.encode_cursor
    total: Total


class KeysetRow(Protocol):
    """A row of a list paged by keyset (fetch_page): a NamedTuple of the list's columns, which knows its
    place in the list's order (`sort_key`: a name, a date's day number, a distance), for the cursor."""

    @property
    def sort_key(self) -> int | float | str: ...

    @property
    def id(self) -> int: ...


class PageStatement(Protocol):
    """A list's statement: its page in sort order (`ordered`), after the cursor's `:after_key` and
    `:after_id` when `after_cursor`, `LIMIT :limit`; or, not `ordered`, the ids of every match, to
    count. Called only when the statement is not compiled yet (ReadConnection.compiled)."""

    def __call__(self, after_cursor: bool, *, ordered: bool) -> Statement: ...


def fetch_page(
    db: ReadConnection,
    *,
    key: Hashable,
    statement: PageStatement,
    row: type[Keyed],
    params: Mapping[str, Any],
    limit: int,
    sort: str,
    cursor: Cursor | None,
    count_cap: int,
    counted_in_page: bool = False,
) -> Page[Keyed]:
    """One keyset page of `statement`'s rows, each a `row`; its statements are compiled once per `key`.

    One more row than the page is fetched to know whether a next page exists. The total is counted up
    to `count_cap` matches on the first page and carried in the cursor.

    `counted_in_page`: the statement must see every match anyway (to sort full-text matches by
    date, say), so it also returns their number as one more, last column (`count(*) OVER ()`):
    an exact total at no extra cost, instead of a second pass over the matches.
    """
    page_params = dict(params, limit=limit + 1)
    after_cursor = cursor is not None
    if cursor is not None:
        page_params.update(after_key=cursor.key, after_id=cursor.id)
    found = db.all(db.compiled((key, "page", after_cursor), lambda: statement(after_cursor, ordered=True)), page_params)
    if cursor is not None:
        total = cursor.total
    elif counted_in_page:
        total = Total(found[0][-1] if found else 0, True)
    else:
        total = count_matches(
            db, key=key, statement=statement, params=params, cap=count_cap, seen=len(found), limit=limit
        )
    # The NamedTuple made from the values as they are: tuple.__new__ is what its _make calls, less a
    # call and an argument check a row (0.1 us a row, from 0.16). (`row` is typed as a callable: a
    # protocol with `_make` would say so to mypy, which then refuses some NamedTuple classes.)
    new = tuple.__new__
    if counted_in_page:  # the number of matches, last, is not the row's
        rows = [new(row, values[:-1]) for values in found[:limit]]  # type: ignore[type-var]
    else:
        rows = [new(row, values) for values in found[:limit]]  # type: ignore[type-var]
    next_cursor = None
    if len(found) > limit:
        last = rows[-1]
        next_cursor = Cursor(sort, last.sort_key, last.id, total)
    return Page(rows, next_cursor, total)


def count_matches(
    db: ReadConnection,
    *,
    key: Hashable,
    statement: PageStatement,
    params: Mapping[str, Any],
    cap: int,
    seen: int,
    limit: int,
) -> Total:
    if seen <= limit:  # the whole result is on this page: no second query
        return Total(seen, True)
    if cap <= limit:
        return Total(limit + 1, False)
    return count_up_to(db, key=key, statement=statement, params=params, cap=cap)


def count_up_to(
    db: ReadConnection, *, key: Hashable, statement: PageStatement, params: Mapping[str, Any], cap: int
) -> Total:
    """How many rows `statement` matches, counted up to `cap` (then a lower bound)."""

    def build_count() -> Statement:
        matches = statement(False, ordered=False).limit(literal_column(str(cap + 1))).subquery()
        return select(func.count()).select_from(matches)

    row = db.one(db.compiled((key, "count", cap), build_count), params)
    value = int(row[0]) if row else 0
    return Total(min(value, cap), value <= cap)


def shape_of(filters: DataclassInstance) -> tuple[Hashable, ...]:
    """What decides the SQL text of a list's filters: with the list's name, the key its statements are
    compiled under (ReadConnection.compiled). Derived from the dataclass's fields, in order, so that a
    filter added to the dataclass is in the key without anyone remembering to put it there:

    - a field that is None (not given): None;
    - a bool (`descending`, `recorded_calendar`, `dated`): the value itself, since it changes the SQL
      (`dated` is None, False or True: three statements);
    - a value with its own `shape` (an Area: a circle or a box, across the antimeridian or not): that;
    - any other value: True. It is bound as a parameter, so only its presence changes the SQL.

    Two filter sets with the same shape must build the same SQL text: a filter whose *value* changes
    the SQL is a bool, or carries a `shape`."""
    return tuple([
        value if value is None or value.__class__ is bool
        else True if value.__class__ in _BOUND else getattr(value, "shape", True)
        for value in _field_values(type(filters))(filters)
    ])  # fmt: skip


# Values bound as parameters as they are (a year's day, a slug's id, a prefix): present or not, known
# without asking them for a `shape` (getattr with a default raises and catches inside: ~0.3 us each).
_BOUND = frozenset({int, str, float})


@functools.cache
def _field_values(cls: type[DataclassInstance]) -> Callable[[DataclassInstance], tuple[Any, ...]]:
    """A function giving a dataclass's field values as a tuple: one attrgetter call, not a loop."""
    names = [field.name for field in dataclasses.fields(cls)]
    if len(names) == 1:  # attrgetter of one name gives the value, not a 1-tuple
        return lambda instance: (getattr(instance, names[0]),)
    return attrgetter(*names)


def bound(values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a filter shape binds: the values that are set."""
    return {name: value for name, value in values.items() if value is not None}


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '\\', with the user's % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: ColumnElement[Any], param: Any) -> ColumnElement[bool]:
    """Case-insensitive (ASCII) on both engines: SQLite's LIKE is; PostgreSQL's ILIKE."""
    return column.ilike(param, escape="\\")


def alphabetical(
    columns: Sequence[ColumnElement[Any]],
    source: FromClause,
    conditions: Sequence[ColumnElement[bool]],
    *,
    name: ColumnElement[Any],
    row_id: ColumnElement[Any],
    after_cursor: bool,
    ordered: bool = True,
) -> Statement:
    """SELECT columns ... ORDER BY name, id with a keyset condition: the lists sorted by name or title."""
    where = list(conditions)
    if after_cursor:
        where.append(tuple_(name, row_id) > tuple_(bindparam("after_key"), bindparam("after_id")))
    if not ordered:  # counting: the ids alone, with no join that the conditions do not need
        return select(row_id).where(*where)
    return select(*columns).select_from(source).where(*where).order_by(name, row_id).limit(bindparam("limit"))


def year_range(first: int | None, last: int | None) -> tuple[int | None, int | None]:
    """Inclusive JDN bounds of the years [first, last]; either may be open."""
    return (
        year_bounds(first)[0] if first is not None else None,
        year_bounds(last)[1] if last is not None else None,
    )


def overlaps(
    min_column: ColumnElement[Any], max_column: ColumnElement[Any], lo: bool, hi: bool
) -> list[ColumnElement[bool]]:
    """Conditions for a date [min, max] overlapping [:lo_jdn, :hi_jdn] (each end optional)."""
    conditions: list[ColumnElement[bool]] = []
    if lo:
        conditions.append(max_column >= bindparam("lo_jdn"))
    if hi:
        conditions.append(min_column <= bindparam("hi_jdn"))
    return conditions
