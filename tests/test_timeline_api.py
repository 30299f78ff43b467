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
    for item in items:
        years = {"from": item["start"], "to": item["end"]}
        if "from" in filters:  # the list takes one range: the bucket's part of the filter's
            years = {"from": max(item["start"], filters["from"]), "to": min(item["end"], filters["to"])}
        others = {k: v for k, v in filters.items() if k not in ("from", "to")}
        assert item["count"] == listed(client, **years, **others), (item, filters)


def test_a_multi_year_event_counts_in_each_year(client: httpx.Client) -> None:
    years = timeline(client, bucket="year", kind="exile", **{"from": 1928, "to": 1940})
    assert [item["start"] for item in years] == list(range(1928, 1941))
    assert all(item["count"] >= 1 for item in years)  # Trotsky's exile, January 1928 to August 1940


def test_buckets_are_aligned_and_bce_safe() -> None:
    assert [(start, end) for start, end, _lo, _hi in buckets(-45, -31, 10)] == [(-50, -41), (-40, -31)]
    assert [(start, end) for start, end, _lo, _hi in buckets(1917, 1917, 100)] == [(1900, 1999)]
    ((_start, _end, lo, hi),) = buckets(1929, 1929, 1)
    assert hi - lo == 364


def test_labels_nothing_matching_and_too_many_buckets(client: httpx.Client) -> None:
    bce = timeline(client, bucket="decade", **{"from": -45, "to": -41})
    assert bce[0]["label"] == "51 BCE-42 BCE" and bce[0]["count"] == 0
    assert timeline(client, bucket="decade", person="ramon-mercader")[0]["label"] == "1940-1949"
    assert timeline(client, bucket="year", q="zyzzyva") == []
    response = client.get("/v1/timeline", params={"bucket": "year", "from": -9999, "to": 9999})
    assert response.status_code == 400 and "bucket" in response.json()["invalid_params"][0]["name"]
    assert client.get("/v1/timeline", params={"bucket": "week"}).status_code == 400
    assert client.get("/v1/timeline", params={"limit": 5}).status_code == 400  # not a list: no pages
