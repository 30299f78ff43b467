"""Places near a point or in a box, events there, across the antimeridian and near the poles."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.queries.geo import EARTH_RADIUS_KM, Area
from app.record_types.place.schemas import PlacePage
from tests.conftest import load, make_database, serving


def page(client: httpx.Client, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["items"]]


def test_istanbul_and_buyukada_nearest_first(client: httpx.Client) -> None:
    response = client.get("/v1/places", params={"near": "41.01,28.95", "radius_km": 50})
    PlacePage.model_validate_json(response.content)
    found = response.json()["items"]
    assert [p["slug"] for p in found] == ["istanbul", "buyukada"]
    assert found[0]["distance_km"] < 1 and 15 < found[1]["distance_km"] < 30  # Büyükada is ~22 km out
    nearest = page(client, "/v1/places", near="41.01,28.95", radius_km=50, limit=1)
    assert slugs(nearest) == ["istanbul"] and nearest["next_cursor"]
    rest = page(client, "/v1/places", near="41.01,28.95", radius_km=50, limit=1, cursor=nearest["next_cursor"])
    assert slugs(rest) == ["buyukada"] and rest["next_cursor"] is None


def test_boxes_and_events_there(client: httpx.Client) -> None:
    france = set(slugs(page(client, "/v1/places", bbox="-5,42,8,51", limit=100)))
    assert {"barbizon", "perigny"} <= france and "istanbul" not in france
    assert "arrival-in-constantinople" in slugs(page(client, "/v1/events", near="41.01,28.95", radius_km=50))
    in_france = slugs(page(client, "/v1/events", bbox="-5,42,8,51"))
    assert "founding-of-the-fourth-international" in in_france and "arrival-in-constantinople" not in in_france
    assert slugs(page(client, "/v1/events", bbox="-5,42,8,51", year=1938)) == ["founding-of-the-fourth-international"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"near": "95,0"}, "near"),
        ({"near": "0,181"}, "near"),
        ({"near": "north pole"}, "near"),
        ({"near": "0,0", "radius_km": 0}, "radius_km"),
        ({"near": "0,0", "radius_km": "nan"}, "radius_km"),
        ({"radius_km": 5}, "radius_km"),
        ({"bbox": "10,50,20,40"}, "bbox"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,0,1,1", "near": "0,0"}, "bbox"),
    ],
)
def test_bad_areas_are_400s(client: httpx.Client, params: dict[str, Any], parameter: str) -> None:
    for url in ("/v1/places", "/v1/events"):
        response = client.get(url, params=params)
        assert response.status_code == 400, response.text
        assert response.json()["invalid_params"][0]["name"] == parameter


def point(slug: str, latitude: float, longitude: float) -> dict[str, Any]:
    return {"type": "place", "slug": slug, "name": slug.title(), "kind": "point", "latitude": latitude,
            "longitude": longitude, "citations": [{"source": "test-source"}]}  # fmt: skip


EDGES = [
    {"type": "source", "slug": "test-source", "title": "Test source", "kind": "dataset"},
    point("east-of-the-line", -17.0, 179.95),
    point("west-of-the-line", -17.0, -179.95),
    point("far-east", -17.0, 170.0),
    point("near-the-pole", 89.95, 10.0),
    point("other-side-of-the-pole", 89.95, -170.0),
    point("equator", 0.0, 0.0),
]


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    url = make_database(Path(tmp_path_factory.mktemp("edges")) / "e.sqlite3", seed=False)
    load(url, EDGES)
    with serving(url) as http:
        yield http


def test_circles_and_boxes_across_the_antimeridian_and_over_a_pole(edges: httpx.Client) -> None:
    across = page(edges, "/v1/places", near="-17,179.99", radius_km=20)
    assert slugs(across) == ["east-of-the-line", "west-of-the-line"]
    assert slugs(page(edges, "/v1/places", bbox="179,-18,-179,-16")) == ["east-of-the-line", "west-of-the-line"]
    assert slugs(page(edges, "/v1/places", bbox="-179,-18,179,-16")) == ["far-east"]  # the long way round
    polar = page(edges, "/v1/places", near="90,0", radius_km=20)
    assert set(slugs(polar)) == {"near-the-pole", "other-side-of-the-pole"}
    everywhere = page(edges, "/v1/places", near="0,0", radius_km=20_016, limit=100)
    assert len(everywhere["items"]) == 6 and slugs(everywhere)[0] == "equator"


def test_the_box_around_a_circle_holds_it() -> None:
    for latitude in (0.0, 45.0, 80.0, -60.0):
        area = Area.around(latitude, 100.0, 500.0)
        # the easternmost point of the circle lies at the edge of the box, not outside it
        reach = math.degrees(500.0 / EARTH_RADIUS_KM)
        assert area.north == pytest.approx(latitude + reach) and area.east > 100.0
