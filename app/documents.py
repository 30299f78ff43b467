"""The record format of seed, import and export files (docs/data-format.md), as pydantic models:
what every type's document shares (RecordIn, citations, identifiers, dates, other names, the string
types) and the canonical document. Each type's own model is in its folder
(`app/record_types/<type>/document.py`).

Every model forbids unknown fields; dates are read by app.dates while validating, so that a bad date
is reported against its field like any other error. Every string is one of the string types below:
none holds a NUL character (PostgreSQL cannot store one, and no text needs it), and none is longer
than the column it is written to. Numbers are strict: a string or a boolean is not a number.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app import json
from app.dates import Calendar, DateError, HistoricalDate, parse_date
from app.errors import described, slugify


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(f"must not contain a NUL character (U+0000, at position {value.index(chr(0))})")
    return value


# Every string type of the format ends with NO_NUL (tests/test_strict_input.py checks that each string
# field has it); their max_length is at most the width of the column they are written to (the types' model.py).
NO_NUL = AfterValidator(_without_nul)
# Each pattern is `described` in words for the errors of values that do not match it (app.errors).
SLUG_PATTERN = described(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "a slug of lower-case letters, digits and hyphens", "leon-trotsky", slugify
)
WORD_PATTERN = described(r"^[a-z][a-z0-9-]*$", "a lower-case word of letters, digits and hyphens", "exile", slugify)
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=100), NO_NUL]  # slug varchar(100)
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000), NO_NUL]  # text columns
# names are varchar(300), titles, authors and publishers varchar(500)
Name = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=False), NO_NUL]
Word = Annotated[str, StringConstraints(pattern=WORD_PATTERN, max_length=40), NO_NUL]  # kind varchar(40)
LANGUAGE_PATTERN = described(
    r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$", "a language tag: a code of 2 or 3 lower-case letters, then any subtags", "ru"
)
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN, max_length=12), NO_NUL]  # language varchar(12)
Edtf = Annotated[str, StringConstraints(min_length=1, max_length=200), NO_NUL]  # *_edtf varchar(200)
Page = Annotated[str, StringConstraints(min_length=1, max_length=100), NO_NUL]  # citations.page varchar(100)
URL_PATTERN = described(
    r"^https?://[^\s\x00-\x1f\x7f]+$",
    "an http or https URL without spaces",
    "https://en.wikipedia.org/wiki/Leon_Trotsky",
)


def _parsed_url(value: str) -> str:
    """An http(s) URL that a URL parser reads whole (the standard library's, as every client that
    follows the link will): a host, and a port if any within 1-65535. The pattern alone let through
    `http://[x`, on which urlsplit - and so anyone reading the export - raises."""
    try:
        parts = urlsplit(value)
        port = parts.port  # reading it checks it
    except ValueError as exc:
        raise ValueError(f"is not a URL a parser can read ({exc})") from None
    if not parts.hostname:
        raise ValueError("has no host (such as https://en.wikipedia.org/...)")
    if port == 0:
        raise ValueError("has port 0, which no server listens on")
    return value


# sources.url varchar(2000)
Url = Annotated[str, StringConstraints(pattern=URL_PATTERN, max_length=2000), AfterValidator(_parsed_url), NO_NUL]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=200), NO_NUL]  # work_subjects varchar(200)
Tag = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=200), NO_NUL]  # event_tags varchar(200)
# identifiers.value is varchar(100); the examples are the seed's (Trotsky, Service's biography, Moscow)
WIKIDATA_PATTERN = described(r"^Q[1-9][0-9]*$", "a Wikidata item id: Q and a number", "Q33391", str.upper)
ISBN_PATTERN = described(
    r"^97[89][0-9]{10}$", "an ISBN-13 of 13 digits, starting 978 or 979, without hyphens or spaces",
    "9780674036154", lambda text: re.sub(r"[-\s]", "", text),
)  # fmt: skip
GEONAMES_PATTERN = described(r"^[1-9][0-9]*$", "a GeoNames id: a number", "524901")
Wikidata = Annotated[str, StringConstraints(pattern=WIKIDATA_PATTERN, max_length=100), NO_NUL]
Isbn = Annotated[str, StringConstraints(pattern=ISBN_PATTERN, max_length=13), NO_NUL]
Geonames = Annotated[str, StringConstraints(pattern=GEONAMES_PATTERN, max_length=100), NO_NUL]
# A place's other names and a person's aliases: each one written rebuilds the record's full-text row
# from all of them (the triggers of migration 0005), so writing n costs n squared - 3,000 in a 1 MB
# body held the write lock for minutes. The richest records hold a few dozen.
MAX_OTHER_NAMES = 100

# Numbers are strict: JSON's "48.85" (a string) and true are not numbers, nor is 1800.0 a year.
Year = Annotated[int, Field(ge=-9999, le=9999, strict=True)]
Latitude = Annotated[float, Field(ge=-90, le=90, strict=True, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, strict=True, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateIn(Strict):
    edtf: Edtf
    calendar: Calendar = "gregorian"
    end_calendar: Calendar | None = None

    @model_validator(mode="after")
    def _readable(self) -> DateIn:
        self.parsed()  # raises DateError (a ValueError) with the value and the problem
        return self

    def parsed(self) -> HistoricalDate:
        return _parse_cached(self.edtf, self.calendar, self.end_calendar)


def _date_from_string(value: Any) -> Any:
    return {"edtf": value} if isinstance(value, str) else value


DateField = Annotated[DateIn, Field(description="EDTF string (Gregorian) or {edtf, calendar, end_calendar}")]

# Dates parsed lately, by (edtf, calendar, end_calendar): a bulk load repeats the same few thousand
# dates (years, days) over and over. Bounded: an entry is ~490 bytes, and the unbounded cache this
# replaces kept 100,000 of them (47 MB) for the life of the process after one large import.
PARSED_DATES_KEPT = 4096


@functools.lru_cache(maxsize=PARSED_DATES_KEPT)
def _parse_cached(edtf: str, calendar: Calendar, end_calendar: Calendar | None) -> HistoricalDate:
    try:
        return parse_date(edtf, calendar, end_calendar)
    except DateError as exc:  # not cached: lru_cache keeps results only
        raise ValueError(str(exc)) from None


def _isbn13_ok(digits: str) -> bool:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


class Identifiers(Strict):
    wikidata: Wikidata | None = None
    isbn: Isbn | None = None
    geonames: Geonames | None = None

    @field_validator("isbn")
    @classmethod
    def _isbn_checksum(cls, value: str | None) -> str | None:
        if value is not None and not _isbn13_ok(value):
            raise ValueError(f"ISBN {value} fails its checksum")
        return value

    def items(self) -> list[tuple[str, str]]:
        return [(scheme, value) for scheme, value in self.model_dump().items() if value is not None]


class CitationIn(Strict):
    source: Slug
    page: Page | None = None
    quote: Text | None = None
    note: Text | None = None


class RecordIn(Strict):
    if TYPE_CHECKING:
        type: str  # each type's model declares its own `type` (a Literal: the union's discriminator)
    slug: Slug
    identifiers: Identifiers = Identifiers()
    citations: list[CitationIn] = []
    notes: Text | None = None

    def content_hash(self) -> str:
        """sha256 of the canonical document: equal hashes mean nothing to write."""
        return hashlib.sha256(json.dumps(canonical_document(self))).hexdigest()

    def legacy_content_hash(self) -> str:
        """The hash written before canonical documents (migration 0009): a database seeded then
        still finds its unchanged records unchanged."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json", exclude_defaults=True))).hexdigest()

    def distinct_citations(self) -> list[CitationIn]:
        """The citations, each once: a citation given again with the same fields (source, page, quote,
        note: the whole object) is the same citation, stored and kept in the document once, where it
        was first given. `citations` keeps them as given, so that errors name the input's positions."""
        if len(self.citations) < 2:
            return self.citations
        distinct: dict[tuple[tuple[str, Any], ...], CitationIn] = {}
        for citation in self.citations:  # keyed by its (field, value) pairs: hashing the model costs ~20 us
            distinct.setdefault(tuple(citation), citation)
        return list(distinct.values())

    def references(self) -> list[tuple[str, str, str]]:
        """(field, record type, slug) of every record this one refers to."""
        return [(f"citations[{i}].source", "source", c.source) for i, c in enumerate(self.citations)]


class CitedRecordIn(RecordIn):
    citations: Annotated[list[CitationIn], Field(min_length=1)]


class OtherNameIn(Strict):
    """A record's name or title in another language or script."""

    name: Name
    language: Language
    note: Text | None = None


# Links with no order of their own: the API lists them by name, and the database keeps no position
# for them. Their canonical order is by slug and role (tags and subjects: alphabetical), without
# duplicates, so a document read back from the database is the document that was written.
UNORDERED_LINKS = {
    "people": ("person", "role"), "places": ("place", "role"), "works": ("work", "role"),
    "organisations": ("organisation", "role"),
}  # fmt: skip
SORTED_LISTS = ("tags", "subjects", "predecessors")  # lists of slugs or words, kept in alphabetical order


def canonical_document(record: RecordIn) -> dict[str, Any]:
    """The record in the record format as Chronicle writes it (revisions, export): `type` and `slug`
    first, no field left at its default, Gregorian dates as strings, unordered links sorted. Two
    records with the same content have the same canonical document, byte for byte once dumped."""
    dumped = record.model_dump(mode="json", exclude_defaults=True)
    document: dict[str, Any] = {"type": record.type, "slug": record.slug}
    shared = ("identifiers", "citations", "notes")  # every type's: after the type's own fields
    for name in [n for n in dumped if n not in ("type", "slug", *shared)] + [n for n in shared if n in dumped]:
        value = dumped[name]
        if isinstance(value, dict) and "edtf" in value and set(value) == {"edtf"}:
            value = value["edtf"]  # a Gregorian date needs no object
        elif name in UNORDERED_LINKS:
            fields = UNORDERED_LINKS[name]
            full = [{fields[1]: _link_default(record, name), **link} for link in value]
            keys = sorted(dict.fromkeys((link[fields[0]], link[fields[1]]) for link in full))
            value = [_without_default(record, name, {fields[0]: slug, fields[1]: role}) for slug, role in keys]
        elif name == "citations":  # each once (RecordIn.distinct_citations): equal models dump equal
            distinct: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
            for citation in value:
                distinct.setdefault(tuple(citation.items()), citation)
            value = list(distinct.values())
        elif name in SORTED_LISTS:
            value = sorted(dict.fromkeys(value))
        elif name == "memberships":  # in the order given; a Gregorian date needs no object
            value = [{k: _plain_date(v) for k, v in membership.items()} for membership in value]
        elif name == "creators":
            value = [dict(pair) for pair in dict.fromkeys(tuple(sorted(c.items())) for c in value)]
            value = [{"person": c["person"], **({"role": c["role"]} if "role" in c else {})} for c in value]
        document[name] = value
    return document


def _plain_date(value: Any) -> Any:
    """A dumped date without calendars (Gregorian) as its EDTF string; any other value as it is."""
    return value["edtf"] if isinstance(value, dict) and set(value) == {"edtf"} else value


def _link_default(record: BaseModel, name: str) -> str:
    """The default role of a link list's items (EventPersonIn's `participant`, ...)."""
    item_model = type(record).model_fields[name].annotation.__args__[0]  # type: ignore[union-attr]
    default: str = item_model.model_fields["role"].default
    return default


def _without_default(record: BaseModel, name: str, link: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in link.items() if not (k == "role" and v == _link_default(record, name))}
