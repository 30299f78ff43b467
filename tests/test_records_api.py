"""/v1/people, /v1/places, /v1/works and /v1/sources over HTTP."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel

from app.models import name_key
from app.record_types.person.schemas import PersonDetail, PersonPage
from app.record_types.place.schemas import PlaceDetail, PlacePage
from app.record_types.source.schemas import SourceDetail, SourcePage
from app.record_types.work.schemas import WorkDetail, WorkPage


def items(client: httpx.Client, url: str, contract: type[BaseModel]) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    contract.model_validate_json(response.content)
    return [item["slug"] for item in response.json()["items"]]


def test_bronstein_finds_trotsky(client: httpx.Client) -> None:
    assert items(client, "/v1/people?q=Bronstein", PersonPage) == ["leon-trotsky"]


def test_trotsky_in_full(client: httpx.Client) -> None:
    response = client.get("/v1/people/leon-trotsky")
    person = PersonDetail.model_validate_json(response.content)
    assert person.born is not None and person.born.label == "26 October 1879 (O.S.)"
    assert person.born.gregorian.edtf == "1879-11-07"
    assert person.died is not None and person.died.label == "21 August 1940"
    assert person.death_place is not None and person.death_place.slug == "coyoacan"
    assert person.identifiers == {"wikidata": "Q33391"}
    assert "Lev Davidovich Bronstein" in [alias.name for alias in person.aliases]
    assert "october-revolution" in [event.slug for event in person.events]
    assert "the-history-of-the-russian-revolution" in [work.slug for work in person.works]


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        # Sedova (April 1882 - 1962) and Mercader (1913 - 1978) have sourced life dates; Service has none.
        ("alive_in=1938", {"leon-trotsky", "joseph-stalin", "natalia-sedova", "ramon-mercader"}, {"vladimir-lenin"}),
        ("alive_in=-43", {"julius-caesar", "marcus-junius-brutus", "gaius-cassius-longinus"}, {"leon-trotsky"}),
        ("dated=false", {"robert-service"}, {"leon-trotsky", "natalia-sedova"}),
        ("dated=true", {"leon-trotsky", "natalia-sedova", "gaius-cassius-longinus"}, {"robert-service"}),
        ("alive_in=1923", {"vladimir-lenin", "leon-trotsky"}, set()),
        ("born_from=1875&born_to=1880", {"leon-trotsky", "joseph-stalin"}, {"vladimir-lenin"}),
        ("q=stalin", {"joseph-stalin"}, {"leon-trotsky"}),
        ("q=trots*", {"leon-trotsky"}, {"joseph-stalin"}),  # names and aliases only, not descriptions
        ("q=lev%20bronstein", {"leon-trotsky"}, {"joseph-stalin"}),  # an alias
        ("name_prefix=LEON%20T", {"leon-trotsky"}, {"joseph-stalin"}),
        ("name_prefix=ramon%20m", {"ramon-mercader"}, {"leon-trotsky"}),  # Ramón
        ("name_prefix=trotsky", set(), {"leon-trotsky"}),  # a prefix of the whole name
    ],
)
def test_people_filters(client: httpx.Client, query: str, expected: set[str], absent: set[str]) -> None:
    found = set(items(client, f"/v1/people?{query}", PersonPage))
    assert expected <= found
    assert not absent & found


def test_alive_in_says_whom_it_cannot_place(client: httpx.Client) -> None:
    """People with neither a birth nor a death date are in no year: `unplaced` counts them and links to them."""
    body = client.get("/v1/people?alive_in=1938").json()
    PersonPage.model_validate(body)
    placed = {item["slug"] for item in body["items"]}
    assert placed == {"joseph-stalin", "leon-trotsky", "natalia-sedova", "ramon-mercader"}
    # Robert Service: no life date in the seed (none confirmed by a source it cites).
    assert body["unplaced"] == {"value": 1, "relation": "eq", "href": "/v1/people?dated=false"}
    assert items(client, body["unplaced"]["href"], PersonPage) == ["robert-service"]
    # The link keeps the other filters; a filter that needs a date leaves no one to place.
    narrowed = client.get("/v1/people?alive_in=1938&q=robert").json()
    assert narrowed["items"] == [] and narrowed["unplaced"]["href"] == "/v1/people?q=robert&dated=false"
    assert narrowed["unplaced"]["value"] == 1
    assert client.get("/v1/people?alive_in=1938&born_from=1800").json()["unplaced"]["value"] == 0
    # Only with alive_in; never in exports (items only).
    assert "unplaced" not in client.get("/v1/people").json()
    assert "unplaced" not in client.get("/v1/people?alive_in=1938&format=ndjson").text
    # Later pages say it too.
    first = client.get("/v1/people?alive_in=1938&limit=2").json()
    second = client.get(f"/v1/people?alive_in=1938&limit=2&cursor={first['next_cursor']}").json()
    assert second["unplaced"] == first["unplaced"] and len(first["items"] + second["items"]) == 4


def test_alive_in_is_documented_with_who_it_leaves_out(client: httpx.Client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/people"]["get"]
    described = {p["name"]: p["description"] for p in operation["parameters"]}
    assert "not listed" in described["alive_in"] and "`unplaced`" in described["alive_in"]
    assert "dated" in described


def test_sourced_life_dates_where_sources_disagree(client: httpx.Client) -> None:
    sedova = PersonDetail.model_validate_json(client.get("/v1/people/natalia-sedova").content)
    assert sedova.born is not None and sedova.born.label == "April 1882"  # 5 April, calendar unstated
    assert sedova.died is not None and sedova.died.label == "23 January 1962 or 23 December 1962"
    mercader = PersonDetail.model_validate_json(client.get("/v1/people/ramon-mercader").content)
    assert mercader.born is not None and mercader.born.label == "7 February 1913"
    assert mercader.died is not None and mercader.died.label == "18 or 19 October 1978"
    assert {source.slug for source in sedova.sources} >= {"wikipedia-natalia-sedova", "wikipedia-ru-natalia-sedova"}


def test_bce_people(client: httpx.Client) -> None:
    caesar = PersonDetail.model_validate_json(client.get("/v1/people/julius-caesar").content)
    assert caesar.born is not None and caesar.born.label == "100 BCE?" and caesar.born.uncertain
    assert caesar.died is not None and caesar.died.label == "15 March 44 BCE (O.S.)"
    assert caesar.died.gregorian.label == "13 March 44 BCE"
    assert caesar.death_place is not None and caesar.death_place.slug == "curia-of-pompey"
    assert "assassination-of-julius-caesar" in [event.slug for event in caesar.events]
    brutus = client.get("/v1/people/marcus-junius-brutus").json()
    assert brutus["born"]["label"] == "c. 85 BCE" and brutus["died"]["label"] == "42 BCE"
    born = items(client, "/v1/people?born_from=-100&born_to=-80", PersonPage)
    assert born == ["julius-caesar", "marcus-junius-brutus"]  # 100 BCE? and c. 85 BCE


def test_people_sort_by_name_without_case_or_diacritics(client: httpx.Client) -> None:
    names = [p["name"] for p in client.get("/v1/people?limit=100").json()["items"]]
    assert names == sorted(names, key=name_key) and "Ramón Mercader" in names


def test_works_by_trotsky(client: httpx.Client) -> None:
    found = items(client, "/v1/works?author=leon-trotsky", WorkPage)
    assert "the-history-of-the-russian-revolution" in found
    assert "trotsky-a-biography" not in found
    assert items(client, "/v1/works?author=robert-service", WorkPage) == ["trotsky-a-biography"]


def test_works_published_in_a_range(client: httpx.Client) -> None:
    found = set(items(client, "/v1/works?published_from=1935&published_to=1937", WorkPage))
    assert found == {"the-revolution-betrayed"}


def test_a_work_in_full(client: httpx.Client) -> None:
    work = WorkDetail.model_validate_json(client.get("/v1/works/trotsky-a-biography").content)
    assert [(c.slug, c.role) for c in work.creators] == [("robert-service", "author")]
    assert work.identifiers.get("isbn") == "9780674036154"
    assert work.published is not None and work.published.label == "2009"


def test_places_by_historical_name_and_containment(client: httpx.Client) -> None:
    assert items(client, "/v1/places?q=Constantinople", PlacePage) == ["istanbul"]
    assert "leningrad" not in items(client, "/v1/places?q=Leningrad", PlacePage)
    assert items(client, "/v1/places?q=Leningrad", PlacePage) == ["saint-petersburg"]
    within_france = set(items(client, "/v1/places?within=france", PlacePage))
    assert "perigny" in within_france and "france" not in within_france and "istanbul" not in within_france


def test_a_place_with_its_names_over_time(client: httpx.Client) -> None:
    place = PlaceDetail.model_validate_json(client.get("/v1/places/istanbul").content)
    constantinople = next(n for n in place.names if n.name == "Constantinople")
    assert constantinople.to_year == 1930
    assert [a.slug for a in place.ancestors] == ["turkey"]
    assert "buyukada" in [c.slug for c in place.children]
    assert "arrival-in-constantinople" in [e.slug for e in place.events]


def test_sources_and_what_cites_them(client: httpx.Client) -> None:
    assert "the-exile-of-leon-trotsky" in items(client, "/v1/sources?kind=article&limit=100", SourcePage)
    source = SourceDetail.model_validate_json(client.get("/v1/sources/the-exile-of-leon-trotsky").content)
    assert source.url is None  # the article's address is not known: never invented
    assert {"event", "person", "work"} <= {c.type for c in source.cited_by}


@pytest.mark.parametrize(
    ("collection", "contract"),
    [("people", PersonDetail), ("places", PlaceDetail), ("works", WorkDetail), ("sources", SourceDetail)],
)
def test_every_record_matches_its_contract(client: httpx.Client, collection: str, contract: type[BaseModel]) -> None:
    url = f"/v1/{collection}?limit=10"
    seen = 0
    while url:
        response = client.get(url)
        for item in response.json()["items"]:
            detail = client.get(item["href"])
            assert detail.status_code == 200, item["href"]
            contract.model_validate_json(detail.content)
            seen += 1
        url = response.headers.get("link", "").split(">")[0].lstrip("<")
    assert seen == client.get(f"/v1/{collection}?limit=1").json()["total"]["value"]
