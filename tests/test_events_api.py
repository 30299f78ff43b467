"""/v1/events over HTTP against the real app and a seeded SQLite file."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from app.record_types.event.schemas import EventDetail, EventPage
from tests.conftest import make_database, run_sql, serving

page_contract = TypeAdapter(EventPage)


def slugs(client: httpx.Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    page_contract.validate_json(response.content)
    return [item["slug"] for item in response.json()["items"]]


def all_pages(client: httpx.Client, url: str) -> list[str]:
    """Follow Link: rel="next" to the end."""
    found: list[str] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        found += [item["slug"] for item in body["items"]]
        link = response.headers.get("link")
        assert (link is None) == (body["next_cursor"] is None)
        url = link.split(">")[0].lstrip("<") if link else ""
    return found


def test_1929_lists_the_deportation(client: httpx.Client) -> None:
    found = slugs(client, "/v1/events?year=1929&limit=100")
    assert {"deportation-from-the-ussr", "arrival-in-constantinople", "deportation-order"} <= set(found)
    # Overlap: the exile (1928-1940) and life on Büyükada (1929-1933) are in 1929 too.
    assert {"trotskys-exile", "life-on-buyukada"} <= set(found)
    assert "october-revolution" not in found


def test_44_bce_lists_the_assassination_of_julius_caesar(client: httpx.Client) -> None:
    """year=-43 is 44 BCE (astronomical numbering); the date keeps its Julian reading beside the Gregorian."""
    body = client.get("/v1/events?year=-43").json()
    EventPage.model_validate(body)
    assert [item["slug"] for item in body["items"]] == ["assassination-of-julius-caesar"]
    date = body["items"][0]["date"]
    assert (date["edtf"], date["calendar"], date["label"]) == ("-0043-03-15", "julian", "15 March 44 BCE (O.S.)")
    assert date["gregorian"] == {"edtf": "-0043-03-13", "label": "13 March 44 BCE"}
    assert (date["earliest"], date["latest"], date["precision"]) == ("-0043-03-13", "-0043-03-13", "day")
    assert slugs(client, "/v1/events?year=-44") == []  # 45 BCE
    assert slugs(client, "/v1/events?place=italy") == ["assassination-of-julius-caesar"]  # the Curia of Pompey
    assert slugs(client, "/v1/events?person=marcus-junius-brutus") == ["assassination-of-julius-caesar"]
    # Julian 15 March is Gregorian 13 March: on this day by each calendar.
    assert "assassination-of-julius-caesar" in slugs(client, "/v1/events?month=3&day=13")
    assert "assassination-of-julius-caesar" not in slugs(client, "/v1/events?month=3&day=15")
    assert slugs(client, "/v1/events?month=3&day=15&calendar=julian") == ["assassination-of-julius-caesar"]


def test_bce_dates_of_year_and_approximate_precision(client: httpx.Client) -> None:
    marathon = client.get("/v1/events/battle-of-marathon").json()["date"]
    assert (marathon["label"], marathon["precision"], marathon["earliest"], marathon["latest"]) == (
        "490 BCE", "year", "-0489-01-01", "-0489-12-31",
    )  # fmt: skip
    alexandria = client.get("/v1/events/founding-of-alexandria").json()["date"]
    assert (alexandria["label"], alexandria["approximate"], alexandria["precision"]) == ("c. 331 BCE", True, "year")
    assert slugs(client, "/v1/events?year=-489") == ["battle-of-marathon"]
    assert slugs(client, "/v1/events?year=-330") == ["founding-of-alexandria"]
    # Oldest first: the BCE events come before the 20th century's, in order.
    assert slugs(client, "/v1/events?limit=3") == ["battle-of-marathon", "founding-of-alexandria",
                                                   "assassination-of-julius-caesar"]  # fmt: skip
    assert slugs(client, "/v1/events?to=-1") == slugs(client, "/v1/events?limit=3")


def test_arrival_in_constantinople_is_12_february_1929(client: httpx.Client) -> None:
    event = client.get("/v1/events/arrival-in-constantinople").json()
    assert event["date"]["label"] == "12 February 1929"
    assert [p["name_at_the_time"] for p in event["places"] if p["role"] == "destination"] == ["Constantinople"]


def places_then(client: httpx.Client, slug: str) -> dict[str, tuple[str, str]]:
    """An event's places by role: (slug, name at the time)."""
    event = client.get(f"/v1/events/{slug}").json()
    return {p["role"]: (p["slug"], p["name_at_the_time"]) for p in event["places"]}


def test_1928_exile_is_in_alma_ata(client: httpx.Client) -> None:
    assert places_then(client, "internal-exile-to-alma-ata")["destination"] == ("almaty", "Alma-Ata")


def test_1929_deportation_leaves_alma_ata_for_constantinople(client: httpx.Client) -> None:
    assert places_then(client, "deportation-from-the-ussr") == {
        "origin": ("almaty", "Alma-Ata"),
        "destination": ("istanbul", "Constantinople"),
    }
    assert places_then(client, "arrival-in-constantinople")["origin"] == ("odessa", "Odessa")


def test_lenin_died_at_gorki_and_trotsky_lived_on_prinkipo(client: httpx.Client) -> None:
    assert places_then(client, "death-of-lenin")["location"] == ("gorki", "Gorki")
    assert places_then(client, "life-on-buyukada")["location"] == ("buyukada", "Prinkipo")


def test_the_deportation_begins_with_its_order(client: httpx.Client) -> None:
    """Order 18 Jan 1929, served 20 Jan; arrived in Constantinople 12 Feb 1929: every part within the whole."""
    deportation = client.get("/v1/events/deportation-from-the-ussr").json()
    assert (deportation["date"]["earliest"], deportation["date"]["latest"]) == ("1929-01-18", "1929-02-12")
    assert [p["slug"] for p in deportation["parts"]] == ["deportation-order", "arrival-in-constantinople"]


def test_the_norway_chapter_runs_from_wexhall_to_sundby_to_the_ship(client: httpx.Client) -> None:
    norway = client.get("/v1/events/life-in-norway").json()
    assert (norway["date"]["earliest"], norway["date"]["latest"]) == ("1935-06-18", "1936-12-19")
    assert [(p["slug"], p["date"]["label"]) for p in norway["parts"]] == [
        ("life-at-wexhall", "18 June 1935 – 2 September 1936"),
        ("internment-at-sundby", "2 September – 19 December 1936"),
        ("departure-for-mexico", "19 December 1936"),
    ]
    assert places_then(client, "internment-at-sundby")["location"] == ("sundby", "Sundby")
    assert "internment-at-sundby" in slugs(client, "/v1/events?place=hurum")


def test_on_this_day_7_november_lists_the_october_revolution(client: httpx.Client) -> None:
    assert "october-revolution" in slugs(client, "/v1/events?month=11&day=7")
    assert "october-revolution" not in slugs(client, "/v1/events?month=10&day=25")
    assert "october-revolution" in slugs(client, "/v1/events?month=10&day=25&calendar=julian")


def test_on_this_day_skips_sets_and_intervals(client: httpx.Client) -> None:
    # The expulsion is "12 or 14 November 1927": not a day, so never on this day.
    assert "trotsky-expelled-from-communist-party" not in slugs(client, "/v1/events?month=11&day=12")


def test_october_revolution_in_full(client: httpx.Client) -> None:
    response = client.get("/v1/events/october-revolution")
    assert response.status_code == 200
    event: dict[str, Any] = EventDetail.model_validate_json(response.content).model_dump(mode="json")
    assert event["date"] == {
        "edtf": "1917-10-25",
        "calendar": "julian",
        "end_calendar": None,
        "label": "25 October 1917 (O.S.)",
        "kind": "date",
        "precision": "day",
        "uncertain": False,
        "approximate": False,
        "gregorian": {"edtf": "1917-11-07", "label": "7 November 1917"},
        "earliest": "1917-11-07",
        "latest": "1917-11-07",
    }
    assert {(p["slug"], p["role"]) for p in event["people"]} >= {("leon-trotsky", "participant")}
    assert [(p["slug"], p["name_at_the_time"]) for p in event["places"]] == [("saint-petersburg", "Petrograd")]
    assert any(s["slug"] == "the-exile-of-leon-trotsky" for s in event["sources"])


def test_every_event_detail_matches_the_contract(client: httpx.Client) -> None:
    for slug in all_pages(client, "/v1/events?limit=7"):
        response = client.get(f"/v1/events/{slug}")
        EventDetail.model_validate_json(response.content)
        assert response.json()["sources"], f"{slug} cites no source"


def test_parts_and_part_of(client: httpx.Client) -> None:
    deportation = client.get("/v1/events/deportation-from-the-ussr").json()
    assert deportation["part_of"]["slug"] == "trotskys-exile"
    assert [p["slug"] for p in deportation["parts"]] == ["deportation-order", "arrival-in-constantinople"]


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("from=1917&to=1918", {"october-revolution", "red-army-founded", "russian-civil-war"}, {"death-of-lenin"}),
        (
            "year=1920",
            {"russian-civil-war", "trotsky-commissar-for-military-and-naval-affairs"},
            {"october-revolution"},
        ),
        ("year=1927", {"trotsky-expelled-from-communist-party", "trotsky-removed-from-central-committee"}, set()),
        ("person=ramon-mercader", {"assassination-of-trotsky"}, {"october-revolution"}),
        ("place=france", {"founding-of-the-fourth-international"}, {"october-revolution"}),
        ("place=mexico", {"assassination-of-trotsky"}, {"founding-of-the-fourth-international"}),
        ("kind=revolution", {"october-revolution"}, {"russian-civil-war"}),
        ("q=Fourth%20International", {"founding-of-the-fourth-international"}, {"october-revolution"}),
        ("q=100%25", set(), {"october-revolution"}),
        ("q=perigny", {"founding-of-the-fourth-international"}, {"october-revolution"}),  # Périgny
        ("q=fourth%20internat*", {"founding-of-the-fourth-international"}, {"october-revolution"}),
        ('q="permanent%20revolution"', {"theory-of-permanent-revolution"}, {"october-revolution"}),  # a phrase
        ('q="revolution%20permanent"', set(), {"theory-of-permanent-revolution"}),  # words in that order only
        (
            "q=(exile%20OR%20deportation)%20NOT%20constantinople",
            {"internal-exile-to-alma-ata"},
            {"deportation-from-the-ussr"},
        ),
        ("person=leon-trotsky&year=1940", {"assassination-of-trotsky"}, {"october-revolution"}),
    ],
)
def test_filters(client: httpx.Client, query: str, expected: set[str], absent: set[str]) -> None:
    found = set(slugs(client, f"/v1/events?{query}&limit=100"))
    assert expected <= found
    assert not absent & found


def day(iso: str) -> tuple[int, int, int]:
    """An ISO day with an astronomical year (`-0489-01-01`) as numbers: as text, -0489 sorts after -0043."""
    year, month, day_of_month = iso.removeprefix("-").split("-")
    return (-int(year) if iso.startswith("-") else int(year), int(month), int(day_of_month))


def test_events_come_in_date_order_both_ways(client: httpx.Client) -> None:
    ascending = client.get("/v1/events?limit=100").json()["items"]
    starts = [day(item["date"]["earliest"]) for item in ascending]
    assert starts == sorted(starts) and starts[0] < day("0001-01-01")  # BCE first, by number, not text
    descending = [item["slug"] for item in client.get("/v1/events?limit=100&sort=-date").json()["items"]]
    assert descending == [item["slug"] for item in reversed(ascending)]


@pytest.mark.parametrize(
    "query",
    ["", "year=1929", "sort=-date", "from=1900&to=1930", "person=leon-trotsky", "q=trotsky", "q=trotsky&sort=-date"],
)
def test_cursor_pages_cover_the_list_exactly_once(client: httpx.Client, query: str) -> None:
    whole = slugs(client, f"/v1/events?{query}&limit=100")
    paged = all_pages(client, f"/v1/events?{query}&limit=2")
    assert paged == whole
    first = client.get(f"/v1/events?{query}&limit=2").json()
    assert first["total"] == {"value": len(whole), "relation": "eq"}


def test_total_is_a_lower_bound_past_the_cap(seeded_url: str) -> None:
    from app.config import Settings
    from tests.conftest import LiveServer

    with LiveServer(Settings(database_url=seeded_url, total_count_cap=5)) as url:
        body = httpx.get(f"{url}/v1/events?limit=2").json()
    assert body["total"] == {"value": 5, "relation": "gte"}


def test_full_text_totals_are_exact_even_past_the_cap(seeded_url: str) -> None:
    """Full-text matches are all read to sort them by date, so the page counts them all (no cap)."""
    from app.config import Settings
    from tests.conftest import LiveServer

    with LiveServer(Settings(database_url=seeded_url, total_count_cap=2)) as url:
        whole = httpx.get(f"{url}/v1/events?q=trotsky&limit=100").json()["items"]
        first = httpx.get(f"{url}/v1/events?q=trotsky&limit=2").json()
    assert len(whole) > 2
    assert first["total"] == {"value": len(whole), "relation": "eq"}


def test_link_header_points_at_the_next_page(client: httpx.Client) -> None:
    response = client.get("/v1/events?year=1929&limit=1")
    cursor = response.json()["next_cursor"]
    assert response.headers["link"] == f'</v1/events?year=1929&limit=1&cursor={cursor}>; rel="next"'


def test_a_cursor_is_signed_so_its_total_cannot_be_forged(client: httpx.Client, tmp_path: Path) -> None:
    """A cursor carries the total counted on page 1 (no later page counts again): a forged one used to
    be repeated back (`"value": 123456789, "relation": "eq"`)."""
    first = client.get("/v1/events", params={"year": 1929, "limit": 2}).json()
    cursor = first["next_cursor"]
    second = client.get("/v1/events", params={"year": 1929, "limit": 2, "cursor": cursor})
    assert second.status_code == 200 and second.json()["total"] == first["total"] == {"value": 5, "relation": "eq"}

    body, _, signature = cursor.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields[3] = 123456789
    forged = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")
    for value in (f"{forged}.{signature}", forged, f"{body}.{signature[:-2]}AA"):
        refused = client.get("/v1/events", params={"year": 1929, "limit": 2, "cursor": value})
        assert refused.status_code == 400 and refused.json()["invalid_params"][0]["name"] == "cursor"
        assert "123456789" not in refused.text
    # Another database signs with its own key (made at random by its migration; the PostgreSQL pass copies
    # one template database, so its key is replaced here): its cursors are not this one's.
    other = make_database(tmp_path / "other.sqlite3")
    run_sql(other, "UPDATE secrets SET value = :key WHERE name = 'cursor_key'", {"key": secrets.token_hex(32)})
    with serving(other) as http:
        assert http.get("/v1/events", params={"year": 1929, "limit": 2, "cursor": cursor}).status_code == 400
        theirs = http.get("/v1/events", params={"year": 1929, "limit": 2}).json()["next_cursor"]
        assert http.get("/v1/events", params={"year": 1929, "limit": 2, "cursor": theirs}).status_code == 200
