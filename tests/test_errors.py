"""Bad input: a 4xx problem+json that names the problem; no query string produces a 500."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("url", "status", "names"),
    [
        ("/v1/events?year=abc", 400, "year"),
        ("/v1/events?limit=100000", 400, "limit"),
        ("/v1/events?limit=0", 400, "limit"),
        ("/v1/events?month=13&day=1", 400, "month"),
        ("/v1/events?month=2&day=30", 400, "day"),
        ("/v1/events?month=2", 400, "day"),
        ("/v1/events?yaer=1929", 400, "yaer"),
        ("/v1/events?year=99999999999999999999999", 400, "year"),
        ("/v1/events?year=1929&from=1920", 400, "year"),
        ("/v1/events?from=1940&to=1920", 400, "from"),
        ("/v1/events?calendar=julian", 400, "calendar"),
        ("/v1/events?calendar=mayan&month=1&day=1", 400, "calendar"),
        ("/v1/events?person=nobody", 400, "person"),
        ("/v1/events?place=Not%20A%20Slug", 400, "place"),
        ("/v1/events?sort=title", 400, "sort"),
        ("/v1/events?cursor=garbage", 400, "cursor"),
        ("/v1/people?alive_in=-100000", 400, "alive_in"),
        ("/v1/people?born_from=1900&born_to=1800", 400, "born_from"),
        ("/v1/places?within=atlantis", 400, "within"),
        ("/v1/works?author=nobody", 400, "author"),
        ("/v1/sources?q=", 400, "q"),
        ('/v1/events?q="unbalanced', 400, "q"),
        ("/v1/people?q=trotsky%20OR", 400, "q"),
        ("/v1/places?q=(istanbul", 400, "q"),
        ("/v1/events/no-such-event", 404, "no-such-event"),
        ("/v1/people/no-such-person", 404, "no-such-person"),
        ("/v1/places/NOT_A_SLUG", 400, "slug"),
        ("/v1/nowhere", 404, "/v1/nowhere"),
    ],
)
def test_bad_requests_get_problem_json_naming_the_problem(
    client: httpx.Client, url: str, status: int, names: str
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert names in body["detail"] or any(p["name"] == names for p in body.get("invalid_params", []))


def test_unknown_parameter_lists_the_accepted_ones(client: httpx.Client) -> None:
    body = client.get("/v1/events?yaer=1929").json()
    [param] = body["invalid_params"]
    assert param["name"] == "yaer"
    assert "year" in param["reason"] and "from" in param["reason"] and "cursor" in param["reason"]


def test_cursor_of_another_sort_is_refused(client: httpx.Client) -> None:
    cursor = client.get("/v1/events?limit=1").json()["next_cursor"]
    response = client.get(f"/v1/events?limit=1&sort=-date&cursor={cursor}")
    assert response.status_code == 400
    assert "sort" in response.json()["detail"]


def test_method_not_allowed_is_problem_json(client: httpx.Client) -> None:
    response = client.post("/v1/timeline", json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


ENDPOINTS = ["/v1/events", "/v1/people", "/v1/places", "/v1/works", "/v1/sources"]
PARAMETERS = [
    "year", "from", "to", "month", "day", "calendar", "person", "place", "work", "kind", "q", "sort", "limit",
    "cursor", "born_from", "born_to", "alive_in", "within", "author", "subject", "published_from", "published_to",
]  # fmt: skip
values = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=30),
    st.sampled_from(["", "1929", "-43", "leon-trotsky", "%", "_", "'", '"', "\\", "\x00", "1e9", "NaN", "true"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ENDPOINTS), st.dictionaries(st.sampled_from(PARAMETERS), values, max_size=4))
def test_no_query_string_produces_a_500(client: httpx.Client, endpoint: str, params: dict[str, str]) -> None:
    response = client.get(endpoint, params=params)
    assert response.status_code < 500, (params, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM


def test_a_query_string_past_the_cap_is_a_414(client: httpx.Client) -> None:
    long = client.get("/v1/events", params={"q": "exile " * 2000})  # ~12 kB
    assert long.status_code == 414 and long.headers["content-type"] == "application/problem+json"
    assert "at most 4,096" in long.json()["detail"]
    assert client.get("/v1/events", params={"q": "exile " * 500}).status_code in (200, 400)  # 3 kB: not the cap
