"""A deleted record's history is for editors: its revisions answer 410 to anyone else, as the record does."""

from __future__ import annotations

from tests.test_editing_api import EVENT, Editing, editing  # noqa: F401  (the fixture)


def test_a_deleted_record_s_revisions_are_for_editors_only(editing: Editing) -> None:  # noqa: F811
    assert editing.post("/v1/events", EVENT).status_code == 201
    path = "/v1/events/lecture-in-copenhagen"
    assert editing.http.get(f"{path}/revisions").status_code == 200  # live: public
    assert editing.http.get(f"{path}/revisions/1").status_code == 200
    deleted = editing.http.delete(path, headers=editing.auth(**{"If-Match": '"1"'}))
    assert deleted.status_code == 204
    for url in (f"{path}/revisions", f"{path}/revisions/1", f"{path}/revisions/2"):
        anonymous = editing.http.get(url)
        assert anonymous.status_code == 410 and anonymous.headers["content-type"] == "application/problem+json"
        assert "editor" in anonymous.json()["detail"]
        assert "To students" not in anonymous.text and "Copenhagen" not in anonymous.text
        assert editing.http.get(url, headers=editing.auth("read")).status_code == 403  # reading is not editing
        assert editing.http.get(url, headers={"Authorization": "Bearer chr_made-up"}).status_code == 401
    history = editing.http.get(f"{path}/revisions", headers=editing.auth("write"))
    assert history.status_code == 200
    assert [item["action"] for item in history.json()["items"]] == ["create", "delete"]
    first = editing.http.get(f"{path}/revisions/1", headers=editing.auth("write")).json()
    assert first["document"]["title"] == EVENT["title"]
    # The changes feed still says that it was deleted (a mirror must know), without its content.
    changes, params = [], {"limit": 100}
    while True:
        page = editing.http.get("/v1/changes", params=params).json()
        changes += page["items"]
        if page["next_cursor"] is None:
            break
        params = {"limit": 100, "cursor": page["next_cursor"]}
    assert [(c["slug"], c["action"]) for c in changes if c["slug"] == "lecture-in-copenhagen"] == [
        ("lecture-in-copenhagen", "create"),
        ("lecture-in-copenhagen", "delete"),
    ]
