"""Embedded links (include=), GeoJSON pages, and CSV / NDJSON exports of every list."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest

from app.db import ReadConnection
from app.queries.events import page_links
from app.routers.formats import csv_columns
from app.schemas import EventPage, EventSummary, SearchHit


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


def test_include_costs_one_statement_per_kind_not_per_event(seeded_url: str) -> None:
    db = ReadConnection(Path(seeded_url.removeprefix("sqlite:///")))
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
