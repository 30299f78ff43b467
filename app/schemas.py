"""Wire models: query-parameter models (validated) and response models (the documented contract).

List and detail bodies are built as bytes by the routers for speed, so the response models are not
run on each request; tests validate every response against them, which keeps the contract true.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from app import hrefs
from app.dates import MAX_YEAR, MIN_YEAR
from app.documents import LANGUAGE_PATTERN, SLUG_PATTERN, WORD_PATTERN
from app.errors import described
from app.registry import TYPES

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=100)]
Kind = Annotated[str, Field(pattern=WORD_PATTERN, max_length=40)]


def names_pattern(*names: str) -> str:
    """The pattern of a parameter taking one or more of `names`, comma-separated (`include=people,places`)."""
    choice = "|".join(names)
    return described(
        f"^({choice})(,({choice}))*$",
        f"one or more of {', '.join(names)}, separated by commas",
        ",".join(names[:2]),
        lambda text: re.sub(r"\s+", "", text.lower()),
    )


def slug_path(example: str) -> Any:
    """Metadata of the `{slug}` path parameter: `Annotated[Slug, slug_path("leon-trotsky")]`."""
    return Path(description="The record's slug (its public id).", examples=[example])


YearParam = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
SearchText = Annotated[str, Field(min_length=1, max_length=200)]
TEXT_QUERY = (
    'All the words must match (case and diacritics ignored); `trots*` matches a prefix, `"permanent revolution"` '
    "a phrase; `OR`, `NOT` and parentheses combine terms. At most 32 words or phrases, of which 4 prefixes, "
    "each of at least 2 letters or digits. A malformed query (an unclosed quote) is a 400."
)

POINT_PATTERN = described(
    r"^\s*-?\d{1,3}(\.\d+)?\s*,\s*-?\d{1,3}(\.\d+)?\s*$", "a point as LATITUDE,LONGITUDE in decimal degrees",
    "48.85,2.35",
)  # fmt: skip
BOX_PATTERN = described(
    r"^\s*-?\d{1,3}(\.\d+)?(\s*,\s*-?\d{1,3}(\.\d+)?){3}\s*$",
    "a box as WEST,SOUTH,EAST,NORTH in decimal degrees", "-5,42,8,51",
)  # fmt: skip
FIELDS_PATTERN = described(
    r"^[a-z_]+(,[a-z_]+)*$", "field names separated by commas (lower-case letters and underscores)", "slug,title",
    lambda text: re.sub(r"\s+", "", text.lower()),
)  # fmt: skip
Point = Annotated[str, Field(pattern=POINT_PATTERN, max_length=60)]
Box = Annotated[str, Field(pattern=BOX_PATTERN, max_length=120)]
RadiusKm = Annotated[float, Field(gt=0, le=20_016)]  # half the Earth's circumference: everywhere
NEAR = "Within `radius_km` of this point, `LATITUDE,LONGITUDE` in decimal degrees (WGS 84)."
RADIUS = "Radius for `near`, in km (great-circle distance); default 50."
BBOX = (
    "Inside this box: `WEST,SOUTH,EAST,NORTH` in decimal degrees, as GeoJSON orders it. A box whose west edge is "
    "east of its east edge crosses the antimeridian (`170,-20,-170,20`)."
)

# --- query parameters -----------------------------------------------------------------------------


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="Page size (1-100).", examples=[20])
    cursor: str | None = Field(
        None, max_length=400, description="Opaque cursor: `next_cursor` of the previous page. Omit for page 1."
    )


class ListQuery(PageQuery):
    fields: Annotated[str, Field(pattern=FIELDS_PATTERN, max_length=300)] | None = Field(
        None,
        description="Only these fields of each item, comma-separated (`slug,title,date`); every format. The item "
        "schemas below therefore mark no field as required: without `fields`, every field is present.",
        examples=["slug,href"],  # fields every list has
    )
    format: Literal["json", "geojson", "csv", "ndjson"] | None = Field(
        None,
        description="`json` (a page; the default), `geojson` (a page as a FeatureCollection: places and events), "
        "or `csv` / `ndjson`: *every* matching record from `cursor` on, streamed (an export; `limit` does not "
        "apply). Without it, `Accept: application/geo+json`, `text/csv` or `application/x-ndjson` choose.",
    )


class EventFilterQuery(BaseModel):
    """The filters of /v1/events, shared by /v1/timeline."""

    model_config = ConfigDict(extra="forbid")

    year: YearParam | None = Field(
        None,
        description="Events whose dates overlap this year, a whole number. BCE years count astronomically, "
        "with a year 0: 0 is 1 BCE and -43 is 44 BCE, so `year=-44` is 45 BCE; the answer's `searched` names the "
        "year in words. An event dated less precisely is listed for every year it may fall in: one dated `192X` "
        "(some year of the 1920s) or `1929?` (uncertain) is listed for `year=1929`, and each date says how "
        "precise it is. The parameter itself takes a whole year only: `year=192X` or `year=1929?` is a 400.",
        examples=[1929],
    )
    from_: YearParam | None = Field(
        None,
        alias="from",
        description="Start of a year range (inclusive; astronomical, like `year`): events whose dates overlap it.",
        examples=[1917],
    )
    to: YearParam | None = Field(
        None, description="End of a year range (inclusive; astronomical, like `year`).", examples=[1940]
    )
    month: int | None = Field(None, ge=1, le=12, description="On this day: month (1-12), with `day`.", examples=[11])
    day: int | None = Field(None, ge=1, le=31, description="On this day: day of the month, with `month`.", examples=[7])
    calendar: Literal["gregorian", "julian"] = Field(
        "gregorian",
        description="Calendar of `month`/`day`: `gregorian` (default) or `julian` to match the recorded Julian "
        "day (25 October 1917 O.S. for the October Revolution).",
    )
    person: Slug | None = Field(None, description="Only events this person takes part in.", examples=["leon-trotsky"])
    near: Point | None = Field(None, description=f"Only events at a place {NEAR[0].lower()}{NEAR[1:]}")
    radius_km: RadiusKm | None = Field(None, description=RADIUS, examples=[50])
    bbox: Box | None = Field(None, description=f"Only events at a place inside this box. {BBOX}")
    place: Slug | None = Field(
        None, description="Only events at this place or anywhere within it.", examples=["france"]
    )
    work: Slug | None = Field(None, description="Only events linked to this work.", examples=["my-life"])
    organisation: Slug | None = Field(
        None, description="Only events linked to this organisation (in any role).", examples=["red-army"]
    )
    kind: Kind | None = Field(None, description="Event kind.", examples=["exile"])
    q: SearchText | None = Field(
        None,
        description=f"Words in the title or summary. {TEXT_QUERY}",
        examples=["exile"],
    )


class TimelineQuery(EventFilterQuery):
    bucket: Literal["year", "decade", "century"] = Field(
        "decade",
        description="Bucket size. Buckets are aligned on multiples of their size in astronomical years: the "
        "decade 1910 is 1910-1919, the century 1900 is 1900-1999, the decade -50 is 51 BCE-42 BCE.",
    )


class NameQuery(BaseModel):
    """A record's GET: the language its name is wanted in (or Accept-Language)."""

    model_config = ConfigDict(extra="forbid")

    lang: Annotated[str, Field(pattern=LANGUAGE_PATTERN, max_length=35)] | None = Field(
        None, description="Name the record in this language (a BCP 47 tag), when it has a name in it; "
        "otherwise its main name. Without it, `Accept-Language` chooses. `Content-Language` says which "
        "language the answer names it in.", examples=["ru"],
    )  # fmt: skip


DAY_LISTS = ("events", "births", "deaths")
YEAR_LISTS = ("events", "births", "deaths", "works")
DayLists = Annotated[str, Field(pattern=names_pattern(*DAY_LISTS))]
YearLists = Annotated[str, Field(pattern=names_pattern(*YEAR_LISTS))]


class OnThisDayQuery(PageQuery):
    type: DayLists | None = Field(
        None,
        description="Which lists, comma-separated: `events`, `births`, `deaths` (default: all). `cursor` pages "
        "one list: give its name alone (each list's `next` link does).",
        examples=["births"],
    )
    from_: YearParam | None = Field(None, alias="from", description="Only years from this one (inclusive).")
    to: YearParam | None = Field(None, description="Only years up to this one (inclusive).")
    kind: Kind | None = Field(None, description="Only events of this kind.", examples=["exile"])
    calendar: Literal["gregorian", "julian"] = Field(
        "gregorian", description="`julian`: match the day as recorded in the Julian calendar (25 October 1917 O.S.)."
    )


class YearQuery(PageQuery):
    type: YearLists | None = Field(
        None,
        description="Which lists, comma-separated: `events`, `births`, `deaths`, `works` (default: all). `cursor` "
        "pages one list: give its name alone (each list's `next` link does).",
        examples=["events"],
    )
    kind: Kind | None = Field(None, description="Only events of this kind.", examples=["exile"])


# The record types /v1/search looks at, as the registry lists them.
SEARCHED = tuple(name for name, record_type in TYPES.items() if record_type.search is not None)


class SearchQuery(ListQuery):
    q: SearchText = Field(description=f"What to search for. {TEXT_QUERY}", examples=["exile"])
    type: Annotated[str, Field(pattern=names_pattern(*SEARCHED))] | None = Field(
        None,
        description=f"Only these record types, comma-separated: {', '.join(f'`{t}`' for t in SEARCHED)}. Default: all.",
        examples=["event,person"],
    )


# --- responses ------------------------------------------------------------------------------------


class GregorianReading(BaseModel):
    edtf: str = Field(
        description="The date read in the proleptic Gregorian calendar, as EDTF.", examples=["1917-11-07"]
    )
    label: str = Field(examples=["7 November 1917"])


class DateOut(BaseModel):
    """A historical date: what was recorded, its Gregorian reading, its bounds and labels."""

    edtf: str = Field(description="The value as recorded (EDTF), in `calendar`.", examples=["1917-10-25"])
    calendar: Literal["gregorian", "julian"] = Field(description="The calendar the value was recorded in.")
    end_calendar: Literal["gregorian", "julian"] | None = Field(
        description="For an interval whose end was recorded in another calendar."
    )
    label: str = Field(description="Human label of the recorded value.", examples=["25 October 1917 (O.S.)"])
    kind: Literal["date", "interval", "set"] = Field(description="`set`: one of several dates (sources disagree).")
    precision: Literal["day", "month", "season", "year", "decade", "century", "millennium"]
    uncertain: bool
    approximate: bool
    gregorian: GregorianReading
    earliest: str = Field(description="First possible day, ISO 8601 proleptic Gregorian, astronomical year.")
    latest: str = Field(description="Last possible day (inclusive).", examples=["1917-11-07"])


class Total(BaseModel):
    value: int = Field(description="How many records match; a lower bound when `relation` is `gte`.")
    relation: Literal["eq", "gte"] = Field(description="`eq`: exact; `gte`: at least `value` (counting stopped).")


class PageBase(BaseModel):
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    total: Total
    limit: int


class EventSummary(BaseModel):
    slug: str = Field(examples=["october-revolution"])
    title: str
    kind: str
    summary: str | None
    date: DateOut
    href: str = Field(examples=[hrefs.href("event", "october-revolution")])
    people: list[LinkedPerson] | None = Field(None, description="With `include=people` only.")
    places: list[IncludedPlace] | None = Field(None, description="With `include=places` only.")
    works: list[LinkedWork] | None = Field(None, description="With `include=works` only.")


class Searched(BaseModel):
    """The years a list searched, as given and in words: `year=-44` searched 45 BCE."""

    year: int | None = Field(None, description="`year`, as given (astronomical).", examples=[-44])
    from_: int | None = Field(None, alias="from", description="`from`, as given (astronomical).")
    to: int | None = Field(None, description="`to`, as given (astronomical).")
    label: str = Field(
        description="The years searched, in words (BCE years as historians write them).",
        examples=["45 BCE", "1917 – 1940", "1917 onwards", "until 44 BCE"],
    )


class SourceRef(BaseModel):
    """A citation: the source, and where in it."""

    slug: str
    title: str
    kind: str
    url: str | None
    page: str | None
    quote: str | None
    note: str | None
    href: str


class LinkedPerson(BaseModel):
    slug: str
    name: str
    role: str
    href: str


class IncludedPlace(BaseModel):
    slug: str
    name: str
    role: str
    kind: str
    latitude: float | None
    longitude: float | None
    href: str


class LinkedWork(BaseModel):
    slug: str
    title: str
    role: str
    href: str


class LinkedEvent(BaseModel):
    slug: str
    title: str
    date: DateOut
    href: str


class RecordMeta(BaseModel):
    identifiers: dict[str, str] = Field(description="External identifiers by scheme (wikidata, isbn, geonames).")
    sources: list[SourceRef] = Field(description="Where this record comes from.")
    notes: str | None = Field(description="Editorial notes, e.g. where a source is loose.")
    revision: int
    created_at: str
    updated_at: str


class OtherName(BaseModel):
    name: str
    language: str | None
    note: str | None


class PlaceRef(BaseModel):
    slug: str
    name: str
    href: str


class PersonSummary(BaseModel):
    slug: str
    name: str
    description: str | None
    born: DateOut | None
    died: DateOut | None
    href: str


class OrganisationRef(BaseModel):
    slug: str
    name: str
    href: str


class Membership(OrganisationRef):
    """A person's role in an organisation, with its dates."""

    role: str = Field(examples=["commissar"])
    start: DateOut | None
    end: DateOut | None
    note: str | None


class PlaceName(BaseModel):
    name: str
    language: str | None
    from_year: int | None
    to_year: int | None
    note: str | None


class Creator(BaseModel):
    slug: str
    name: str
    role: str
    href: str


class WorkSummary(BaseModel):
    slug: str
    title: str
    kind: str
    published: DateOut | None
    creators: list[Creator]
    href: str


class ProblemDetail(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str = Field(examples=["about:blank"])
    title: str = Field(examples=["Bad Request"])
    status: int = Field(examples=[400])
    detail: str = Field(
        examples=["query parameter 'year': must be a whole number from -9999 to 9999, such as 1929 (got 'abc')"]
    )
    instance: str | None = Field(None, examples=[hrefs.href("event")])
    invalid_params: list[dict[str, str]] | None = Field(
        None,
        description="For 400s and 422s: each bad parameter or field with its `name`, where it was given (`in`: "
        "`query`, `path`, `header` or `body`) and the `reason`, in words and with an example.",
    )


class SearchHit(BaseModel):
    type: Literal[SEARCHED]  # type: ignore[valid-type]  # the registry's searched types
    slug: str
    label: str = Field(description="The record's title or name.")
    snippet: str = Field(
        description="HTML: the best-matching passage, its text escaped, each matching word in `<mark>`; "
        "`…` where the passage is cut.",
        examples=["Trotsky lived in <mark>exile</mark>: first internally at Alma-Ata…"],
    )
    score: float = Field(description="BM25 relevance, higher is better; hits come best first.")
    href: str


class SearchPage(PageBase):
    items: list[SearchHit]


class ListPart(PageBase):
    next: str | None = Field(description="This list's next page (a URL with `type` and `cursor`); null at the end.")


class EventList(ListPart):
    items: list[EventSummary]


class PersonList(ListPart):
    items: list[PersonSummary]


class WorkList(ListPart):
    items: list[WorkSummary]


class OnThisDay(BaseModel):
    month: int = Field(examples=[11])
    day: int = Field(examples=[7])
    calendar: Literal["gregorian", "julian"]
    label: str = Field(examples=["7 November"])
    events: EventList | None = Field(description="Events on this day, newest first; null when not asked for.")
    births: PersonList | None = Field(description="People born on this day, most recent first.")
    deaths: PersonList | None = Field(description="People who died on this day, most recent first.")


class YearOverview(BaseModel):
    year: int = Field(description="Astronomical year: 0 is 1 BCE, -43 is 44 BCE.", examples=[1940])
    label: str = Field(examples=["1940", "44 BCE"])
    events: EventList | None = Field(description="Events whose dates overlap the year, in date order.")
    births: PersonList | None = Field(description="People born in the year (birth dates overlapping it).")
    deaths: PersonList | None = Field(description="People who died in the year.")
    works: WorkList | None = Field(description="Works published in the year.")


class TimelineBucket(BaseModel):
    start: int = Field(description="First year (astronomical).", examples=[1920])
    end: int = Field(description="Last year (astronomical), inclusive.", examples=[1929])
    label: str = Field(examples=["1920-1929", "51 BCE-42 BCE"])
    count: int = Field(description="Events whose dates overlap these years and match the filters.")


class Timeline(BaseModel):
    bucket: Literal["year", "decade", "century"]
    searched: Searched | None = Field(
        None, description="With `year`, `from` or `to` only: the years counted over, in words."
    )
    items: list[TimelineBucket] = Field(
        description="Every bucket from the first to the last (or over from/to), empty ones included. An event "
        "counts in every bucket its date overlaps - as `/v1/events?from=START&to=END` lists it - so a war of "
        "1914-1918 counts in each of those years, and the counts can add up to more than the events."
    )


for _model in (EventSummary, EventList):  # they refer to models defined after them
    _model.model_rebuild()
