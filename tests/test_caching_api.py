"""HTTP caching: ETags (weak data version for lists, strong revision for records), 304s, gzip, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import SEED_FILE
from app.etags import compressed, list_tag, opaque, record_tag, revision_of
from app.loader import read_file
from tests.conftest import load, make_database, serving


def test_lists_carry_the_data_version_and_answer_304(client: httpx.Client) -> None:
    response = client.get("/v1/events", params={"year": 1929})
    etag = response.headers["etag"]
    assert etag.startswith('W/"d') and etag.endswith('.json"')
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["last-modified"].endswith(" GMT") and "Accept" in response.headers["vary"]
    again = client.get("/v1/events", params={"year": 1929}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other_format = client.get("/v1/events", params={"year": 1929, "format": "csv"})
    assert other_format.headers["etag"] != etag
    for url in ("/v1/on-this-day/11-07", "/v1/years/1940", "/v1/timeline", "/v1/search?q=exile", "/v1/people"):
        tagged = client.get(url)
        assert tagged.headers["etag"].startswith('W/"d'), url
        assert client.get(url, headers={"If-None-Match": tagged.headers["etag"]}).status_code == 304, url


def test_records_carry_their_revision_as_a_strong_etag(client: httpx.Client) -> None:
    response = client.get("/v1/events/october-revolution", headers={"Accept-Encoding": "identity"})
    assert response.headers["etag"] == '"1"' and response.headers["cache-control"] == "public, no-cache"
    assert response.headers["last-modified"].endswith(" GMT")
    for tag in ('"1"', 'W/"1"', '"7", "1"', "*"):
        cached = client.get("/v1/events/october-revolution", headers={"If-None-Match": tag})
        assert cached.status_code == 304, tag
    assert client.get("/v1/events/october-revolution", headers={"If-None-Match": '"2"'}).status_code == 200
    assert client.get("/v1/events/no-such-event", headers={"If-None-Match": "*"}).status_code == 404


def test_gzip_never_reuses_a_strong_etag(client: httpx.Client) -> None:
    compressed = client.get("/v1/people/leon-trotsky", headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["etag"] == '"1-gzip"'
    assert compressed.json()["slug"] == "leon-trotsky"  # httpx decompresses
    revalidated = client.get(
        "/v1/people/leon-trotsky", headers={"Accept-Encoding": "gzip", "If-None-Match": '"1-gzip"'}
    )
    assert revalidated.status_code == 304
    listed = client.get("/v1/events", params={"limit": 100}, headers={"Accept-Encoding": "gzip"})
    assert listed.headers["content-encoding"] == "gzip" and listed.headers["etag"].startswith('W/"d')
    small = client.get("/v1/sources/the-exile-of-leon-trotsky", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers or len(small.content) >= 1024


def test_cors_is_open_for_reads_and_never_with_credentials(client: httpx.Client) -> None:
    response = client.get("/v1/events", headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed and "link" in exposed
    preflight = client.options(
        "/v1/events", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200 and "access-control-allow-credentials" not in preflight.headers
    # An editor's page elsewhere may write with its key (in Authorization, never a cookie).
    write = client.options("/v1/events", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match, content-type",
    })  # fmt: skip
    assert write.status_code == 200 and "access-control-allow-credentials" not in write.headers


@pytest.fixture
def changing(tmp_path: Path) -> Iterator[tuple[str, httpx.Client]]:
    url = make_database(tmp_path / "changing.sqlite3")
    with serving(url) as http:
        yield url, http


def test_a_change_to_the_data_changes_the_etags(changing: tuple[str, httpx.Client]) -> None:
    url, client = changing
    list_etag = client.get("/v1/people").headers["etag"]
    record_etag = client.get("/v1/people/leon-trotsky").headers["etag"]
    seed = read_file(SEED_FILE)
    load(url, seed)  # the same records again: nothing changes, nor do the ETags
    assert client.get("/v1/people").headers["etag"] == list_etag
    trotsky = next(r for r in seed if r["slug"] == "leon-trotsky")
    load(url, [{**trotsky, "description": "Revolutionary and writer."}])
    assert client.get("/v1/people", headers={"If-None-Match": list_etag}).status_code == 200
    assert client.get("/v1/people").headers["etag"] != list_etag
    changed = client.get("/v1/people/leon-trotsky", headers={"If-None-Match": record_etag})
    assert changed.status_code == 200 and changed.headers["etag"].startswith('"2')
    assert changed.json()["description"] == "Revolutionary and writer."


def test_remembered_answers_follow_the_data(changing: tuple[str, httpx.Client]) -> None:
    url, client = changing
    before = client.get("/v1/timeline", params={"bucket": "century"}).json()["items"]
    assert client.get("/v1/timeline", params={"bucket": "century"}).json()["items"] == before  # remembered
    load(url, [{"type": "event", "slug": "a-new-event", "title": "A new event", "kind": "test", "date": "1950-06-01",
                "citations": [{"source": "the-exile-of-leon-trotsky"}]}])  # fmt: skip
    after = client.get("/v1/timeline", params={"bucket": "century"}).json()["items"]
    assert [b["count"] for b in after] == [b["count"] + (b["start"] == 1900) for b in before]


def test_entity_tags_are_made_and_read_back_in_one_place() -> None:
    """app.etags: a gzipped answer's strong tag names the same revision, and compares equal weakly."""
    for representation in ("", "ld", "geojson"):
        tag = record_tag(3, representation)
        assert revision_of(tag) == revision_of(compressed(tag)) == 3
        assert opaque(compressed(tag)) == opaque(tag) == tag
    assert compressed(list_tag(42, "json")) == list_tag(42, "json") == 'W/"d42.json"'  # weak: no suffix
    assert revision_of(list_tag(42, "json")) is None


def test_if_modified_since_is_answered_without_if_none_match(client: httpx.Client) -> None:
    for url in ("/v1/people/leon-trotsky", "/v1/events?year=1929"):
        first = client.get(url)
        last_modified = first.headers["last-modified"]
        assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
        later = "Fri, 01 Jan 2100 00:00:00 GMT"
        assert client.get(url, headers={"If-Modified-Since": later}).status_code == 304
        earlier = "Sat, 01 Jan 2000 00:00:00 GMT"
        assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
        assert client.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200
        # If-None-Match wins: a tag that is not the current one means "send it", whatever the date.
        both = {"If-None-Match": '"0"', "If-Modified-Since": later}
        assert client.get(url, headers=both).status_code == 200


def test_revisions_and_the_change_feed_carry_validators(client: httpx.Client) -> None:
    for url in ("/v1/changes", "/v1/events/october-revolution/revisions", "/v1/events/october-revolution/revisions/1"):
        first = client.get(url)
        assert first.status_code == 200 and first.headers["etag"].startswith('W/"d')
        assert "last-modified" in first.headers
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, url
    changes, revisions = (client.get(u).headers["etag"] for u in ("/v1/changes", "/v1/people/leon-trotsky/revisions"))
    assert changes != revisions  # each its own representation of the data version


def test_a_gzipped_answer_names_accept_encoding_once_in_vary(client: httpx.Client) -> None:
    response = client.get("/v1/events?year=1929", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    vary = [name.strip() for name in response.headers["vary"].split(",")]
    assert vary.count("Accept-Encoding") == 1 and "Accept" in vary
