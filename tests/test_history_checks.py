"""What cannot be right is refused (issue 17): a place's name history in which two names of one
language are both the name of a year, and an event whose dates fall outside the larger event it is
part of (either way round) - by the loader, so the same for a seed, an import and an editor's write,
on both engines. And the name at the time that the API answers from a name history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.loader import LoadError, load_records
from app.record_types.place.document import PlaceNameIn, overlapping_names
from tests.conftest import LiveServer, load, make_database
from tests.test_editing_api import make_keys

SOURCE = [{"source": "the-exile-of-leon-trotsky"}]


def names(*history: tuple[str, str | None, int | None, int | None]) -> list[PlaceNameIn]:
    return [PlaceNameIn(name=n, language=lang, from_year=start, to_year=end) for n, lang, start, end in history]


# Saint Petersburg's own history: renamed in 1914 and in 1924, each renaming year shared.
PETERSBURG = (("Saint Petersburg", "en", None, 1914), ("Petrograd", "en", 1914, 1924), ("Leningrad", "en", 1924, 1991))


@pytest.mark.parametrize(
    "history",
    [
        PETERSBURG,
        (("Verny", "en", 1855, 1921), ("Alma-Ata", "en", 1921, 1993)),
        # A gap: nothing recorded for 1925-1929, where the answer is the current name.
        (("Petrograd", "en", 1914, 1924), ("Leningrad", "en", 1930, 1991)),
        # Names of other languages have histories of their own; names without years are other names.
        (("Petrograd", "en", 1914, 1924), ("Петроград", "ru", 1914, 1924), ("Peter", "en", None, None)),
        # An untagged name answers for English: after an English one's end, it may begin.
        (("Constantinople", "en", None, 1930), ("Istanbul", None, 1930, None)),
    ],
    ids=["renamings", "alma-ata", "gap", "languages", "untagged"],
)
def test_a_name_history_that_can_be_right_is_accepted(history: tuple[Any, ...]) -> None:
    assert overlapping_names(names(*history)) is None


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        (
            (("Petrograd", "en", 1914, 1924), ("Leningrad", "en", 1920, 1991)),
            "names[0] 'Petrograd' (1914-1924) and names[1] 'Leningrad' (1920-1991) are both names of language "
            "'en' for 1920-1924",
        ),
        (  # two open starts: both would be the name of every year before 330
            (("Constantinople", "en", None, 1930), ("Byzantium", None, None, 330)),
            "names[1] 'Byzantium' (until 330) and names[0] 'Constantinople' (until 1930) are both names of "
            "language 'en' for every year until 330",
        ),
        (  # the same year twice, each the only year of its name: which was the name that year?
            (("Gorki", "en", 1924, 1924), ("Gorki Leninskiye", "en", 1924, 1924)),
            "names[0] 'Gorki' (1924) and names[1] 'Gorki Leninskiye' (1924) are both names of language 'en' for 1924",
        ),
        (
            (("Alma-Ata", "en", 1921, None), ("Almaty", "en", 1993, None)),
            "names[0] 'Alma-Ata' (from 1921) and names[1] 'Almaty' (from 1993) are both names of language 'en' "
            "for every year from 1993",
        ),
    ],
    ids=["overlap", "open-starts", "one-year-twice", "open-ends"],
)
def test_two_names_of_one_language_for_one_year_are_refused(history: tuple[Any, ...], reason: str) -> None:
    found = overlapping_names(names(*history))
    assert found is not None and found.startswith(reason + ": a place has one name a language a year")


def place(slug: str, *history: dict[str, Any]) -> dict[str, Any]:
    return {"type": "place", "slug": slug, "name": slug.title(), "kind": "city", "names": list(history),
            "citations": SOURCE}  # fmt: skip


def event(slug: str, date: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "slug": slug, "title": slug, "kind": "visit", "date": date, "citations": SOURCE, **fields}


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    return make_database(tmp_path / "checks.sqlite3")


def refused(url: str, records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The errors of a load that is refused (tests.conftest.load would leave its engine's connection
    open when the load raises: PostgreSQL's driver warns of it when it is collected)."""
    engine = make_engine(url)
    try:
        with pytest.raises(LoadError) as caught, make_sessionmaker(engine).begin() as session:
            load_records(session, records)
    finally:
        engine.dispose()
    assert not caught.value.conflict
    return [(e.record, e.field, e.reason) for e in caught.value.errors]


def test_the_loader_refuses_an_overlapping_name_history(seeded: str) -> None:
    overlapping = place("twice-named", {"name": "One", "language": "en", "from_year": 1900, "to_year": 1950},
                        {"name": "Two", "language": "en", "from_year": 1940})  # fmt: skip
    [(record, field, reason)] = refused(seeded, [overlapping])
    assert (record, field) == ("place 'twice-named'", "names")
    assert reason.startswith("names[0] 'One' (1900-1950) and names[1] 'Two' (from 1940) are both names of language")


def test_a_part_dated_before_its_larger_event_is_refused(seeded: str) -> None:
    """The seed's deportation order (18 Jan 1929) was once part of a deportation dated from 20 Jan."""
    early = event("early-order", "1928-12-31", part_of="deportation-from-the-ussr")
    assert refused(seeded, [early]) == [(
        "event 'early-order'", "date",
        "its days (1928-12-31) are not within those of the event it is part of, 'deportation-from-the-ussr' "
        "(1929-01-18 to 1929-02-12); a part's dates must lie within its larger event's (days in the Gregorian "
        "calendar)",
    )]  # fmt: skip


def test_a_part_and_its_larger_event_in_one_input_are_checked_together(seeded: str) -> None:
    whole = event("a-journey", "1930-05-01/1930-05-10")
    assert refused(seeded, [event("a-stop", "1930-05-11", part_of="a-journey"), whole])[0][:2] == (
        "event 'a-stop'",
        "date",
    )
    load(seeded, [event("a-stop", "1930-05-10", part_of="a-journey"), whole])  # the last day is within


def test_a_larger_event_whose_new_dates_leave_a_part_outside_is_refused(seeded: str) -> None:
    """The deportation cannot start after its order again: the refusal names the part left out."""
    later = event("deportation-from-the-ussr", "1929-01-20/1929-02-12", title="Trotsky's deportation")
    [(record, field, reason)] = refused(seeded, [later])
    assert (record, field) == ("event 'deportation-from-the-ussr'", "date")
    assert reason.startswith(
        "its days (1929-01-20 to 1929-02-12) leave its part 'deportation-order' (1929-01-18) outside"
    )
    # Moving the part in the same input is what makes the change right.
    load(seeded, [later, event("deportation-order", "1929-01-20", part_of="deportation-from-the-ussr")])


def test_an_open_ended_larger_event_holds_any_later_part(seeded: str) -> None:
    load(seeded, [event("an-open-era", "1900/.."), event("a-moment", "2001-01-01", part_of="an-open-era")])
    assert refused(seeded, [event("before-it", "1899-12-31", part_of="an-open-era")])[0][1] == "date"


@pytest.fixture
def editor(seeded: str) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    key = make_keys(seeded)["write"]
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "identity"}
    with LiveServer(Settings(database_url=seeded)) as base, httpx.Client(base_url=base, headers=headers) as http:
        yield http, {"Content-Type": "application/merge-patch+json"}


def patch(editor: tuple[httpx.Client, dict[str, str]], path: str, body: dict[str, Any]) -> httpx.Response:
    http, headers = editor
    etag = http.get(path).headers["etag"]
    return http.patch(path, json=body, headers={**headers, "If-Match": etag})


def test_an_editor_cannot_date_the_deportation_order_before_the_deportation(
    editor: tuple[httpx.Client, dict[str, str]],
) -> None:
    answer = patch(editor, "/v1/events/deportation-order", {"date": "1929-01-17"})
    assert answer.status_code == 422, answer.text
    [param] = answer.json()["invalid_params"]
    assert param["name"] == "date" and "'deportation-from-the-ussr' (1929-01-18 to 1929-02-12)" in param["reason"]


def test_an_editor_cannot_move_the_deportation_past_its_order(editor: tuple[httpx.Client, dict[str, str]]) -> None:
    answer = patch(editor, "/v1/events/deportation-from-the-ussr", {"date": "1929-01-20/1929-02-12"})
    assert answer.status_code == 422, answer.text
    [param] = answer.json()["invalid_params"]
    assert param["name"] == "date" and "leave its part 'deportation-order' (1929-01-18) outside" in param["reason"]


def test_an_editor_cannot_give_alma_ata_two_names_for_one_year(editor: tuple[httpx.Client, dict[str, str]]) -> None:
    history = [{"name": "Alma-Ata", "language": "en", "from_year": 1921, "to_year": 1993},
               {"name": "Almaty", "language": "en", "from_year": 1991}]  # fmt: skip
    answer = patch(editor, "/v1/places/almaty", {"names": history})
    assert answer.status_code == 422, answer.text
    [param] = answer.json()["invalid_params"]
    assert param["name"] == "names" and "for 1991-1993" in param["reason"]


def test_the_name_at_the_time_is_the_one_with_years(seeded: str) -> None:
    """A name without years is another name, never the name at the time; a name in another language
    is not the English name at the time; in the year of a renaming the new name is meant (Petrograd
    in 1914, on both engines: PostgreSQL sorts a missing from_year first in a descending order)."""
    load(seeded, [
        place("old-town", {"name": "Undated Name", "language": "en"},
              {"name": "Staryi Gorod", "language": "ru", "from_year": 1900, "to_year": 1950}),
        event("visit-to-old-town", "1920-06-01", places=[{"place": "old-town"}]),
        event("war-comes-to-petrograd", "1914-08-01", places=[{"place": "saint-petersburg"}]),
        event("a-visit-to-leningrad", "1991-06-01", places=[{"place": "saint-petersburg"}]),
        event("a-visit-after-1991", "1992-06-01", places=[{"place": "saint-petersburg"}]),
    ])  # fmt: skip
    with LiveServer(Settings(database_url=seeded)) as base, httpx.Client(base_url=base) as http:

        def name_then(slug: str) -> str:
            return str(http.get(f"/v1/events/{slug}").json()["places"][0]["name_at_the_time"])

        assert name_then("visit-to-old-town") == "Old-Town"
        assert name_then("war-comes-to-petrograd") == "Petrograd"
        assert name_then("a-visit-to-leningrad") == "Leningrad"
        assert name_then("a-visit-after-1991") == "Saint Petersburg"
