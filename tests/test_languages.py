"""Names in every language: search by any of them, and a record named in the language asked for."""

from __future__ import annotations

import httpx
import pytest

from app.etags import revision_of
from app.languages import MAX_RANGES, lookup, requested
from tests.test_editing_api import Editing, editing  # noqa: F401  # the fixture


def name(client: httpx.Client, url: str, field: str = "name", **headers: str) -> tuple[str, str | None]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()[field], response.headers.get("content-language")


def test_search_finds_trotsky_by_his_russian_name(client: httpx.Client) -> None:
    hits = client.get("/v1/search", params={"q": "Троцкий"}).json()["items"]
    assert [(hit["type"], hit["slug"]) for hit in hits][:1] == [("person", "leon-trotsky")]


def test_people_finds_trotsky_by_his_german_name(client: httpx.Client) -> None:
    assert [p["slug"] for p in client.get("/v1/people?q=Trotzki").json()["items"]] == ["leon-trotsky"]
    assert [p["slug"] for p in client.get("/v1/people?q=Trotski").json()["items"]] == ["leon-trotsky"]  # fr, es


def test_accept_language_ru_names_him_lev_trotsky(client: httpx.Client) -> None:
    response = client.get("/v1/people/leon-trotsky", headers={"Accept-Language": "ru"})
    assert response.json()["name"] == "Лев Троцкий"  # the first Russian name given, not his full name
    assert response.headers["content-language"] == "ru"
    assert "Accept-Language" in response.headers["vary"]


def test_the_main_name_when_no_name_is_in_the_language_asked(client: httpx.Client) -> None:
    assert name(client, "/v1/people/leon-trotsky", **{"Accept-Language": "ja"}) == ("Leon Trotsky", None)
    assert name(client, "/v1/people/leon-trotsky") == ("Leon Trotsky", None)
    # Birth names are not names to call him by: English has only those.
    assert name(client, "/v1/people/leon-trotsky", **{"Accept-Language": "en"}) == ("Leon Trotsky", None)


def test_accept_language_q_values_and_lookup(client: httpx.Client) -> None:
    url = "/v1/people/leon-trotsky"
    assert name(client, url, **{"Accept-Language": "ja, de;q=0.5, fr;q=0.8"}) == ("Léon Trotski", "fr")
    assert name(client, url, **{"Accept-Language": "fr;q=0, es"}) == ("León Trotski", "es")
    assert name(client, url, **{"Accept-Language": "de-AT"}) == ("Leo Trotzki", "de")  # de-AT, then de
    assert name(client, url + "?lang=fr", **{"Accept-Language": "ru"}) == ("Léon Trotski", "fr")  # lang wins


def test_a_bad_lang_is_a_400_that_names_it(client: httpx.Client) -> None:
    response = client.get("/v1/people/leon-trotsky?lang=x!")
    assert response.status_code == 400
    assert "language tag" in response.json()["detail"]
    assert client.get("/v1/people/leon-trotsky?lang=ru&other=1").status_code == 400


def test_each_language_asked_is_its_own_representation(client: httpx.Client) -> None:
    plain = client.get("/v1/people/leon-trotsky")
    russian = client.get("/v1/people/leon-trotsky", headers={"Accept-Language": "ru"})
    assert plain.headers["etag"] != russian.headers["etag"]
    assert revision_of(russian.headers["etag"]) == revision_of(plain.headers["etag"])
    again = client.get(
        "/v1/people/leon-trotsky", headers={"Accept-Language": "ru", "If-None-Match": russian.headers["etag"]}
    )
    assert again.status_code == 304
    other = client.get(
        "/v1/people/leon-trotsky", headers={"Accept-Language": "fr", "If-None-Match": russian.headers["etag"]}
    )
    assert other.status_code == 200 and other.json()["name"] == "Léon Trotski"


def test_places_organisations_and_works_in_russian(client: httpx.Client) -> None:
    assert name(client, "/v1/places/saint-petersburg?lang=ru") == ("Санкт-Петербург", "ru")
    # Alma-Ata was its Russian name from 1921 to 1993, not today's: no current Russian name.
    assert name(client, "/v1/places/almaty?lang=ru") == ("Almaty", None)
    assert name(client, "/v1/organisations/red-army", **{"Accept-Language": "ru"}) == ("Красная армия", "ru")
    assert name(client, "/v1/works/my-life?lang=ru", "title") == ("Моя жизнь", "ru")
    ld = client.get("/v1/people/leon-trotsky?lang=ru", headers={"Accept": "application/ld+json"})
    assert ld.json()["name"] == "Лев Троцкий" and ld.headers["content-language"] == "ru"


def test_search_finds_a_work_by_its_russian_title(client: httpx.Client) -> None:
    hits = client.get("/v1/search", params={"q": "жизнь"}).json()["items"]
    assert ("work", "my-life") in [(hit["type"], hit["slug"]) for hit in hits]


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("ru", ("ru",)),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ("fr-ch", "fr", "en", "de")),
        ("en;q=0.1, ru", ("ru", "en")),
        ("ru;q=0, en", ("en",)),
        ("ru;q=2, en;q=abc, <script>, en-US", ("en-us",)),  # malformed ranges are ignored
        ("", ()),
    ],
)
def test_accept_language_is_read_best_first(header: str, wanted: tuple[str, ...]) -> None:
    assert requested(None, header) == wanted


def test_a_long_accept_language_is_read_no_further_than_its_first_ranges() -> None:
    header = ", ".join(f"x{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(1000))
    assert len(requested(None, header)) == MAX_RANGES


def test_lookup_falls_back_along_the_tag() -> None:
    names = [("Лев Троцкий", "ru"), ("Leo Trotzki", "de")]
    assert lookup(names, ("ru-latn-ru",)) == ("Лев Троцкий", "ru")
    assert lookup(names, ("ja", "de")) == ("Leo Trotzki", "de")
    assert lookup(names, ("ja",)) is None


def test_events_have_names_in_other_languages_too(client: httpx.Client) -> None:
    hits = client.get("/v1/search", params={"q": "Октябрьская"}).json()["items"]
    assert [(hit["type"], hit["slug"]) for hit in hits][:1] == [("event", "october-revolution")]
    assert name(client, "/v1/events/october-revolution?lang=ru", "title") == ("Октябрьская революция", "ru")
    event = client.get("/v1/events/october-revolution").json()
    assert event["title"] == "October Revolution"
    assert {"name": "Октябрьская революция", "language": "ru", "note": None} in event["names"]


def test_a_source_is_titled_in_the_language_asked(editing: Editing) -> None:  # noqa: F811
    source = {"slug": "test-source", "title": "A test source", "kind": "book",
              "names": [{"name": "Источник для проверки", "language": "ru"}]}  # fmt: skip
    assert editing.post("/v1/sources", source).status_code == 201
    answer = editing.http.get("/v1/sources/test-source", headers={"Accept-Language": "ru"})
    assert answer.json()["title"] == "Источник для проверки" and answer.headers["content-language"] == "ru"
    assert editing.http.get("/v1/sources/test-source").json()["title"] == "A test source"


def test_a_source_as_json_ld(client: httpx.Client) -> None:
    ld = client.get("/v1/sources/the-exile-of-leon-trotsky", headers={"Accept": "application/ld+json"}).json()
    assert ld["@type"] == "CreativeWork" and ld["name"] == "The Exile of Leon Trotsky"
    assert client.get("/v1/sources/the-exile-of-leon-trotsky?lang=ru").status_code == 200
    assert client.get("/v1/sources/the-exile-of-leon-trotsky?bogus=1").status_code == 400
