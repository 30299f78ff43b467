"""/v1/on-this-day and /v1/years over HTTP, on the seed and on a database with crowded days."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.schemas import OnThisDay, YearOverview
from tests.conftest import load, make_database, serving


def get(client: httpx.Client, url: str, contract: Any = None, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    if contract is not None:
        contract.model_validate_json(response.content)
    body: dict[str, Any] = response.json()
    return body


def slugs(part: dict[str, Any] | None) -> list[str]:
    assert part is not None
    return [item["slug"] for item in part["items"]]


def test_the_seventh_of_november(client: httpx.Client) -> None:
    day = get(client, "/v1/on-this-day/11-07", OnThisDay)
    assert day["label"] == "7 November"
    assert "october-revolution" in slugs(day["events"])  # 25 October 1917 O.S.
    assert "leon-trotsky" in slugs(day["births"])  # 7 November 1879 (26 October O.S.)
    recorded = get(client, "/v1/on-this-day/10-25", OnThisDay, calendar="julian")
    assert recorded["label"] == "25 October (O.S.)" and "october-revolution" in slugs(recorded["events"])
    assert "october-revolution" not in slugs(get(client, "/v1/on-this-day/10-25")["events"])


def test_the_ides_of_march(client: httpx.Client) -> None:
    """Caesar's death, 15 March 44 BCE in the Julian calendar: 13 March proleptic Gregorian."""
    recorded = get(client, "/v1/on-this-day/03-15", OnThisDay, calendar="julian")
    assert recorded["label"] == "15 March (O.S.)"
    assert slugs(recorded["events"]) == ["assassination-of-julius-caesar"]
    assert slugs(recorded["deaths"]) == ["julius-caesar"]
    assert recorded["events"]["items"][0]["date"]["label"] == "15 March 44 BCE (O.S.)"
    gregorian = get(client, "/v1/on-this-day/03-13", OnThisDay)
    assert slugs(gregorian["events"]) == ["assassination-of-julius-caesar"]
    assert slugs(gregorian["deaths"]) == ["julius-caesar"]
    assert slugs(get(client, "/v1/on-this-day/03-15")["events"]) == []
    year = get(client, "/v1/years/-43", YearOverview)
    assert slugs(year["events"]) == ["assassination-of-julius-caesar"] and slugs(year["deaths"]) == ["julius-caesar"]


def test_one_list_and_a_year_range(client: httpx.Client) -> None:
    day = get(client, "/v1/on-this-day/11-07", OnThisDay, type="births")
    assert day["events"] is None and day["deaths"] is None and slugs(day["births"]) == ["leon-trotsky"]
    assert slugs(get(client, "/v1/on-this-day/11-07", to=1900)["events"]) == []
    assert slugs(get(client, "/v1/on-this-day/11-07", **{"from": 1900})["births"]) == []


def test_1940_and_bce_years(client: httpx.Client) -> None:
    year = get(client, "/v1/years/1940", YearOverview)
    assert year["label"] == "1940"
    assert "assassination-of-trotsky" in slugs(year["events"]) and "leon-trotsky" in slugs(year["deaths"])
    assert get(client, "/v1/years/-43", YearOverview)["label"] == "44 BCE"
    assert get(client, "/v1/years/0")["label"] == "1 BCE"
    events_1929 = get(client, "/v1/events", year=1929, limit=100)
    assert slugs(get(client, "/v1/years/1929", limit=100)["events"]) == slugs(events_1929)


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/v1/on-this-day/02-30", "month_day"),
        ("/v1/on-this-day/13-01", "month_day"),
        ("/v1/on-this-day/1107", "month_day"),
        ("/v1/on-this-day/11-07?type=weddings", "type"),
        ("/v1/on-this-day/11-07?cursor=abc", "cursor"),  # which list?
        ("/v1/on-this-day/11-07?type=births&cursor=abc", "cursor"),
        ("/v1/on-this-day/11-07?from=1950&to=1900", "from"),
        ("/v1/years/10000", "year"),
        ("/v1/years/nineteen", "year"),
        ("/v1/years/1940?sort=title", "sort"),
    ],
)
def test_bad_days_and_years_are_400s(client: httpx.Client, url: str, parameter: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert parameter in response.text


def test_leap_day_exists(client: httpx.Client) -> None:
    assert client.get("/v1/on-this-day/02-29").status_code == 200


CROWDED = [
    {"type": "source", "slug": "test-source", "title": "Test source", "kind": "dataset"},
    *(
        {"type": "event", "slug": slug, "title": f"Event of {edtf}", "kind": "test", "date": f"{edtf}-03-15",
         "citations": [{"source": "test-source"}]}
        for slug, edtf in (("event-1801", "1801"), ("event-1950", "1950"), ("event-45-bce", "-0044"),
                           ("event-1066", "1066"), ("event-2001", "2001"))
    ),
    {"type": "event", "slug": "march-1950", "title": "Some day in March 1950", "kind": "test", "date": "1950-03",
     "citations": [{"source": "test-source"}]},
    *(
        {"type": "person", "slug": f"person-{year}", "name": f"Person {year}", "born": f"{year}-03-15",
         "died": f"{year + 70}-03-15", "citations": [{"source": "test-source"}]}
        for year in (1820, 1900, 1700)
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    url = make_database(Path(tmp_path_factory.mktemp("crowded")) / "c.sqlite3", seed=False)
    load(url, CROWDED)
    with serving(url) as http:
        yield http


def test_newest_first_and_paginated_list_by_list(crowded: httpx.Client) -> None:
    day = get(crowded, "/v1/on-this-day/03-15", OnThisDay)
    assert slugs(day["events"]) == ["event-2001", "event-1950", "event-1801", "event-1066", "event-45-bce"]
    assert slugs(day["births"]) == ["person-1900", "person-1820", "person-1700"]
    assert slugs(day["deaths"]) == ["person-1900", "person-1820", "person-1700"]
    seen, url = [], "/v1/on-this-day/03-15?limit=2&type=events"
    while url:
        part = get(crowded, url)["events"]
        assert part["total"] == {"value": 5, "relation": "eq"}
        seen += slugs(part)
        url = part["next"]
    assert seen == slugs(day["events"])
    other_list = crowded.get("/v1/on-this-day/03-15", params={"type": "births", "cursor": part["next_cursor"] or ""})
    assert other_list.status_code == 400


def test_a_year_lists_births_deaths_and_month_dates(crowded: httpx.Client) -> None:
    year = get(crowded, "/v1/years/1950", YearOverview)
    assert slugs(year["events"]) == ["march-1950", "event-1950"]  # March 1950 starts on the 1st
    assert slugs(year["births"]) == [] and slugs(year["deaths"]) == []
    assert slugs(get(crowded, "/v1/years/1970")["deaths"]) == ["person-1900"]
    assert slugs(get(crowded, "/v1/years/-44")["events"]) == ["event-45-bce"]
    assert get(crowded, "/v1/years/-44")["label"] == "45 BCE"


# Gregorian dates whose digits are 25 October: `calendar=julian` must not match them (only the
# October Revolution, 25 October 1917 as recorded in the Julian calendar, is a Julian 25 October).
GREGORIAN_25_OCTOBER = [
    {"type": "event", "slug": "test-gregorian-25-october", "title": "A Gregorian 25 October", "kind": "test",
     "date": {"edtf": "1929-10-25", "calendar": "gregorian"}, "citations": [{"source": "wikipedia-leon-trotsky"}]},
    {"type": "person", "slug": "test-person-25-october", "name": "Test Person of 25 October",
     "born": "1881-10-25", "died": "1973-10-25", "citations": [{"source": "wikipedia-leon-trotsky"}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def gregorian_25_october(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    url = make_database(Path(tmp_path_factory.mktemp("gregorian-25-october")) / "g.sqlite3")
    load(url, GREGORIAN_25_OCTOBER)
    with serving(url) as http:
        yield http


def test_calendar_julian_lists_only_julian_events(gregorian_25_october: httpx.Client) -> None:
    julian = slugs(get(gregorian_25_october, "/v1/events", calendar="julian", month=10, day=25))
    assert julian == ["october-revolution"]
    day = get(gregorian_25_october, "/v1/on-this-day/10-25", OnThisDay, calendar="julian")
    assert slugs(day["events"]) == ["october-revolution"]
    gregorian = slugs(get(gregorian_25_october, "/v1/events", month=10, day=25))
    assert gregorian == ["test-gregorian-25-october"]
    assert slugs(get(gregorian_25_october, "/v1/on-this-day/10-25")["events"]) == ["test-gregorian-25-october"]


def test_calendar_julian_lists_only_julian_births_and_deaths(gregorian_25_october: httpx.Client) -> None:
    julian = get(gregorian_25_october, "/v1/on-this-day/10-25", OnThisDay, calendar="julian")
    assert "test-person-25-october" not in slugs(julian["births"])
    assert "test-person-25-october" not in slugs(julian["deaths"])
    born_26_october = get(gregorian_25_october, "/v1/on-this-day/10-26", calendar="julian")
    assert slugs(born_26_october["births"]) == ["leon-trotsky"]  # 26 October 1879 O.S.
    gregorian = get(gregorian_25_october, "/v1/on-this-day/10-25", OnThisDay)
    assert slugs(gregorian["births"]) == ["test-person-25-october"]
    assert slugs(gregorian["deaths"]) == ["test-person-25-october"]
