"""Editors' writes over HTTP (issue 5): keys, create / replace / patch / delete / restore with If-Match,
revisions, renamed slugs, the changes feed, imports and the audit trail - against the real app."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from app.cli import SEED_FILE, main
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.keys import create_key, revoke_key
from app.loader import LoadOptions, load_records, read_file
from tests.conftest import ENGINE, LiveServer, database_url, make_database, run_sql

PROBLEM = "application/problem+json"
EVENT: dict[str, Any] = {
    "slug": "lecture-in-copenhagen",
    "title": "Trotsky lectures in Copenhagen",
    "kind": "lecture",
    "date": "1932-11-27",
    "people": [{"person": "leon-trotsky", "role": "subject"}],
    "places": [{"place": "berlin"}],
    "citations": [{"source": "the-exile-of-leon-trotsky"}],
}


@dataclass
class Editing:
    url: str  # the database
    http: httpx.Client
    keys: dict[str, str]  # scope -> key

    def auth(self, scope: str = "write", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}", **headers}

    def post(self, path: str, body: Any, scope: str = "write") -> httpx.Response:
        return self.http.post(path, json=body, headers=self.auth(scope))

    def patch(self, path: str, body: Any, etag: str | None) -> httpx.Response:
        headers = self.auth(**({"If-Match": etag} if etag else {}))
        return self.http.patch(path, json=body, headers={**headers, "Content-Type": "application/merge-patch+json"})

    def data_version(self) -> tuple[int, ...]:
        return tuple(run_sql(self.url, "SELECT version FROM data_version")[0])


def make_keys(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        keys = {scope: create_key(session, f"{scope}-editor", scope) for scope in ("read", "write", "admin")}
    engine.dispose()
    return keys


@pytest.fixture
def editing(tmp_path: Path) -> Iterator[Editing]:
    url = make_database(tmp_path / "edit.sqlite3")
    keys = make_keys(url)
    # identity: ETags as stored ("1"); a gzip answer's ETag ("1-gzip") is accepted by If-Match too (tested).
    headers = {"Accept-Encoding": "identity"}
    with (
        LiveServer(Settings(database_url=url)) as base,
        httpx.Client(base_url=base, timeout=30, headers=headers) as http,
    ):
        yield Editing(url, http, keys)


def test_the_readme_walkthrough(editing: Editing) -> None:
    """Create an event linked to a person and a place, update it, read its revisions, delete it, restore it."""
    created = editing.post("/v1/events", EVENT)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/events/lecture-in-copenhagen"
    assert created.headers["etag"] == '"1"'
    body = created.json()
    assert [p["slug"] for p in body["people"]] == ["leon-trotsky"] and body["places"][0]["slug"] == "berlin"

    updated = editing.patch("/v1/events/lecture-in-copenhagen", {"summary": "To students, on 27 November."}, '"1"')
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"' and updated.json()["summary"] == "To students, on 27 November."

    revisions = editing.http.get("/v1/events/lecture-in-copenhagen/revisions").json()
    assert [(r["revision"], r["action"], r["author"]) for r in revisions["items"]] == [
        (1, "create", "write-editor"),
        (2, "update", "write-editor"),
    ]
    assert revisions["items"][1]["changed"] == ["summary"]
    first = editing.http.get("/v1/events/lecture-in-copenhagen/revisions/1").json()
    assert first["document"] == {"type": "event", **EVENT, "places": [{"place": "berlin"}]}

    deleted = editing.http.delete("/v1/events/lecture-in-copenhagen", headers=editing.auth(**{"If-Match": '"2"'}))
    assert deleted.status_code == 204
    assert editing.http.get("/v1/events/lecture-in-copenhagen").status_code == 410
    assert editing.http.get("/v1/events?q=copenhagen").json()["items"] == []

    restored = editing.http.post("/v1/events/lecture-in-copenhagen/restore", headers=editing.auth("admin"))
    assert restored.status_code == 200, restored.text
    assert restored.headers["etag"] == '"4"' and restored.json()["summary"] == "To students, on 27 November."
    assert [i["slug"] for i in editing.http.get("/v1/events?q=copenhagen").json()["items"]] == ["lecture-in-copenhagen"]
    actions = [r["action"] for r in editing.http.get("/v1/events/lecture-in-copenhagen/revisions").json()["items"]]
    assert actions == ["create", "update", "delete", "restore"]


def test_keys_are_checked(editing: Editing) -> None:
    anonymous = editing.http.post("/v1/events", json=EVENT)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    wrong = editing.http.post("/v1/events", json=EVENT, headers={"Authorization": "Bearer chr_not-a-key"})
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert editing.http.post("/v1/events", json=EVENT, headers={"Authorization": "Basic abc"}).status_code == 401
    assert editing.post("/v1/events", EVENT, scope="read").status_code == 403
    assert editing.post("/v1/events", EVENT).status_code == 201
    restore = editing.http.post("/v1/events/lecture-in-copenhagen/restore?revision=1", headers=editing.auth("write"))
    assert restore.status_code == 403 and "admin" in restore.json()["detail"]

    engine = make_engine(editing.url)
    with make_sessionmaker(engine).begin() as session:
        assert revoke_key(session, "write-editor")
    engine.dispose()
    assert editing.post("/v1/events", {**EVENT, "slug": "another"}).status_code == 401


def test_no_key_is_stored_or_logged_in_clear(
    editing: Editing, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("chronicle.audit").addHandler(caplog.handler)
    editing.post("/v1/events", EVENT)
    editing.post("/v1/events", EVENT)  # a 409, audited too
    editing.http.post("/v1/events", json=EVENT, headers={"Authorization": "Bearer chr_wrong"})
    if ENGINE == "sqlite":  # every byte of the database's files
        database = Path(editing.url.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    else:  # every row of the tables that a key could end up in
        tables = ("api_keys", "audit", "revisions", "records")
        stored = repr([run_sql(editing.url, f"SELECT * FROM {table}") for table in tables]).encode()
    logged = capfd.readouterr()
    for key in editing.keys.values():
        assert key.encode() not in stored
        assert key not in logged.out and key not in logged.err
    logging.getLogger("chronicle.audit").removeHandler(caplog.handler)
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "chronicle.audit"]
    assert [(line["key"], line["status"], line["outcome"]) for line in lines][:1] == [("write-editor", 201, "done")]
    assert not any(key in caplog.text for key in editing.keys.values())
    audit = [
        tuple(row)
        for row in run_sql(editing.url, "SELECT key_name, method, path, record, status FROM audit ORDER BY id")
    ]
    assert audit == [
        ("write-editor", "POST", "/v1/events", "event/lecture-in-copenhagen", 201),
        ("write-editor", "POST", "/v1/events", "event/lecture-in-copenhagen", 409),
    ]


def test_if_match_is_required_and_checked(editing: Editing) -> None:
    editing.post("/v1/events", EVENT)
    path = "/v1/events/lecture-in-copenhagen"
    missing = editing.patch(path, {"title": "x"}, None)
    assert missing.status_code == 428 and missing.headers["content-type"] == PROBLEM
    assert editing.patch(path, {"title": "First"}, '"1-gzip"').status_code == 200  # a compressed answer's ETag
    stale = editing.patch(path, {"title": "Second"}, '"1"')
    assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
    assert editing.http.get(path).json()["title"] == "First"
    assert editing.http.delete(path, headers=editing.auth()).status_code == 428
    assert editing.http.delete(path, headers=editing.auth(**{"If-Match": '"1"'})).status_code == 412
    put = {**EVENT, "title": "Replaced"}
    assert editing.http.put(path, json=put, headers=editing.auth(**{"If-Match": '"2"'})).status_code == 200
    assert editing.http.get(path).json()["title"] == "Replaced"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"colour": "red"}, 422, "colour"),
        ({"date": "1932-13-45"}, 422, "date"),
        ({"people": [{"person": "nobody"}]}, 422, "people[0].person"),
        ({"citations": []}, 422, "citations"),
        ({"type": "person"}, 422, "type"),
        ({"slug": "Not A Slug"}, 422, "slug"),
        ({"slug": "october-revolution"}, 409, None),
        ({"identifiers": {"wikidata": "Q33391"}}, 422, "identifiers.wikidata"),  # Trotsky's
    ],
)
def test_bad_records_name_the_field_and_change_nothing(
    editing: Editing, change: dict[str, Any], status: int, field: str | None
) -> None:
    before = editing.data_version()
    response = editing.post("/v1/events", {**EVENT, **change})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    if field is not None:
        assert field in [p["name"] for p in response.json()["invalid_params"]]
    assert editing.data_version() == before


def test_bodies_that_are_not_records(editing: Editing) -> None:
    headers = editing.auth(**{"Content-Type": "application/json"})
    assert editing.http.post("/v1/events", content=b"{not json", headers=headers).status_code == 400
    assert editing.http.post("/v1/events", content=b"[1, 2]", headers=headers).status_code == 422
    text_body = editing.auth(**{"Content-Type": "text/plain"})
    assert editing.http.post("/v1/events", content=b"{}", headers=text_body).status_code == 415
    assert editing.http.post("/v1/events?bogus=1", json=EVENT, headers=editing.auth()).status_code == 400
    huge = {**EVENT, "summary": "x" * (2**20)}
    too_large = editing.post("/v1/events", huge)
    assert too_large.status_code == 413 and too_large.headers["content-type"] == PROBLEM


def test_a_renamed_slug_redirects(editing: Editing) -> None:
    editing.post("/v1/events", EVENT)
    # A rename in a write that fails is undone with the rest of the write.
    failing = {**EVENT, "slug": "elsewhere", "date": "1932-02-30"}
    refused = editing.http.put(
        "/v1/events/lecture-in-copenhagen", json=failing, headers=editing.auth(**{"If-Match": '"1"'})
    )
    assert refused.status_code == 422 and editing.http.get("/v1/events/elsewhere").status_code == 404
    renamed = {**EVENT, "slug": "lecture-in-copenhagen-1932"}
    response = editing.http.put(
        "/v1/events/lecture-in-copenhagen", json=renamed, headers=editing.auth(**{"If-Match": '"1"'})
    )
    assert response.status_code == 200 and response.json()["slug"] == "lecture-in-copenhagen-1932"
    old = editing.http.get("/v1/events/lecture-in-copenhagen/revisions?limit=5", follow_redirects=False)
    assert old.status_code == 301
    assert old.headers["location"] == "/v1/events/lecture-in-copenhagen-1932/revisions?limit=5"
    followed = editing.http.get("/v1/events/lecture-in-copenhagen", follow_redirects=True)
    assert followed.json()["slug"] == "lecture-in-copenhagen-1932"
    # Renaming a person keeps filters by the old slug working.
    trotsky = editing.http.get("/v1/people/leon-trotsky")
    document = editing.http.get("/v1/people/leon-trotsky/revisions/1").json()["document"]
    moved = editing.http.put(
        "/v1/people/leon-trotsky", json={**document, "slug": "lev-trotsky"},
        headers=editing.auth(**{"If-Match": trotsky.headers["etag"]}),
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    by_old = editing.http.get("/v1/events?person=leon-trotsky&limit=100").json()
    by_new = editing.http.get("/v1/events?person=lev-trotsky&limit=100").json()
    assert by_old == by_new and by_new["total"]["value"] > 5


def test_deleting_a_linked_record_names_the_links_unless_told_to_unlink(editing: Editing) -> None:
    editing.post("/v1/events", EVENT)  # at Berlin, as two works of the seed are (published there)
    etag = editing.http.get("/v1/places/berlin").headers["etag"]
    refused = editing.http.delete("/v1/places/berlin", headers=editing.auth(**{"If-Match": etag}))
    assert refused.status_code == 409, refused.text
    linking = {(r["type"], r["slug"]) for r in refused.json()["linked_by"]}
    assert linking == {
        ("event", "lecture-in-copenhagen"),
        ("work", "the-history-of-the-russian-revolution"),
        ("work", "the-permanent-revolution"),
    }
    assert editing.http.get("/v1/places/berlin").status_code == 200

    unlinked = editing.http.delete("/v1/places/berlin?unlink=true", headers=editing.auth(**{"If-Match": etag}))
    assert unlinked.status_code == 204, unlinked.text
    assert editing.http.get("/v1/places/berlin").status_code == 410
    for record_type, slug in linking:
        collection = {"event": "events", "person": "people", "place": "places", "work": "works"}[record_type]
        record = editing.http.get(f"/v1/{collection}/{slug}").json()
        assert "berlin" not in json.dumps(record), (record_type, slug)
        last = editing.http.get(f"/v1/{collection}/{slug}/revisions").json()["items"][-1]
        assert last["author"] == "write-editor" and last["action"] == "update"


def test_the_changes_feed_lists_every_change_in_order(editing: Editing) -> None:
    # One change per seed record.
    records = len(read_file(SEED_FILE))
    seeded = editing.http.get("/v1/changes?limit=100").json()
    assert seeded["total"] == {"value": records, "relation": "eq"}
    seen = 0
    cursor_page = editing.http.get("/v1/changes?limit=50").json()
    seen += len(cursor_page["items"])
    while cursor_page["next_cursor"] is not None:
        cursor_page = editing.http.get(f"/v1/changes?limit=50&cursor={cursor_page['next_cursor']}").json()
        seen += len(cursor_page["items"])
    assert seen == records
    last = cursor_page["items"][-1]["seq"]
    editing.post("/v1/events", EVENT)
    editing.patch("/v1/events/lecture-in-copenhagen", {"title": "Changed"}, '"1"')
    changes = editing.http.get(f"/v1/changes?since={last}").json()["items"]
    assert [(c["slug"], c["revision"], c["action"]) for c in changes] == [
        ("lecture-in-copenhagen", 1, "create"),
        ("lecture-in-copenhagen", 2, "update"),
    ]
    assert editing.http.get(changes[1]["href"]).json()["document"]["title"] == "Changed"


# --- imports -------------------------------------------------------------------------------------------


def events(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "type": "event",
            **EVENT,
            "slug": f"imported-{i}",
            "title": f"Imported event {i}",
            "date": f"{1900 + i % 100}-01-01",
        }
        for i in range(start, start + count)
    ]


def import_(editing: Editing, records: Any, query: str = "", *, ndjson: bool = False) -> httpx.Response:
    if ndjson:
        body = b"".join(json.dumps(r).encode() + b"\n" for r in records)
        headers = editing.auth(**{"Content-Type": "application/x-ndjson"})
    else:
        body, headers = json.dumps(records).encode(), editing.auth(**{"Content-Type": "application/json"})
    return editing.http.post(f"/v1/import{query}", content=body, headers=headers)


def count_events(editing: Editing) -> int:
    return int(run_sql(editing.url, "SELECT count(*) FROM events")[0][0])


def test_an_import_with_one_bad_record_writes_nothing(editing: Editing) -> None:
    records = events(10_000)
    records[7_321]["date"] = "1917-02-30"
    before = count_events(editing)
    refused = import_(editing, records)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(7_321, "date")]
    assert count_events(editing) == before
    records[7_321]["date"] = "1917-02-28"
    dry = import_(editing, records, "?dry_run=true").json()
    assert dry["dry_run"] is True and len(dry["created"]) == 10_000 and count_events(editing) == before
    done = import_(editing, records, ndjson=True)
    assert done.status_code == 200, done.text
    assert len(done.json()["created"]) == 10_000 and count_events(editing) == before + 10_000
    again = import_(editing, records).json()
    assert again["unchanged"] == 10_000 and again["created"] == again["updated"] == []


def test_an_import_never_silently_overwrites_an_editors_change(editing: Editing) -> None:
    records = events(3)
    import_(editing, records)
    edited = editing.patch("/v1/events/imported-1", {"title": "Corrected by an editor"}, '"1"')
    assert edited.status_code == 200
    records[0]["title"] = "Changed upstream"
    records[1]["title"] = "Also changed upstream"
    conflict = import_(editing, records)
    assert conflict.status_code == 409
    assert [(e["index"], e["record"]) for e in conflict.json()["errors"]] == [(1, "event 'imported-1'")]
    assert editing.http.get("/v1/events/imported-0").json()["title"] == "Imported event 0"  # all or nothing
    skipped = import_(editing, records, "?on_conflict=skip").json()
    assert skipped["skipped"] == ["event/imported-1"] and skipped["updated"] == ["event/imported-0"]
    assert editing.http.get("/v1/events/imported-1").json()["title"] == "Corrected by an editor"
    overwritten = import_(editing, records, "?on_conflict=overwrite").json()
    assert overwritten["updated"] == ["event/imported-1"]
    assert editing.http.get("/v1/events/imported-1").json()["title"] == "Also changed upstream"
    # The editor's version is still in the history.
    titles = [
        editing.http.get(r["href"]).json()["document"]["title"]
        for r in editing.http.get("/v1/events/imported-1/revisions").json()["items"]
    ]
    assert titles == ["Imported event 1", "Corrected by an editor", "Also changed upstream"]


def test_reseeding_obeys_the_same_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = database_url(tmp_path / "seeded.sqlite3")
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(main, ["db", "seed"]).exit_code == 0
    edited = (
        "UPDATE records SET edited_at = '2026-12-01 00:00:00+00:00', content_hash = 'x' WHERE slug = 'leon-trotsky'"
    )
    run_sql(url, edited)
    refused = runner.invoke(main, ["db", "seed"])
    assert refused.exit_code == 1 and "leon-trotsky" in refused.output and "changed by an editor" in refused.output
    kept = runner.invoke(main, ["db", "seed", "--on-conflict", "skip"])
    assert kept.exit_code == 0 and "1 skipped" in kept.output
    get_settings.cache_clear()


def test_chronicle_import_and_keys_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONICLE_DATABASE_URL", database_url(tmp_path / "cli.sqlite3"))
    get_settings.cache_clear()
    runner = CliRunner()
    assert (
        runner.invoke(main, ["import", str(SEED_FILE), "--dry-run"])
        .output.strip()
        .endswith(f"would be: {len(read_file(SEED_FILE))} created, 0 updated, 0 unchanged")  # the seed's records
    )
    assert f"{len(read_file(SEED_FILE))} created" in runner.invoke(main, ["import", str(SEED_FILE)]).output
    ndjson = tmp_path / "more.ndjson"
    ndjson.write_text("".join(json.dumps(r) + "\n" for r in events(5)))
    assert "5 created" in runner.invoke(main, ["import", str(ndjson)]).output
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(events(1)[0]) + "\n{oops\n")
    failed = runner.invoke(main, ["import", str(bad)])
    assert failed.exit_code == 1 and "line 2" in failed.output

    created = runner.invoke(main, ["keys", "create", "--name", "ci", "--scope", "admin"])
    key = created.stdout.strip().splitlines()[0]
    assert created.exit_code == 0 and key.startswith("chr_") and len(key) == 47
    assert runner.invoke(main, ["keys", "create", "--name", "ci"]).exit_code == 1  # names are unique
    listed = runner.invoke(main, ["keys", "list"]).output
    assert "ci\tadmin\t" + key[:12] in listed and key not in listed
    assert runner.invoke(main, ["keys", "revoke", "ci"]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["keys", "list"]).output
    assert runner.invoke(main, ["keys", "revoke", "ci"]).exit_code == 1
    get_settings.cache_clear()


def test_reads_can_require_a_key(tmp_path: Path) -> None:
    url = make_database(tmp_path / "closed.sqlite3")
    keys = make_keys(url)
    with LiveServer(Settings(database_url=url, read_requires_key=True)) as base, httpx.Client(base_url=base) as http:
        assert http.get("/v1/events").status_code == 401
        assert http.get("/v1/events", headers={"Authorization": f"Bearer {keys['read']}"}).status_code == 200
        assert http.get("/openapi.json").status_code == 200  # the docs stay open


def test_a_writer_that_cannot_get_the_lock_gets_503_not_500(editing: Editing) -> None:
    """A long import (here: a transaction held open) keeps the write lock past the busy timeout."""
    engine = make_engine(editing.url)
    holder = engine.connect()  # its transaction takes the write lock (app.db), on either engine
    holder.begin()
    try:
        busy = editing.post("/v1/events", EVENT)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1", busy.text
    assert busy.headers["content-type"] == PROBLEM
    assert editing.post("/v1/events", EVENT).status_code == 201  # and then it goes through


def test_records_loaded_without_history_keep_their_first_version(tmp_path: Path) -> None:
    """`chronicle generate` (and databases made before migration 0009) keep no history rows: the first
    change records a snapshot of the record as it was, then the change."""
    url = make_database(tmp_path / "bare.sqlite3", seed=False)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        load_records(session, read_file(SEED_FILE), LoadOptions(author="generate", history=False))
    engine.dispose()
    keys = make_keys(url)
    with LiveServer(Settings(database_url=url)) as base, httpx.Client(base_url=base) as http:
        assert http.get("/v1/people/leon-trotsky/revisions").json()["items"] == []
        auth = {"Authorization": f"Bearer {keys['write']}", "If-Match": '"1"'}
        patched = http.patch("/v1/people/leon-trotsky", json={"description": "Revolutionary."}, headers=auth)
        assert patched.status_code == 200, patched.text
        history = http.get("/v1/people/leon-trotsky/revisions").json()["items"]
        assert [(r["revision"], r["action"], r["author"]) for r in history] == [
            (1, "snapshot", "(before history)"),
            (2, "update", "write-editor"),
        ]
        assert history[1]["changed"] == ["description"]
        before = http.get(history[0]["href"]).json()["document"]
        assert before["description"].startswith("Russian revolutionary") and before["born"]["calendar"] == "julian"


# --- found in review: renames, conflicts and cycles across the database ---------------------------------


def current_etag(editing: Editing, path: str) -> str:
    return str(editing.http.get(path).headers["etag"])


def test_a_rename_does_not_break_writes_to_the_records_that_link_to_it(editing: Editing) -> None:
    renamed = editing.patch("/v1/places/gorki", {"slug": "gorki-leninskiye"}, current_etag(editing, "/v1/places/gorki"))
    assert renamed.status_code == 200, renamed.text
    path = "/v1/events/death-of-lenin"
    patched = editing.patch(path, {"kind": "death"}, current_etag(editing, path))
    assert patched.status_code == 200, patched.text
    assert [p["slug"] for p in patched.json()["places"]] == ["gorki-leninskiye"]
    # An old document naming the old slug is still understood (restore, import).
    restored = editing.http.post(f"{path}/restore?revision=1", headers=editing.auth("admin"))
    assert restored.status_code == 200, restored.text
    # The seed's record under its old slug is the renamed record, changed by an editor: a conflict.
    seed = [r for r in json.loads(SEED_FILE.read_text()) if r["slug"] == "gorki"]
    conflict = import_(editing, seed)
    assert conflict.status_code == 409 and "renamed 'gorki-leninskiye'" in conflict.text
    assert editing.http.get("/v1/places?q=gorki").json()["total"]["value"] == 1


def test_renaming_twice_and_reusing_an_old_slug(editing: Editing) -> None:
    editing.post("/v1/events", EVENT)
    first = {**EVENT, "slug": "second-name"}
    assert editing.patch("/v1/events/lecture-in-copenhagen", {"slug": "second-name"}, '"1"').status_code == 200
    assert import_(editing, [{"type": "event", **EVENT, "slug": "lecture-in-copenhagen"}]).status_code == 409
    assert editing.post("/v1/events", EVENT).status_code == 201  # POST may take the old slug back
    again = editing.patch("/v1/events/lecture-in-copenhagen", {"slug": "third-name"}, '"1"')
    assert again.status_code == 200, again.text
    assert editing.http.get("/v1/events/second-name").json()["title"] == first["title"]
    moved = editing.http.get("/v1/events/lecture-in-copenhagen", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/v1/events/third-name"
    hrefs = [c["href"] for c in editing.http.get("/v1/changes?since=87").json()["items"]]
    assert all("/lecture-in-copenhagen/" not in href for href in hrefs)  # each names its record's slug now


def test_deleted_records_and_imports(editing: Editing) -> None:
    editing.post("/v1/events", EVENT)
    etag = current_etag(editing, "/v1/events/lecture-in-copenhagen")
    assert editing.http.delete(
        "/v1/events/lecture-in-copenhagen", headers=editing.auth(**{"If-Match": etag})
    ).is_success
    record = {"type": "event", **EVENT}
    # Bringing a deleted record back is an admin's act, by restore or by import.
    assert import_(editing, [record], "?on_conflict=overwrite").status_code == 409
    child = {"type": "event", **EVENT, "slug": "a-part", "part_of": "lecture-in-copenhagen"}
    skipped = import_(editing, [record, child], "?on_conflict=skip")
    assert skipped.status_code == 409 and "part_of" in skipped.text  # a link to what stays deleted
    editing.keys["write"] = editing.keys["admin"]
    assert import_(editing, [record], "?on_conflict=overwrite").status_code == 200
    assert editing.http.get("/v1/events/lecture-in-copenhagen").status_code == 200


def test_cycles_through_the_database_are_refused(editing: Editing) -> None:
    place = {"name": "A", "kind": "region", "citations": [{"source": "the-exile-of-leon-trotsky"}]}
    assert editing.post("/v1/places", {**place, "slug": "outer"}).status_code == 201
    assert editing.post("/v1/places", {**place, "slug": "inner", "parent": "outer"}).status_code == 201
    cycle = editing.patch("/v1/places/outer", {"parent": "inner"}, '"1"')
    assert cycle.status_code == 422 and cycle.json()["invalid_params"][0]["name"] == "parent"


def test_odd_bodies_are_refused_cleanly(editing: Editing) -> None:
    editing.post("/v1/events", EVENT)
    deep: dict[str, Any] = {}
    for _ in range(900):
        deep = {"a": deep}
    assert editing.patch("/v1/events/lecture-in-copenhagen", deep, '"1"').status_code == 422
    not_an_array = import_(editing, {"item": {"type": "event", **EVENT, "slug": "x"}})
    assert not_an_array.status_code == 422 and count_events(editing) == 28  # the seed's 27 and this one
    # If-Match takes the ETag of any representation of the current revision.
    ld = editing.http.get("/v1/events/lecture-in-copenhagen", headers={"Accept": "application/ld+json"})
    assert ld.headers["etag"] == '"1.ld"'
    assert editing.patch("/v1/events/lecture-in-copenhagen", {"title": "T"}, '"1.ld"').status_code == 200


def test_renaming_a_record_without_history_keeps_its_old_slug_in_the_snapshot(tmp_path: Path) -> None:
    url = make_database(tmp_path / "bare.sqlite3", seed=False)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        load_records(session, read_file(SEED_FILE), LoadOptions(history=False))
    engine.dispose()
    keys = make_keys(url)
    with LiveServer(Settings(database_url=url)) as base, httpx.Client(base_url=base) as http:
        auth = {"Authorization": f"Bearer {keys['write']}", "If-Match": '"1"'}
        assert http.patch("/v1/places/gorki", json={"slug": "gorki-leninskiye"}, headers=auth).status_code == 200
        history = http.get("/v1/places/gorki-leninskiye/revisions").json()["items"]
        assert [(r["action"], r["slug"], r["changed"]) for r in history] == [
            ("snapshot", "gorki", []),
            ("update", "gorki-leninskiye", ["slug"]),
        ]


def test_identical_citations_are_stored_once(editing: Editing) -> None:
    """The same citation given three times is one citation (rows, document, history); a different
    one (another page) stays, in the order first given."""
    cited = {"source": "the-exile-of-leon-trotsky", "page": "12"}
    event = {**EVENT, "citations": [cited, {"source": "the-exile-of-leon-trotsky"}, dict(cited), dict(cited)]}
    created = editing.post("/v1/events", event)
    assert created.status_code == 201, created.text
    shown = editing.http.get("/v1/events/lecture-in-copenhagen").json()["sources"]
    assert [(c["slug"], c["page"]) for c in shown] == [
        ("the-exile-of-leon-trotsky", "12"),
        ("the-exile-of-leon-trotsky", None),
    ]
    rows = run_sql(
        editing.url,
        "SELECT count(*) FROM citations c JOIN records r ON r.id = c.record_id WHERE r.slug = 'lecture-in-copenhagen'",
    )
    assert rows[0][0] == 2
    document = editing.http.get("/v1/events/lecture-in-copenhagen/revisions/1").json()["document"]
    assert document["citations"] == [cited, {"source": "the-exile-of-leon-trotsky"}]
    # Imported again with the duplicates (or without them): the same content, nothing to write.
    again = import_(editing, [{"type": "event", **event}]).json()
    assert again["unchanged"] == 1 and again["updated"] == [], again


def test_an_import_names_at_most_a_thousand_errors_and_counts_them_all(editing: Editing) -> None:
    records = events(1500)
    for i, record in enumerate(records):
        record["people"] = [{"person": f"nobody-{i}"}]
    refused = import_(editing, records, ndjson=True)
    assert refused.status_code == 422
    body = refused.json()
    assert body["detail"] == "1500 error(s) (the first 1000 listed); nothing was written"
    assert len(body["errors"]) == len(body["invalid_params"]) == 1000
    assert body["errors"][999] == {
        "index": 999, "record": "event 'imported-999'", "field": "people[0].person",
        "reason": "no person with slug 'nobody-999' in the input or the database",
    }  # fmt: skip
