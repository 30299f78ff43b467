"""The date model: canonical cases, the edtf library's gaps, and properties over many dates."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from convertdate import gregorian, julian
from hypothesis import given, settings
from hypothesis import strategies as st

from app.dates import (
    Calendar,
    DateError,
    HistoricalDate,
    _parse_edtf,
    days_in_month,
    jdn_to_gregorian,
    jdn_to_iso,
    parse_date,
    to_jdn,
    year_bounds,
)

pytestmark = pytest.mark.engine_neutral  # calendar arithmetic and parsing: no database


@pytest.mark.parametrize(
    ("edtf", "calendar", "end_calendar", "label", "gregorian", "earliest", "latest", "precision"),
    [
        ("1917-10-25", "julian", None, "25 October 1917 (O.S.)", "1917-11-07", "1917-11-07", "1917-11-07", "day"),
        ("1929-02-12", "gregorian", None, "12 February 1929", "1929-02-12", "1929-02-12", "1929-02-12", "day"),
        ("1927-11", "gregorian", None, "November 1927", "1927-11", "1927-11-01", "1927-11-30", "month"),
        ("1938", "gregorian", None, "1938", "1938", "1938-01-01", "1938-12-31", "year"),
        ("-0043", "gregorian", None, "44 BCE", "-0043", "-0043-01-01", "-0043-12-31", "year"),
        ("-0043-03-15", "julian", None, "15 March 44 BCE (O.S.)", "-0043-03-13", "-0043-03-13", "-0043-03-13", "day"),
        ("0000", "gregorian", None, "1 BCE", "0000", "0000-01-01", "0000-12-31", "year"),
        ("1215~", "gregorian", None, "c. 1215", "1215~", "1215-01-01", "1215-12-31", "year"),
        ("1929?", "gregorian", None, "1929?", "1929?", "1929-01-01", "1929-12-31", "year"),
        ("192X", "gregorian", None, "1920s", "192X", "1920-01-01", "1929-12-31", "decade"),
        ("1985-04-XX", "gregorian", None, "April 1985", "1985-04-XX", "1985-04-01", "1985-04-30", "month"),
        ("2001-21", "gregorian", None, "Spring 2001", "2001-21", "2001-03-01", "2001-05-31", "season"),
        # A Julian month is a Gregorian interval: its bounds widen onto other months.
        (
            "1917-10", "julian", None, "October 1917 (O.S.)",
            "1917-10-14/1917-11-13", "1917-10-14", "1917-11-13", "month",
        ),
        (
            "1917-10-25/1923-06-16", "julian", "gregorian", "25 October 1917 (O.S.) – 16 June 1923",
            "1917-11-07/1923-06-16", "1917-11-07", "1923-06-16", "day",
        ),
        (
            "[1927-11-12,1927-11-14]", "gregorian", None, "12 or 14 November 1927",
            "[1927-11-12,1927-11-14]", "1927-11-12", "1927-11-14", "day",
        ),
        ("1985/..", "gregorian", None, "1985 onwards", "1985/..", "1985-01-01", "9999-12-31", "year"),
        ("../1985", "gregorian", None, "until 1985", "../1985", "-9999-01-01", "1985-12-31", "year"),
        ("1985/", "gregorian", None, "1985 – ?", "1985/", "1985-01-01", "1985-12-31", "year"),
        # edtf 5.0.2 rejects 29 February 1900, which exists in the Julian calendar.
        ("1900-02-29", "julian", None, "29 February 1900 (O.S.)", "1900-03-13", "1900-03-13", "1900-03-13", "day"),
    ],
)  # fmt: skip
def test_canonical_dates(
    edtf: str, calendar: str, end_calendar: str | None, label: str, gregorian: str, earliest: str, latest: str,
    precision: str,
) -> None:  # fmt: skip
    date = parse_date(edtf, calendar, end_calendar)  # type: ignore[arg-type]
    shown = date.as_json()
    assert (shown["label"], shown["gregorian"]["edtf"], shown["earliest"], shown["latest"], shown["precision"]) == (
        label, gregorian, earliest, latest, precision,
    )  # fmt: skip


def test_october_revolution_in_full() -> None:
    assert parse_date("1917-10-25", "julian").as_json() == {
        "edtf": "1917-10-25",
        "calendar": "julian",
        "end_calendar": None,
        "label": "25 October 1917 (O.S.)",
        "kind": "date",
        "precision": "day",
        "uncertain": False,
        "approximate": False,
        "gregorian": {"edtf": "1917-11-07", "label": "7 November 1917"},
        "earliest": "1917-11-07",
        "latest": "1917-11-07",
    }


@pytest.mark.parametrize(
    ("edtf", "calendar", "end_calendar", "label", "gregorian_label"),
    [
        ("1940-08-20/1940-08-21", "gregorian", None, "20–21 August 1940", "20–21 August 1940"),
        ("1929-01-20/1929-02-12", "gregorian", None, "20 January – 12 February 1929", "20 January – 12 February 1929"),
        ("1917-10-25/1917-10-26", "julian", None, "25–26 October 1917 (O.S.)", "7–8 November 1917"),
        ("1917-10", "julian", None, "October 1917 (O.S.)", "14 October – 13 November 1917"),
        ("1929-04/1933-07-17", "gregorian", None, "April 1929 – 17 July 1933", "April 1929 – 17 July 1933"),
        (
            "1917-10-25/1923-06-16", "julian", "gregorian",
            "25 October 1917 (O.S.) – 16 June 1923", "7 November 1917 – 16 June 1923",
        ),
    ],
)  # fmt: skip
def test_interval_labels_say_month_and_year_once(
    edtf: str, calendar: str, end_calendar: str | None, label: str, gregorian_label: str
) -> None:
    date = parse_date(edtf, calendar, end_calendar)  # type: ignore[arg-type]
    assert (date.label, date.gregorian_label) == (label, gregorian_label)


def test_on_this_day_fields() -> None:
    revolution = parse_date("1917-10-25", "julian")
    assert (revolution.month, revolution.day, revolution.recorded_month, revolution.recorded_day) == (11, 7, 10, 25)
    for not_a_single_day in ("1917-10", "[1927-11-12,1927-11-14]", "1929-01-20/1929-02-12"):
        date = parse_date(not_a_single_day)
        assert (date.month, date.day, date.recorded_month) == (None, None, None)


def test_only_julian_days_have_recorded_month_and_day() -> None:
    """`calendar=julian` matches recorded_month/day: a Gregorian day has none, so it never matches."""
    gregorian = parse_date("1929-10-25")
    assert (gregorian.month, gregorian.day, gregorian.recorded_month, gregorian.recorded_day) == (10, 25, None, None)
    julian = parse_date("1879-10-26", "julian")
    assert (julian.month, julian.day, julian.recorded_month, julian.recorded_day) == (11, 7, 10, 26)
    uncertain = parse_date("1917-10-25?", "julian")  # a qualified day is a day
    assert (uncertain.recorded_month, uncertain.recorded_day) == (10, 25)
    assert parse_date("1917-10-25?").recorded_month is None


def test_julian_and_gregorian_readings_of_the_same_digits_differ() -> None:
    # DESIGN: Julian 15 Mar 44 BCE is JDN 1705426; the same digits read as Gregorian give 1705428.
    assert parse_date("-0043-03-15", "julian").min_jdn == 1705426
    assert parse_date("-0043-03-15").min_jdn == 1705428


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1929-13", "'1929-13'"),
        ("1929-02-30", "has no day 30"),
        ("1929-02-29", "has no day 29"),
        ("abc", "'abc' is not a valid EDTF date"),
        (" 1929", "white space"),
        ("1929-04/1928", "ends before it starts"),
        ("-0000", "year -0000 does not exist"),
        ("1940-08-2X", "not support"),
        ("Y-170000002", "not support"),
        ("10000", "'10000'"),
        ("", "''"),
    ],
)
def test_bad_dates_are_rejected_naming_the_value(value: str, message: str) -> None:
    with pytest.raises(DateError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_date(value)


def test_end_calendar_only_for_intervals() -> None:
    with pytest.raises(DateError, match="intervals only"):
        parse_date("1917-10-25", "julian", "gregorian")


def test_bce_ordering_and_overlap_with_years() -> None:
    lo, hi = year_bounds(-43)
    ides = parse_date("-0043-03-15", "julian")
    assert lo <= ides.min_jdn <= hi
    assert parse_date("-0044").max_jdn < parse_date("-0043-01-01").min_jdn < parse_date("0001").min_jdn


# --- properties -----------------------------------------------------------------------------------

years = st.integers(min_value=-9999, max_value=9999)
months = st.integers(min_value=1, max_value=12)


def _iso(year: int, month: int | None = None, day: int | None = None) -> str:
    text = f"-{-year:04d}" if year < 0 else f"{year:04d}"
    if month is not None:
        text += f"-{month:02d}"
    if day is not None:
        text += f"-{day:02d}"
    return text


@st.composite
def plain_dates(draw: st.DrawFn) -> tuple[str, str]:
    calendar = draw(st.sampled_from(["gregorian", "julian"]))
    year = draw(years)
    precision = draw(st.sampled_from(["year", "month", "day"]))
    if precision == "year":
        return _iso(year), calendar
    month = draw(months)
    if precision == "month":
        return _iso(year, month), calendar
    last = julian.month_length(year, month) if calendar == "julian" else (
        29 if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else
        [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    )  # fmt: skip
    return _iso(year, month, draw(st.integers(min_value=1, max_value=last))), calendar


@settings(deadline=None)
@given(plain_dates())
def test_fast_path_agrees_with_the_edtf_parser(case: tuple[str, str]) -> None:
    value, calendar = case
    fast = parse_date(value, calendar)  # type: ignore[arg-type]
    slow = _parse_edtf(value, calendar, None)  # type: ignore[arg-type]
    assert fast == slow


@st.composite
def fast_path_shapes(draw: st.DrawFn) -> str:
    """Leaves and intervals the fast path reads, valid or not (day 31 of April, season with a day...)."""

    def leaf() -> str:
        year = draw(st.integers(min_value=-3000, max_value=2100))
        text = f"-{-year:04d}" if year < 0 else f"{year:04d}"
        if draw(st.booleans()):
            text += f"-{draw(st.sampled_from([1, 2, 4, 6, 9, 11, 12, 21, 22, 23, 24])):02d}"
            if draw(st.booleans()):
                text += f"-{draw(st.integers(min_value=1, max_value=31)):02d}"
        return text + draw(st.sampled_from(["", "", "?", "~", "%"]))

    if draw(st.booleans()):
        return leaf()
    ends = st.sampled_from(["leaf", "leaf", "leaf", "..", ""])
    lower, upper = draw(ends), draw(ends)
    return f"{leaf() if lower == 'leaf' else lower}/{leaf() if upper == 'leaf' else upper}"


def _outcome(parse: Any) -> Any:
    try:
        return parse()
    except DateError:
        return "error"


@settings(deadline=None)
@given(
    fast_path_shapes(),
    st.sampled_from(["gregorian", "julian"]),
    st.sampled_from([None, "gregorian", "julian"]),
)
def test_fast_path_agrees_with_the_edtf_parser_on_qualifiers_and_intervals(
    value: str, calendar: Calendar, end_calendar: Calendar | None
) -> None:
    fast = _outcome(lambda: parse_date(value, calendar, end_calendar))
    slow = _outcome(lambda: _parse_edtf(value, calendar, end_calendar))
    assert fast == slow


@settings(deadline=None)
@given(plain_dates())
def test_bounds_are_ordered_and_labels_say_bce(case: tuple[str, str]) -> None:
    value, calendar = case
    date: HistoricalDate = parse_date(value, calendar)  # type: ignore[arg-type]
    assert date.min_jdn <= date.max_jdn
    year = int(value[:5]) if value.startswith("-") else int(value[:4])
    assert ("BCE" in date.label) == (year <= 0)
    assert ("(O.S.)" in date.label) == (calendar == "julian")


@settings(deadline=None)
@given(
    st.sampled_from(["gregorian", "julian"]),
    st.integers(min_value=-9999, max_value=9999),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=31),
)
def test_calendar_arithmetic_matches_convertdate(calendar: Calendar, year: int, month: int, day: int) -> None:
    module = julian if calendar == "julian" else gregorian
    assert days_in_month(calendar, year, month) == module.month_length(year, month)
    day = min(day, days_in_month(calendar, year, month))
    jdn = to_jdn(calendar, year, month, day)
    assert jdn == int(module.to_jd(year, month, day) + 0.5)
    assert jdn_to_gregorian(jdn) == tuple(int(part) for part in gregorian.from_jd(jdn - 0.5))


@settings(deadline=None)
@given(st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)))
def test_gregorian_day_numbers_match_the_standard_library(day: datetime.date) -> None:
    jdn = to_jdn("gregorian", day.year, day.month, day.day)
    assert jdn == day.toordinal() + 1721425
    assert jdn_to_iso(jdn) == day.isoformat()


@settings(deadline=None)
@given(st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)),
       st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)))  # fmt: skip
def test_order_of_days_is_the_order_of_bounds(a: datetime.date, b: datetime.date) -> None:
    first, second = parse_date(a.isoformat()), parse_date(b.isoformat())
    assert (a < b) == (first.min_jdn < second.min_jdn)


@settings(deadline=None)
@given(years, months)
def test_a_month_lies_within_its_year(year: int, month: int) -> None:
    month_date, year_date = parse_date(_iso(year, month)), parse_date(_iso(year))
    assert year_date.min_jdn <= month_date.min_jdn <= month_date.max_jdn <= year_date.max_jdn
