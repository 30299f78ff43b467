"""Embedded links (include=), GeoJSON pages, and CSV / NDJSON exports of every list."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.db import SQLiteReads
from app.record_types.event.queries import page_links
from app.record_types.event.schemas import EventPage
from app.routers.formats import csv_columns
from app.schemas import EventSummary, SearchHit
from tests.conftest import LiveServer, load, make_database, serving


def test_include_embeds_each_events_links(client: httpx.Client) -> None:
    response = client.get("/v1/events", params={"include": "people,places,works", "limit": 100})
    EventPage.model_validate_json(response.content)
    for item in response.json()["items"]:
        detail = client.get(item["href"]).json()
        assert [(p["slug"], p["role"]) for p in item["people"]] == [(p["slug"], p["role"]) for p in detail["people"]]
        assert sorted(p["slug"] for p in item["places"]) == sorted(p["slug"] for p in detail["places"])
        assert [w["slug"] for w in item["works"]] == [w["slug"] for w in detail["works"]]
    plain = client.get("/v1/events").json()["items"][0]
    assert "people" not in plain and "places" not in plain


@pytest.mark.sqlite_only  # counts statements with sqlite3's trace callback
def test_include_costs_one_statement_per_kind_not_per_event(seeded_url: str) -> None:
    db = SQLiteReads(Path(seeded_url.removeprefix("sqlite:///")))
    ids = [row[0] for row in db.all("SELECT id FROM events")]
    statements: list[str] = []
    db.connection.set_trace_callback(statements.append)
    links = page_links(db, ids, ("people", "places", "works"))
    assert len(statements) == 3 and len(ids) > 20
    assert sum(map(len, links["people"].values())) == db.one("SELECT count(*) FROM event_people")[0]  # type: ignore[index]
    db.connection.set_trace_callback(None)
    db.close()


def test_geojson_places_and_events(client: httpx.Client) -> None:
    response = client.get("/v1/places", params={"near": "41.01,28.95", "radius_km": 50, "format": "geojson"})
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and collection["total"]["value"] == 2
    istanbul = collection["features"][0]
    assert istanbul["id"] == "istanbul" and istanbul["geometry"]["type"] == "Point"
    longitude, latitude = istanbul["geometry"]["coordinates"]  # GeoJSON: longitude first
    assert (round(latitude), round(longitude)) == (41, 29)
    events = client.get("/v1/events", headers={"Accept": "application/geo+json"}, params={"limit": 100}).json()
    by_slug = {feature["id"]: feature for feature in events["features"]}
    assert by_slug["life-on-buyukada"]["geometry"]["type"] == "Point"
    assert by_slug["arrival-in-constantinople"]["geometry"]["type"] == "MultiPoint"  # Istanbul and Odessa
    assert by_slug["theory-of-permanent-revolution"]["geometry"] is None  # no place recorded
    people = client.get("/v1/people", params={"format": "geojson"})
    assert people.status_code == 400 and people.json()["invalid_params"][0]["name"] == "format"


def all_events(client: httpx.Client) -> list[str]:
    return [item["slug"] for item in client.get("/v1/events", params={"limit": 100}).json()["items"]]


def test_csv_exports_every_record_with_a_fixed_header(client: httpx.Client) -> None:
    response = client.get("/v1/events", params={"format": "csv", "limit": 2})  # limit does not cut an export
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="events.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["slug"] for row in rows] == all_events(client)
    assert list(rows[0]) == [".".join(path) for path in csv_columns(EventSummary)]
    october = next(row for row in rows if row["slug"] == "october-revolution")
    assert october["date.label"] == "25 October 1917 (O.S.)" and october["date.gregorian.edtf"] == "1917-11-07"
    assert october["date.approximate"] == "false"


def test_ndjson_exports_from_a_cursor_on(client: httpx.Client) -> None:
    first = client.get("/v1/events", params={"limit": 5}).json()
    response = client.get(
        "/v1/events", params={"cursor": first["next_cursor"]}, headers={"Accept": "application/x-ndjson"}
    )
    assert response.headers["content-type"] == "application/x-ndjson"
    rest = [json.loads(line)["slug"] for line in response.text.splitlines()]
    assert [item["slug"] for item in first["items"]] + rest == all_events(client)


@pytest.mark.parametrize("url", ["/v1/people", "/v1/places", "/v1/works", "/v1/sources", "/v1/search"])
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_every_list_exports(client: httpx.Client, url: str, fmt: str) -> None:
    q = {"q": "trotsky"} if url == "/v1/search" else {}
    whole = client.get(url, params={**q, "limit": 100}).json()
    response = client.get(url, params={**q, "format": fmt})
    assert response.status_code == 200, response.text
    if fmt == "csv":
        slugs = [row["slug"] for row in csv.DictReader(io.StringIO(response.text))]
    else:
        slugs = [json.loads(line)["slug"] for line in response.text.splitlines()]
    assert slugs == [item["slug"] for item in whole["items"]]


def test_csv_columns_flatten_nested_objects() -> None:
    columns = csv_columns(SearchHit)
    assert ("score",) in columns and ("snippet",) in columns
    assert ("date", "gregorian", "label") in csv_columns(EventSummary)
    assert ("people",) in csv_columns(EventSummary)  # a list: one column of JSON


def linked_data(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.get(url, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/ld+json"
    assert response.headers["etag"].startswith('"1.ld')
    body: dict[str, Any] = response.json()
    assert body["@context"] == "https://schema.org" and body["@id"] == url  # relative: no public URL is set
    return body


def test_json_ld_ids_come_from_the_public_url_never_from_the_host_header(seeded_url: str) -> None:
    path = "/v1/events/october-revolution"
    spoofed = {"Accept": "application/ld+json", "Host": "evil.example"}
    with LiveServer(Settings(database_url=seeded_url)) as base:
        body = httpx.get(f"{base}{path}", headers=spoofed).json()
        assert body["@id"] == body["url"] == path and "evil" not in json.dumps(body)
    settings = Settings(database_url=seeded_url, public_url="https://history.example.org")
    with LiveServer(settings) as base:
        body = httpx.get(f"{base}{path}", headers=spoofed).json()
        assert body["@id"] == f"https://history.example.org{path}" and "evil" not in json.dumps(body)
        assert body["location"][0]["@id"] == "https://history.example.org/v1/places/saint-petersburg"


def test_json_ld_for_every_record_type(client: httpx.Client) -> None:
    trotsky = linked_data(client, "/v1/people/leon-trotsky")
    assert trotsky["@type"] == "Person" and "Lev Davidovich Bronstein" in trotsky["alternateName"]
    assert trotsky["birthDate"] == "1879-11-07" and trotsky["deathDate"] == "1940-08-21"  # Gregorian
    assert "https://www.wikidata.org/wiki/Q33391" in trotsky["sameAs"]
    istanbul = linked_data(client, "/v1/places/istanbul")
    assert istanbul["@type"] == "Place" and istanbul["geo"]["latitude"] == pytest.approx(41.01)
    assert istanbul["containedInPlace"]["name"] == "Turkey"
    history = linked_data(client, "/v1/works/the-history-of-the-russian-revolution")
    assert history["@type"] == "Book" and history["author"][0]["name"] == "Leon Trotsky"
    assert history["datePublished"] == "1930"  # published 1930-1932: the start
    murder = linked_data(client, "/v1/events/assassination-of-trotsky")
    assert murder["@type"] == "Event" and (murder["startDate"], murder["endDate"]) == ("1940-08-20", "1940-08-21")
    assert {p["name"] for p in murder["attendee"]} >= {"Leon Trotsky", "Ramón Mercader"}
    assert murder["location"][0]["@type"] == "Place"
    october = linked_data(client, "/v1/events/october-revolution")
    assert october["startDate"] == "1917-11-07"  # 25 October 1917 O.S., read in the Gregorian calendar


def test_geojson_features_for_places_and_events(client: httpx.Client) -> None:
    place = client.get("/v1/places/buyukada", headers={"Accept": "application/geo+json"})
    assert place.headers["content-type"] == "application/geo+json"
    assert place.json()["type"] == "Feature" and place.json()["geometry"]["type"] == "Point"
    event = client.get("/v1/events/life-in-france", headers={"Accept": "application/geo+json"}).json()
    assert event["geometry"]["type"] == "MultiPoint" and len(event["geometry"]["coordinates"]) == 3
    json_tag = client.get("/v1/places/buyukada", headers={"Accept-Encoding": "identity"}).headers["etag"]
    geo_tag = client.get(
        "/v1/places/buyukada", headers={"Accept": "application/geo+json", "Accept-Encoding": "identity"}
    ).headers["etag"]
    assert json_tag == '"1"' and geo_tag == '"1.geojson"'  # one strong tag per representation


def test_the_openapi_document_describes_the_discovery_endpoints(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/search", "/v1/on-this-day/{month_day}", "/v1/years/{year}", "/v1/timeline"):
        assert "200" in paths[path]["get"]["responses"] and "400" in paths[path]["get"]["responses"], path
    events = paths["/v1/events"]["get"]
    assert {"text/csv", "application/x-ndjson", "application/geo+json", "application/json"} <= set(
        events["responses"]["200"]["content"]
    )
    assert {p["name"] for p in events["parameters"]} >= {"near", "bbox", "include", "format"}
    assert "application/ld+json" in paths["/v1/people/{slug}"]["get"]["responses"]["200"]["content"]
    assert "304" in paths["/v1/people/{slug}"]["get"]["responses"]


def test_fields_narrows_every_format(client: httpx.Client) -> None:
    page = client.get("/v1/events", params={"fields": "slug,date", "year": 1929}).json()
    assert page["items"] and all(set(item) == {"slug", "date"} for item in page["items"])
    rows = list(
        csv.DictReader(io.StringIO(client.get("/v1/people", params={"fields": "name,slug", "format": "csv"}).text))
    )
    assert list(rows[0]) == ["slug", "name"]  # in the item's order
    places = client.get("/v1/places", params={"fields": "name", "near": "41.01,28.95", "format": "geojson"}).json()
    assert places["features"][0]["properties"] == {"name": "Istanbul"} and places["features"][0]["geometry"]
    refused = client.get("/v1/events", params={"fields": "slug,colour"})
    assert refused.status_code == 400 and "colour" in refused.json()["detail"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "required" not in schemas["EventSummary"] and "required" in schemas["EventPage"]


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    """OWASP's CSV injection: a text cell that begins with = + - @ tab or CR gets a leading ' so that a
    spreadsheet shows it as text; numbers (a negative latitude) and BCE dates stay as they are."""
    url = make_database(tmp_path / "formulas.sqlite3")
    titles = ['=HYPERLINK("http://x.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTab", "Plain"]
    cited = [{"source": "wikipedia-leon-trotsky"}]
    events = [
        {"type": "event", "slug": f"formula-{n}", "title": title, "kind": "test", "date": "1930", "citations": cited}
        for n, title in enumerate(titles)
    ]
    place = {
        "type": "place", "slug": "south-of-the-equator", "name": "=Somewhere", "kind": "city", "latitude": -33.87,
        "longitude": 151.21, "citations": cited,
    }  # fmt: skip
    load(url, [*events, place])
    with serving(url) as http:
        exported = http.get("/v1/events", params={"format": "csv", "year": 1930}).text
        shown = {row["slug"]: row["title"] for row in csv.DictReader(io.StringIO(exported))}
        assert [shown[f"formula-{n}"] for n in range(len(titles))] == [f"'{title}" for title in titles[:-1]] + ["Plain"]
        exported = http.get("/v1/places", params={"format": "csv", "q": "somewhere"}).text
        places = list(csv.DictReader(io.StringIO(exported)))
        assert places[0]["name"] == "'=Somewhere" and places[0]["latitude"] == "-33.87"
        # A BCE date calls nothing: a program reading the CSV gets it as recorded.
        bce = list(csv.DictReader(io.StringIO(http.get("/v1/events", params={"format": "csv", "year": -43}).text)))
        assert [(row["slug"], row["date.edtf"]) for row in bce] == [("assassination-of-julius-caesar", "-0043-03-15")]
