"""`chronicle db copy`: a seeded SQLite file into an empty database of this pass's engine (SQLite, or
PostgreSQL), verified, and served with the same answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli import SEED_FILE, main
from app.copy import CopyError, copy_database, verify
from app.loader import read_file
from app.migrate import upgrade
from tests.conftest import database_url, load, run_sql, serving


@pytest.fixture
def copied(tmp_path: Path) -> tuple[str, str]:
    source = _sqlite_source(tmp_path)
    target = database_url(tmp_path / "target.sqlite3")
    result = CliRunner().invoke(main, ["db", "copy", source, target])
    assert result.exit_code == 0, result.output
    assert "MISMATCH" not in result.output and "verified" in result.output
    return source, target


def _sqlite_source(tmp_path: Path) -> str:
    """A seeded SQLite file, whatever this pass's engine (the copy's usual source)."""
    url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    upgrade(url)
    load(url, read_file(SEED_FILE))
    return url


def test_the_copy_answers_as_the_source(copied: tuple[str, str]) -> None:
    source, target = copied
    paths = [
        "/v1/events?year=1929", "/v1/events/october-revolution", "/v1/people?name_prefix=leon",
        "/v1/places?within=france", "/v1/works/the-revolution-betrayed", "/v1/sources?limit=5",
        "/v1/events?q=exile&include=people,places", "/v1/events/october-revolution/revisions",
    ]  # fmt: skip
    answers: list[list[object]] = []
    for url in (source, target):
        with serving(url) as http:
            answers.append([_stable(http.get(path)) for path in paths])
            assert http.get("/v1/search", params={"q": "trotsky"}).json()["total"]["value"] > 10  # indexes rebuilt
    assert answers[0] == answers[1]


def _stable(response: httpx.Response) -> object:
    assert response.status_code == 200, response.text
    return response.json()


def test_a_changed_row_fails_the_verification(copied: tuple[str, str]) -> None:
    source, target = copied
    assert all(check.ok for check in verify(source, target))
    run_sql(target, "UPDATE event_tags SET tag = 'changed' WHERE tag = (SELECT min(tag) FROM event_tags)")
    failed = [check.table for check in verify(source, target) if not check.ok]
    assert failed == ["event_tags"]


def test_the_target_must_be_empty(copied: tuple[str, str]) -> None:
    source, target = copied
    with pytest.raises(CopyError, match="empty database"):
        copy_database(source, target)
