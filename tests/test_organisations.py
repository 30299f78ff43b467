"""Organisations and memberships, end to end: the filters, one organisation in full, JSON-LD and
GeoJSON, editors' writes and revisions, and what the loader refuses."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.loader import LoadError, load_records
from app.record_types.event.schemas import EventDetail, EventPage
from app.record_types.organisation.schemas import OrganisationDetail, OrganisationPage
from app.record_types.person.schemas import PersonDetail, PersonPage
from tests.test_editing_api import Editing, editing  # noqa: F401  # the fixture


def slugs(client: httpx.Client, url: str, contract: Any) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    contract.model_validate_json(response.content)
    return [item["slug"] for item in response.json()["items"]]


def test_trotsky_was_in_the_red_army_in_1920_and_not_in_1930(client: httpx.Client) -> None:
    assert "leon-trotsky" in slugs(client, "/v1/people?member_of=red-army&member_in=1920", PersonPage)
    # People's Commissar for Military and Naval Affairs from 13 March 1918 to 15 January 1925.
    assert "leon-trotsky" not in slugs(client, "/v1/people?member_of=red-army&member_in=1930", PersonPage)
    assert "leon-trotsky" not in slugs(client, "/v1/people?member_of=red-army&member_in=1917", PersonPage)


def test_members_of_an_organisation_at_any_time(client: httpx.Client) -> None:
    party = slugs(client, "/v1/people?member_of=communist-party-of-the-soviet-union", PersonPage)
    assert {"leon-trotsky", "vladimir-lenin", "joseph-stalin"} <= set(party)
    assert "ramon-mercader" not in party
    assert slugs(client, "/v1/people?member_of=nkvd", PersonPage) == ["ramon-mercader"]


def test_a_membership_without_an_end_ends_with_the_persons_death(client: httpx.Client) -> None:
    # Lenin's place in the party has no recorded end: it ends with his death in 1924.
    assert "vladimir-lenin" in slugs(
        client, "/v1/people?member_of=communist-party-of-the-soviet-union&member_in=1923", PersonPage
    )
    assert "vladimir-lenin" not in slugs(
        client, "/v1/people?member_of=communist-party-of-the-soviet-union&member_in=1930", PersonPage
    )


def test_an_unknown_organisation_is_a_400_that_names_it(client: httpx.Client) -> None:
    response = client.get("/v1/people?member_of=no-such-party")
    assert response.status_code == 400
    assert "no organisation with slug 'no-such-party'" in response.json()["detail"]
    assert client.get("/v1/events?organisation=no-such-party").status_code == 400


def test_organisations_by_name_kind_and_years(client: httpx.Client) -> None:
    assert "red-army" in slugs(client, "/v1/organisations?q=Red%20Army", OrganisationPage)
    assert "red-army" in slugs(client, "/v1/organisations?q=Красная", OrganisationPage)  # another name, in Russian
    assert slugs(client, "/v1/organisations?kind=army", OrganisationPage) == ["red-army"]
    # The Comintern: founded in March 1919, dissolved on 15 May 1943.
    assert "communist-international" in slugs(client, "/v1/organisations?active_in=1943", OrganisationPage)
    assert "communist-international" not in slugs(client, "/v1/organisations?active_in=1944", OrganisationPage)
    assert "communist-international" not in slugs(client, "/v1/organisations?active_in=1918", OrganisationPage)
    assert "fourth-international" in slugs(client, "/v1/organisations?active_in=1938", OrganisationPage)


def test_organisations_page_in_name_order(client: httpx.Client) -> None:
    first = client.get("/v1/organisations?limit=3").json()
    second = client.get(f"/v1/organisations?limit=3&cursor={first['next_cursor']}").json()
    names = [item["name"] for item in first["items"] + second["items"]]
    assert names == sorted(names) and len(set(names)) == 6


def test_the_red_army_in_full(client: httpx.Client) -> None:
    army = OrganisationDetail.model_validate_json(client.get("/v1/organisations/red-army").content)
    assert army.founded is not None and army.founded.label == "15 January 1918 (O.S.)"
    assert army.founded.gregorian.edtf == "1918-01-28"
    assert army.identifiers == {"wikidata": "Q251395"}
    assert any(m.slug == "leon-trotsky" and m.role == "commissar" for m in army.members)
    assert any(e.slug == "red-army-founded" and e.role == "founded" for e in army.events)
    assert army.sources, "every record cites its sources"
    assert {"Красная армия"} <= {n.name for n in army.names}


def test_predecessors_and_successors_are_two_sides_of_one_link(client: httpx.Client) -> None:
    soviet = OrganisationDetail.model_validate_json(client.get("/v1/organisations/petrograd-soviet").content)
    assert [p.slug for p in soviet.predecessors] == ["saint-petersburg-soviet"]
    earlier = OrganisationDetail.model_validate_json(client.get("/v1/organisations/saint-petersburg-soviet").content)
    assert [s.slug for s in earlier.successors] == ["petrograd-soviet"]


def test_events_of_an_organisation_and_an_events_organisations(client: httpx.Client) -> None:
    assert "red-army-founded" in slugs(client, "/v1/events?organisation=red-army", EventPage)
    founded = EventDetail.model_validate_json(client.get("/v1/events/red-army-founded").content)
    assert ("red-army", "founded") in {(o.slug, o.role) for o in founded.organisations}


def test_trotskys_memberships_on_his_page(client: httpx.Client) -> None:
    trotsky = PersonDetail.model_validate_json(client.get("/v1/people/leon-trotsky").content)
    commissar = [m for m in trotsky.memberships if m.slug == "red-army"]
    assert commissar and commissar[0].role == "commissar"
    assert commissar[0].start is not None and commissar[0].start.edtf == "1918-03-13"


def test_json_ld_organization_and_member_of(client: httpx.Client) -> None:
    ld = {"Accept": "application/ld+json"}
    army = client.get("/v1/organisations/red-army", headers=ld).json()
    assert army["@type"] == "Organization" and army["name"] == "Red Army"
    assert army["foundingDate"] == "1918-01-28"
    assert army["sameAs"] == ["https://www.wikidata.org/wiki/Q251395"]
    trotsky = client.get("/v1/people/leon-trotsky", headers=ld).json()
    roles = [r for r in trotsky["memberOf"] if r["memberOf"]["name"] == "Red Army"]
    assert roles[0]["@type"] == "OrganizationRole" and roles[0]["roleName"] == "commissar"
    assert roles[0]["startDate"] == "1918-03-13" and roles[0]["endDate"] == "1925-01-15"


def test_geojson_puts_an_organisation_at_its_seat(client: httpx.Client) -> None:
    collection = client.get("/v1/organisations?format=geojson&limit=100").json()
    assert collection["type"] == "FeatureCollection"
    comintern = next(f for f in collection["features"] if f["id"] == "communist-international")
    assert comintern["geometry"]["type"] == "Point"
    longitude, latitude = comintern["geometry"]["coordinates"]
    assert (round(latitude), round(longitude)) == (56, 38)  # Moscow
    one = client.get("/v1/organisations/communist-international", headers={"Accept": "application/geo+json"})
    assert one.json()["type"] == "Feature"


def test_search_finds_organisations(client: httpx.Client) -> None:
    found = client.get("/v1/search?q=Comintern").json()["items"]
    assert [(hit["type"], hit["slug"]) for hit in found][:1] == [("organisation", "communist-international")]


ORGANISATION = {
    "slug": "test-international", "name": "Test International", "kind": "international", "founded": "1938-09-03",
    "names": [{"name": "Quatrième Internationale d'essai", "language": "fr"}], "predecessors": ["left-opposition"],
    "citations": [{"source": "chronicle-research-notes"}],
}  # fmt: skip


def test_an_editor_creates_patches_and_deletes_an_organisation(editing: Editing) -> None:  # noqa: F811
    created = editing.post("/v1/organisations", ORGANISATION)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/v1/organisations/test-international"
    assert [p["slug"] for p in created.json()["predecessors"]] == ["left-opposition"]
    patched = editing.patch("/v1/organisations/test-international", {"dissolved": "1940"}, created.headers["ETag"])
    assert patched.status_code == 200, patched.text
    assert patched.json()["dissolved"]["edtf"] == "1940"
    member = {"organisation": "test-international", "role": "founder", "start": "1938"}
    person = editing.http.get("/v1/people/natalia-sedova")
    joined = editing.patch("/v1/people/natalia-sedova", {"memberships": [member]}, person.headers["ETag"])
    assert joined.status_code == 200, joined.text
    assert [m["slug"] for m in joined.json()["memberships"]] == ["test-international"]
    etag = patched.headers["ETag"]
    refused = editing.http.delete("/v1/organisations/test-international", headers=editing.auth(**{"If-Match": etag}))
    assert refused.status_code == 409
    assert {("type", "person"), ("slug", "natalia-sedova")} <= set(refused.json()["linked_by"][0].items())
    deleted = editing.http.delete(
        "/v1/organisations/test-international?unlink=true", headers=editing.auth(**{"If-Match": etag})
    )
    assert deleted.status_code == 204, deleted.text
    assert editing.http.get("/v1/people/natalia-sedova").json()["memberships"] == []
    revisions = editing.http.get("/v1/organisations/test-international/revisions", headers=editing.auth()).json()
    assert [r["action"] for r in revisions["items"]] == ["create", "update", "delete"]


def load_error(session: Any, records: list[dict[str, Any]]) -> str:
    with pytest.raises(LoadError) as raised:
        load_records(session, records)
    return str(raised.value)


def test_the_loader_refuses_what_cannot_be_right(tmp_path: Any) -> None:
    from app.db import make_engine, make_sessionmaker
    from tests.conftest import make_database

    engine = make_engine(make_database(tmp_path / "o.sqlite3"))
    cite = [{"source": "chronicle-research-notes"}]
    with make_sessionmaker(engine)() as session:
        late = {"type": "organisation", "slug": "late", "name": "Late", "kind": "party", "founded": "1930",
                "dissolved": "1920", "citations": cite}  # fmt: skip
        assert "dissolved is before founded" in load_error(session, [late])
        person = {"type": "person", "slug": "joiner", "name": "Joiner", "citations": cite,
                  "memberships": [{"organisation": "no-such-party"}]}  # fmt: skip
        assert "memberships[0].organisation" in load_error(session, [person])
        ring = [
            {"type": "organisation", "slug": "a", "name": "A", "kind": "party", "part_of": "b", "citations": cite},
            {"type": "organisation", "slug": "b", "name": "B", "kind": "party", "part_of": "a", "citations": cite},
        ]
        assert "cycle" in load_error(session, ring)
        ended = {**person, "memberships": [{"organisation": "red-army", "start": "1930", "end": "1920"}]}
        assert "end is before start" in load_error(session, [ended])
    engine.dispose()


def test_an_editors_write_validates_its_document_once(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATCH is validated where it is checked (before its slug is looked up), and the loader takes
    the validated record as it is."""
    from app import registry, writes
    from app.db import make_engine, make_sessionmaker
    from app.loading import records
    from tests.conftest import make_database

    calls = []
    adapter = registry.record_adapter

    class Counting:
        def validate_python(self, raw: Any) -> Any:
            calls.append(raw.get("slug"))
            return adapter.validate_python(raw)

    engine = make_engine(make_database(tmp_path / "v.sqlite3"))
    monkeypatch.setattr(records, "record_adapter", Counting())
    with make_sessionmaker(engine).begin() as session:
        writes.patch(session, "organisation", "red-army", {"kind": "army"}, '"1"', "tester")
    engine.dispose()
    assert calls == ["red-army"]


def test_organisations_and_memberships_round_trip_through_export(client: httpx.Client) -> None:
    """What was loaded is what the export gives back: an organisation (names over time, founding in
    the Julian calendar, predecessors) and a person's memberships (roles, dates), canonical."""
    from app.cli import SEED_FILE
    from app.documents import canonical_document
    from app.loader import read_file
    from app.registry import record_adapter

    seed = {(r["type"], r["slug"]): r for r in read_file(SEED_FILE)}
    response = client.get("/v1/export?format=ndjson")
    assert response.status_code == 200
    exported = {(d["type"], d["slug"]): d for d in map(json.loads, response.text.splitlines())}
    for key in [("organisation", "communist-party-of-the-soviet-union"), ("organisation", "petrograd-soviet"),
                ("person", "leon-trotsky"), ("event", "red-army-founded")]:  # fmt: skip
        assert exported[key] == canonical_document(record_adapter.validate_python(seed[key])), key
    memberships = exported[("person", "leon-trotsky")]["memberships"]
    assert {"organisation": "red-army", "role": "commissar", "start": "1918-03-13", "end": "1925-01-15",
            "note": "People's Commissar for Military and Naval Affairs"} in memberships  # fmt: skip
