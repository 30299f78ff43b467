"""Errors in plain words (issue 16): a bad value is told what was expected, in words and with an example,
never the regular expression that checks it; a slug in the wrong case or with spaces gets a hint; and a
search by year says which year it searched (`year=-44` is 45 BCE)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.errors import PATTERNS, slugify
from app.keys import create_key
from app.record_types.event.schemas import EventPage
from app.schemas import Timeline
from tests.conftest import LiveServer, make_database

PROBLEM = "application/problem+json"
# What a regular expression looks like; no message may contain one.
REGEX = re.compile(r"\^|\$|\(\?:|\\[dswDSW]|\[a-z|\]\*|\]\+|\{\d+(,\d*)?\}")


def assert_plain(body: dict[str, Any]) -> None:
    """The problem's words hold no regex, and every invalid_params entry says where the value was given."""
    texts = [body["detail"], *(entry["reason"] for entry in body.get("invalid_params", []))]
    for text in texts:
        assert not REGEX.search(text), f"a regex in {text!r}"
    for entry in body.get("invalid_params", []):
        assert set(entry) == {"name", "in", "reason"}, entry
        assert entry["in"] in ("query", "path", "header", "body"), entry


@pytest.mark.parametrize(
    ("url", "name", "where", "says"),
    [
        ("/v1/events?place=France", "place", "query",
         ["a slug of lower-case letters, digits and hyphens, such as 'france'", "did you mean 'france'?"]),
        ("/v1/events?person=Leon%20Trotsky", "person", "query", ["did you mean 'leon-trotsky'?"]),
        ("/v1/places?within=P%C3%A9rigny", "within", "query", ["did you mean 'perigny'?"]),  # accents dropped
        ("/v1/works?author=leon_trotsky", "author", "query", ["did you mean 'leon-trotsky'?"]),
        ("/v1/people/Leon%20Trotsky", "slug", "path", ["such as 'leon-trotsky'", "did you mean 'leon-trotsky'?"]),
        ("/v1/on-this-day/2-12", "month_day", "path", ["a month and day as MM-DD", "did you mean '02-12'?"]),
        ("/v1/on-this-day/13-01", "month_day", "path", ["there is no month 13: use MM-DD, such as 02-12"]),
        ("/v1/on-this-day/02-30", "month_day", "path", ["February has no day 30"]),
        ("/v1/years/abc", "year", "path", ["a whole number from -9999 to 9999, such as 1940", "got 'abc'"]),
        ("/v1/events?month=13&day=1", "month", "query", ["a whole number from 1 to 12, such as 11", "got '13'"]),
        ("/v1/events?year=abc", "year", "query", ["a whole number from -9999 to 9999, such as 1929"]),
        ("/v1/events?year=192X", "year", "query", ["a whole number"]),
        ("/v1/events?limit=0", "limit", "query", ["a whole number from 1 to 100, such as 20"]),
        ("/v1/events?limit=5.0", "limit", "query", ["a whole number from 1 to 100"]),
        ("/v1/events?radius_km=0&near=48.85,2.35", "radius_km", "query", ["a number above 0 and at most 20016"]),
        ("/v1/events?cursor=junk", "cursor", "query", ["use next_cursor from a previous page"]),
        ("/v1/events?from=1940&to=1920", "from", "query", ["from=1940 is after to=1920"]),
        ("/v1/events?sort=title", "sort", "query", ["must be 'date' or '-date'"]),
        ("/v1/events?kind=Exile", "kind", "query", ["such as 'exile'", "did you mean 'exile'?"]),
        ("/v1/events?include=People", "include", "query",
         ["one or more of people, places, works, separated by commas", "did you mean 'people'?"]),
        ("/v1/events?fields=Slug,%20Title", "fields", "query", ["did you mean 'slug,title'?"]),
        ("/v1/events?near=Paris", "near", "query", ["LATITUDE,LONGITUDE in decimal degrees, such as"]),
        ("/v1/events?bbox=1,2", "bbox", "query", ["WEST,SOUTH,EAST,NORTH in decimal degrees, such as"]),
        ("/v1/events?q=%00", "q", "query", ["must not contain NUL"]),
        ("/v1/events?kind=" + "a" * 41, "kind", "query", ["at most 40 characters long (got 41 characters)"]),
        ("/v1/search?q=", "q", "query", ["must not be empty: give one such as 'exile'"]),
        ("/v1/search", "q", "query", ["is required, such as 'exile'"]),
        ("/v1/search?q=exile&type=events", "type", "query",
         ["one or more of place, organisation, person, work, event", "such as 'event,person'"]),
        ("/v1/on-this-day/02-12?type=Births", "type", "query", ["did you mean 'births'?"]),
        ("/v1/events?yaer=1929", "yaer", "query", ["unknown parameter (did you mean 'year'?); accepted: year, from"]),
        ("/v1/events/october-revolution/revisions/1?x=1", "x", "query", ["this endpoint takes no query parameters"]),
        ("/v1/events/october-revolution?x=1", "x", "query", ["unknown parameter; accepted: lang"]),
        ("/v1/people/leon-trotsky/revisions/0", "number", "path", ["a whole number from 1 to 2147483647"]),
    ],
)  # fmt: skip
def test_a_bad_value_is_told_what_was_expected(
    client: httpx.Client, url: str, name: str, where: str, says: list[str]
) -> None:
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert_plain(body)
    [entry] = [entry for entry in body["invalid_params"] if entry["name"] == name]
    assert entry["in"] == where
    for words in says:
        assert words in entry["reason"], entry["reason"]
        assert words in body["detail"], body["detail"]  # the detail alone says it too


def test_a_hint_changes_nothing(client: httpx.Client) -> None:
    """`place=France` is refused, not answered for france: the hint is only a hint."""
    assert client.get("/v1/events?place=France").status_code == 400
    assert client.get("/v1/events?place=france").status_code == 200


@pytest.mark.parametrize(
    ("text", "slug"),
    [("Leon Trotsky", "leon-trotsky"), ("France", "france"), ("Périgny", "perigny"), ("leon_trotsky", "leon-trotsky"),
     ("  Mexico City ", "mexico-city"), ("Trotsky's exile", "trotskys-exile"), ("Trotsky’s exile", "trotskys-exile"),
     ("Ω", "")],
)  # fmt: skip
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


ENDPOINTS = ["/v1/events", "/v1/people", "/v1/places", "/v1/works", "/v1/sources", "/v1/search", "/v1/timeline"]
PARAMETERS = [
    "year", "from", "to", "month", "day", "calendar", "person", "place", "work", "kind", "q", "sort", "limit",
    "cursor", "born_from", "alive_in", "within", "author", "near", "radius_km", "bbox", "fields", "format",
    "include", "type", "bucket", "name_prefix", "dated",
]  # fmt: skip
values = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.text(max_size=20),
    st.sampled_from(["", "France", "Leon Trotsky", "2-12", "1929?", "192X", "People", "1,2", "-44", "0", "true"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ENDPOINTS), st.dictionaries(st.sampled_from(PARAMETERS), values, max_size=3))
def test_no_400_speaks_regex(client: httpx.Client, endpoint: str, params: dict[str, str]) -> None:
    response = client.get(endpoint, params=params)
    assert response.status_code < 500, (params, response.text)
    if response.status_code == 400:
        assert_plain(response.json())


@pytest.mark.parametrize(
    "path", ["/v1/on-this-day/1-1", "/v1/on-this-day/AB-CD", "/v1/years/1e3", "/v1/events/A_B", "/v1/places/%20"]
)
def test_no_path_parameter_error_speaks_regex(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404), response.text
    if response.status_code == 400:
        assert_plain(response.json())


def test_every_pattern_in_the_contract_is_described_in_words(client: httpx.Client) -> None:
    """A pattern without words would answer 'is not in the expected form': declare each with `described`."""
    spec = client.get("/openapi.json").json()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert found and found <= PATTERNS.keys(), found - PATTERNS.keys()


# --- years: BCE, and what was searched --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "searched"),
    [
        ("year=-44", {"year": -44, "label": "45 BCE"}),
        ("year=-43", {"year": -43, "label": "44 BCE"}),
        ("year=0", {"year": 0, "label": "1 BCE"}),
        ("year=1929", {"year": 1929, "label": "1929"}),
        ("from=1917&to=1940", {"from": 1917, "to": 1940, "label": "1917 – 1940"}),
        ("from=-100", {"from": -100, "label": "101 BCE onwards"}),
        ("to=-44", {"to": -44, "label": "until 45 BCE"}),
    ],
)
def test_a_search_by_year_says_which_years_it_searched(client: httpx.Client, query: str, searched: Any) -> None:
    response = client.get(f"/v1/events?{query}&limit=1")
    assert response.status_code == 200, response.text
    assert response.json()["searched"] == searched
    EventPage.model_validate_json(response.content)  # the documented shape


def test_a_list_without_years_has_no_searched(client: httpx.Client) -> None:
    assert "searched" not in client.get("/v1/events?limit=1").json()
    assert "searched" not in client.get("/v1/timeline").json()


def test_a_timeline_says_which_years_it_counted(client: httpx.Client) -> None:
    response = client.get("/v1/timeline?bucket=century&to=-1")
    assert response.json()["searched"] == {"to": -1, "label": "until 2 BCE"}
    Timeline.model_validate_json(response.content)


def test_the_year_parameter_is_documented_truthfully(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    [year] = [p for p in spec["paths"]["/v1/events"]["get"]["parameters"] if p["name"] == "year"]
    assert "45 BCE" in year["description"] and "`searched`" in year["description"]
    assert "match too" not in year["description"] and "is a 400" in year["description"]
    # One type, not "Year (integer) or Year (null) (Year)" as ReDoc showed the nullable form.
    assert year["schema"]["type"] == "integer" and "anyOf" not in year["schema"]
    for path, item in spec["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                assert "anyOf" not in parameter["schema"], (path, parameter["name"])


def test_openapi_uses_the_right_article(client: httpx.Client) -> None:
    text = client.get("/openapi.json").text
    assert not re.search(r"\b[Aa] (event|a|e|i|o)\w*", text.replace("a URL", "")), re.findall(r"\b[Aa] [aeio]\w*", text)
    assert "Revisions of an event" in text and "Create an event" in text and "Revisions of a person" in text


# --- the body of a write ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client with a write key, on a database of its own (writes here are refused, but a key is a write)."""
    url = make_database(tmp_path_factory.mktemp("plain") / "edit.sqlite3")
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        key = create_key(session, "plain-words", "write")
    engine.dispose()
    with (
        LiveServer(Settings(database_url=url)) as base,
        httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as http,
    ):
        yield http


def test_a_bad_record_is_told_what_was_expected(editor: httpx.Client) -> None:
    event = {
        "slug": "Lecture in Copenhagen", "title": "Trotsky lectures in Copenhagen", "kind": "Lecture",
        "date": "1932-13-45", "people": [{"person": "Leon Trotsky", "role": "subject"}],
        "citations": [{"source": "the-exile-of-leon-trotsky"}],
    }  # fmt: skip
    response = editor.post("/v1/events", json=event)
    assert response.status_code == 422, response.text  # a record that cannot be written, as documented
    body = response.json()
    assert_plain(body)
    reasons = {entry["name"]: entry["reason"] for entry in body["invalid_params"]}
    assert {entry["in"] for entry in body["invalid_params"]} == {"body"}
    assert "did you mean 'lecture-in-copenhagen'?" in reasons["slug"]
    assert "did you mean 'lecture'?" in reasons["kind"]
    assert "did you mean 'leon-trotsky'?" in reasons["people[0].person"]
    assert "'1932-13-45' is not a valid EDTF date" in reasons["date"]
    assert "such as 1917-10-25" in reasons["date"] and "-0043 (44 BCE)" in reasons["date"]


def test_bad_identifiers_and_numbers_are_told_in_words(editor: httpx.Client) -> None:
    place = {
        "slug": "somewhere", "name": "Somewhere", "kind": "city", "latitude": 91, "longitude": "2.35",
        "identifiers": {"wikidata": "q90"}, "names": [{"name": "Paris", "language": "French"}],
        "citations": [{"source": "the-exile-of-leon-trotsky"}],
    }  # fmt: skip
    body = editor.post("/v1/places", json=place).json()
    assert_plain(body)
    reasons = {entry["name"]: entry["reason"] for entry in body["invalid_params"]}
    assert reasons["latitude"] == "must be at most 90"
    assert reasons["longitude"] == "must be a number (a JSON number, not in quotes)"
    assert "a Wikidata item id: Q and a number" in reasons["identifiers.wikidata"]
    assert "did you mean 'Q90'?" in reasons["identifiers.wikidata"]
    assert "a language tag" in reasons["names[0].language"]
