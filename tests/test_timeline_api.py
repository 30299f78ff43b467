"""/v1/timeline: counts per bucket that agree with /v1/events for the same years and filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.queries.timeline import buckets
from app.schemas import Timeline


def timeline(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/timeline", params=params)
    assert response.status_code == 200, response.text
    Timeline.model_validate_json(response.content)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def listed(client: httpx.Client, **params: Any) -> int:
    response = client.get("/v1/events", params={**params, "limit": 100})
    assert response.status_code == 200, response.text
    total = response.json()["total"]
    assert total["relation"] == "eq"
    return int(total["value"])


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"person": "leon-trotsky"},
        {"q": "exile"},
        {"kind": "exile"},
        {"place": "france"},
        {"from": 1925, "to": 1933},
    ],
    ids=str,
)
@pytest.mark.parametrize("bucket", ["year", "decade", "century"])
def test_every_bucket_agrees_with_the_event_list(client: httpx.Client, filters: dict[str, Any], bucket: str) -> None:
    items = timeline(client, bucket=bucket, **filters)
    assert items and sum(item["count"] for item in items) > 0
    # A run of empty buckets is checked as one range (the seed's BCE events leave ~2,400 empty years
    # before the 20th century's); every other bucket on its own.
    ranges: list[tuple[int, int, int]] = []
    for item in items:
        if item["count"] == 0 and ranges and ranges[-1][2] == 0 and ranges[-1][1] == item["start"] - 1:
            ranges[-1] = (ranges[-1][0], item["end"], 0)
        else:
            ranges.append((item["start"], item["end"], item["count"]))
    for start, end, count in ranges:
        years = {"from": start, "to": end}
        if "from" in filters:  # the list takes one range: the bucket's part of the filter's
            years = {"from": max(start, filters["from"]), "to": min(end, filters["to"])}
        others = {k: v for k, v in filters.items() if k not in ("from", "to")}
        assert count == listed(client, **years, **others), (start, end, count, filters)


def test_a_multi_year_event_counts_in_each_year(client: httpx.Client) -> None:
    years = timeline(client, bucket="year", kind="exile", **{"from": 1928, "to": 1940})
    assert [item["start"] for item in years] == list(range(1928, 1941))
    assert all(item["count"] >= 1 for item in years)  # Trotsky's exile, January 1928 to August 1940


def test_buckets_are_aligned_and_bce_safe() -> None:
    assert [(start, end) for start, end, _lo, _hi in buckets(-45, -31, 10)] == [(-50, -41), (-40, -31)]
    assert [(start, end) for start, end, _lo, _hi in buckets(1917, 1917, 100)] == [(1900, 1999)]
    ((_start, _end, lo, hi),) = buckets(1929, 1929, 1)
    assert hi - lo == 364


def test_bce_buckets(client: httpx.Client) -> None:
    """The seed's BCE events: Marathon (490 BCE), Alexandria (c. 331 BCE), Caesar's death (44 BCE)."""
    decades = timeline(client, bucket="decade")
    assert decades[0] == {"start": -490, "end": -481, "count": 1, "label": "491 BCE-482 BCE"}
    by_start = {item["start"]: item for item in decades}
    assert by_start[-50] == {"start": -50, "end": -41, "count": 1, "label": "51 BCE-42 BCE"}
    assert by_start[-330]["count"] == 1 and by_start[-340]["count"] == 0
    assert by_start[0]["label"] == "1 BCE-9" and by_start[0]["count"] == 0
    assert [(c["label"], c["count"]) for c in timeline(client, bucket="century", **{"from": -500, "to": -1})] == [
        ("501 BCE-402 BCE", 1), ("401 BCE-302 BCE", 1), ("301 BCE-202 BCE", 0), ("201 BCE-102 BCE", 0),
        ("101 BCE-2 BCE", 1),
    ]  # fmt: skip
    years = timeline(client, bucket="year", **{"from": -44, "to": -42})
    assert [(y["label"], y["count"]) for y in years] == [("45 BCE", 0), ("44 BCE", 1), ("43 BCE", 0)]


def test_labels_nothing_matching_and_too_many_buckets(client: httpx.Client) -> None:
    bce = timeline(client, bucket="decade", **{"from": -45, "to": -41})
    assert bce[0]["label"] == "51 BCE-42 BCE" and bce[0]["count"] == 1  # Caesar's assassination, 44 BCE
    assert timeline(client, bucket="decade", person="ramon-mercader")[0]["label"] == "1940-1949"
    assert timeline(client, bucket="year", q="zyzzyva") == []
    response = client.get("/v1/timeline", params={"bucket": "year", "from": -9999, "to": 9999})
    assert response.status_code == 400 and "bucket" in response.json()["invalid_params"][0]["name"]
    assert client.get("/v1/timeline", params={"bucket": "week"}).status_code == 400
    assert client.get("/v1/timeline", params={"limit": 5}).status_code == 400  # not a list: no pages
