"""Historical dates: a recorded EDTF value and its calendar in; day bounds, labels and readings out.

Pure functions, no I/O. A date is parsed once, when a record is written, into a `HistoricalDate`
whose fields are stored; reads never parse.

- Bounds are inclusive Julian Day Numbers (JDN), so BCE, partial and Julian dates compare correctly.
- Years are astronomical (0000 = 1 BCE, -0043 = 44 BCE), as EDTF writes them.
- Plain ISO dates (`1929`, `1927-11`, `1917-10-25`, `-0043-03-15`) take a fast path; everything
  else is checked by the `edtf` package's grammar and read from the objects it returns. Where
  `edtf` falls short we work around it here (see `_EDTF_GAPS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Calendar = Literal["gregorian", "julian"]
CALENDARS: tuple[Calendar, ...] = ("gregorian", "julian")
Precision = Literal["day", "month", "season", "year", "decade", "century", "millennium"]

# The years a date may name. Beyond them EDTF needs its Y-notation, which we do not support yet.
MIN_YEAR, MAX_YEAR = -9999, 9999
# An open end (`..`) reaches to the edge of the supported range.
# OPEN_START_JDN and OPEN_END_JDN (the bounds of open interval ends) are set after to_jdn below.
SPAN_LEVEL_BASE = 4
MAX_SPAN_LEVEL = 12  # 4**12 days > OPEN_END_JDN - OPEN_START_JDN

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Level-1 seasons (northern hemisphere, meteorological): first month and number of months.
SEASONS = {21: ("Spring", 3), 22: ("Summer", 6), 23: ("Autumn", 9), 24: ("Winter", 12)}
_PRECISION_RANK = {"day": 0, "month": 1, "season": 2, "year": 3, "decade": 4, "century": 5, "millennium": 6}

# The common shapes - a year, month or day with an optional qualifier, or an interval of
# two of them (either end may be open `..` or unknown) - are read without the EDTF grammar, which
# costs about a millisecond a date; tests/test_dates.py checks that both paths agree, errors included.
_FAST_LEAF = r"-?[0-9]{4}(?:-(?:0[1-9]|1[0-2])(?:-[0-9]{2})?)?[?~%]?"
_FAST_SINGLE = re.compile(_FAST_LEAF)
_FAST_INTERVAL = re.compile(rf"(?P<lower>{_FAST_LEAF}|\.\.|)/(?P<upper>{_FAST_LEAF}|\.\.|)")
_LEAF = re.compile(r"(?P<year>-?[0-9X]{4})(?:-(?P<month>[0-9]{2}|XX)(?:-(?P<day>[0-9]{2}|XX))?)?(?P<qual>[?~%])?")
# edtf 5.0.2 validates days with Gregorian rules, so it rejects 29 February of Julian leap years
# such as 1900; its Season class cannot report a precision; and it accepts reversed intervals and
# surrounding white space. We work around each of these (tests in tests/test_dates.py).
_EDTF_GAPS = "Julian 29 February, seasons, reversed intervals, white space"


class DateError(ValueError):
    """A recorded date that cannot be read. The message names the value and the problem."""


@dataclass(frozen=True, slots=True)
class _Point:
    """One date of a value (a leaf): the Gregorian-or-Julian reading and its day bounds."""

    text: str
    calendar: Calendar
    year: int
    month: int | None
    day: int | None
    season: int | None
    precision: Precision
    unspecified_year: str | None  # the year as written when it has X digits (`192X`)
    uncertain: bool
    approximate: bool
    min_jdn: int
    max_jdn: int


@dataclass(frozen=True, slots=True)
class _OpenEnd:
    kind: Literal["open", "unknown"]


@dataclass(frozen=True, slots=True)
class HistoricalDate:
    """Everything Chronicle stores about one recorded date."""

    edtf: str
    calendar: Calendar
    end_calendar: Calendar | None
    kind: Literal["date", "interval", "set"]
    precision: Precision
    uncertain: bool
    approximate: bool
    min_jdn: int
    max_jdn: int
    label: str
    gregorian_edtf: str
    gregorian_label: str
    month: int | None  # Gregorian month and day, for single day-precision dates only
    day: int | None
    # The Julian month and day as recorded, for single day-precision dates recorded in the Julian
    # calendar only; None for every other date, Gregorian days included: `calendar=julian` matches
    # these (app.queries.dated.on_day), so a Gregorian 25 October is never a Julian one.
    recorded_month: int | None
    recorded_day: int | None

    @property
    def span_level(self) -> int:
        """Bucket of the date's length in days (base 4), used to bound overlap queries."""
        return span_level(self.max_jdn - self.min_jdn)

    def as_json(self) -> dict[str, Any]:
        """The date as every API response shows it (stored pre-rendered; see app.models)."""
        return {
            "edtf": self.edtf,
            "calendar": self.calendar,
            "end_calendar": self.end_calendar,
            "label": self.label,
            "kind": self.kind,
            "precision": self.precision,
            "uncertain": self.uncertain,
            "approximate": self.approximate,
            "gregorian": {"edtf": self.gregorian_edtf, "label": self.gregorian_label},
            "earliest": jdn_to_iso(self.min_jdn),
            "latest": jdn_to_iso(self.max_jdn),
        }


def span_level(span_days: int) -> int:
    level = 0
    while span_days > 0:
        span_days //= SPAN_LEVEL_BASE
        level += 1
    return level


# --- calendars ----------------------------------------------------------------------------------


def to_jdn(calendar: Calendar, year: int, month: int, day: int) -> int:
    """Julian Day Number of a day in the given calendar (astronomical years, so 0 is 1 BCE).

    Integer arithmetic (Fliegel and Van Flandern, with floor division, which makes it hold for
    negative years too); tests check it against the standard library and against convertdate.
    """
    a = (14 - month) // 12
    y = year + 4800 - a
    m = month + 12 * a - 3
    days = day + (153 * m + 2) // 5 + 365 * y + y // 4
    return days - y // 100 + y // 400 - 32045 if calendar == "gregorian" else days - 32083


OPEN_START_JDN = to_jdn("gregorian", MIN_YEAR, 1, 1)
OPEN_END_JDN = to_jdn("gregorian", MAX_YEAR, 12, 31)


def jdn_to_gregorian(jdn: int) -> tuple[int, int, int]:
    """The proleptic Gregorian (year, month, day) of a Julian Day Number (Richards' algorithm)."""
    f = jdn + 1401 + (((4 * jdn + 274277) // 146097) * 3) // 4 - 38
    e = 4 * f + 3
    h = 5 * ((e % 1461) // 4) + 2
    month = (h // 153 + 2) % 12 + 1
    return e // 1461 - 4716 + (14 - month) // 12, month, (h % 153) // 5 + 1


def jdn_to_iso(jdn: int) -> str:
    """Proleptic Gregorian ISO 8601 date with astronomical year numbering (`-0043-03-13`)."""
    year, month, day = jdn_to_gregorian(jdn)
    return f"{_year_text(year)}-{month:02d}-{day:02d}"


def year_bounds(year: int) -> tuple[int, int]:
    """Inclusive JDN bounds of a proleptic Gregorian year."""
    return to_jdn("gregorian", year, 1, 1), to_jdn("gregorian", year, 12, 31)


def is_leap_year(calendar: Calendar, year: int) -> bool:
    if calendar == "julian":
        return year % 4 == 0
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(calendar: Calendar, year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap_year(calendar, year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _year_text(year: int) -> str:
    return f"-{-year:04d}" if year < 0 else f"{year:04d}"


# --- parsing ------------------------------------------------------------------------------------

# What a date that cannot be read is told, in examples rather than the grammar (issue 16).
EDTF_EXAMPLES = (
    "write it in EDTF (levels 0 and 1), such as 1917-10-25, 1917-10, 1917, -0043 (44 BCE), 1929~ (about), "
    "1929? (uncertain), 192X (the 1920s), 1929-02/1933-07 (from one to the other) or [1927-11-12,1927-11-14] "
    "(one of these)"
)


def parse_date(value: str, calendar: Calendar = "gregorian", end_calendar: Calendar | None = None) -> HistoricalDate:
    """Read a recorded EDTF value. Raises DateError naming the value when it cannot be read."""
    if calendar not in CALENDARS:
        raise DateError(f"calendar {calendar!r} is not one of {', '.join(CALENDARS)}")
    if end_calendar is not None and end_calendar not in CALENDARS:
        raise DateError(f"end_calendar {end_calendar!r} is not one of {', '.join(CALENDARS)}")
    if _FAST_SINGLE.fullmatch(value):
        if end_calendar is not None:
            raise DateError(f"{value!r} is not an interval: end_calendar applies to intervals only")
        return _single(value, calendar, _leaf(value, calendar, value))
    interval = _FAST_INTERVAL.fullmatch(value)
    if interval and interval["lower"] + interval["upper"] not in ("", "..", "...."):
        lower, upper = interval["lower"], interval["upper"]
        return _interval(
            value, calendar, end_calendar,
            _fast_end(lower, calendar, value), _fast_end(upper, end_calendar or calendar, value),
        )  # fmt: skip
    return _parse_edtf(value, calendar, end_calendar)


def _fast_end(text: str, calendar: Calendar, whole: str) -> _Point | _OpenEnd:
    if text in ("", ".."):
        return _OpenEnd("open" if text == ".." else "unknown")
    return _leaf(text, calendar, whole)


def _parse_edtf(value: str, calendar: Calendar, end_calendar: Calendar | None) -> HistoricalDate:
    if value != value.strip() or not value:
        raise DateError(f"{value!r} is not an EDTF date: remove the surrounding white space")
    # edtf checks days against the Gregorian calendar; a Julian 29 February is checked by _leaf.
    grammar_text = value.replace("-02-29", "-02-28") if "julian" in (calendar, end_calendar) else value
    try:
        import edtf  # the grammar takes 0.1 s to import; plain dates never need it

        parsed = edtf.parse_edtf(grammar_text)
    except Exception as exc:  # edtf raises EDTFParseException and, for some inputs, bare ValueError
        raise DateError(f"{value!r} is not a valid EDTF date: {EDTF_EXAMPLES}") from exc

    kind = type(parsed).__name__
    if kind in ("Interval", "Level1Interval"):
        lower_text, upper_text = value.split("/")
        lower = _end(parsed.lower, lower_text, calendar, value)
        upper = _end(parsed.upper, upper_text, end_calendar or calendar, value)
        return _interval(value, calendar, end_calendar, lower, upper)
    if end_calendar is not None:
        raise DateError(f"{value!r} is not an interval: end_calendar applies to intervals only")
    if kind == "OneOfASet":
        return _set(value, calendar, parsed.objects)
    if kind in ("Date", "UncertainOrApproximate", "Unspecified", "Season"):
        return _single(value, calendar, _leaf(value, calendar, value))
    raise DateError(f"{value!r} uses an EDTF feature Chronicle does not support yet ({kind})")


def _leaf(text: str, calendar: Calendar, whole: str) -> _Point:
    """Read one date (`1929`, `1927-11`, `192X`, `1985-04-XX`, `2001-21`, `1215~`)."""
    match = _LEAF.fullmatch(text)
    if not match:
        raise DateError(f"{whole!r}: {text!r} is not a date Chronicle supports: {EDTF_EXAMPLES}")
    year_text, month_text, day_text, qual = match.group("year", "month", "day", "qual")
    negative = year_text.startswith("-")
    digits = year_text.lstrip("-")
    if "X" in digits and not re.fullmatch(r"[0-9]+X*", digits):
        raise DateError(f"{whole!r}: unspecified digits (X) must end the year")
    low_year = int(year_text.replace("X", "9" if negative else "0"))
    high_year = int(year_text.replace("X", "0" if negative else "9"))
    if negative and low_year == 0:
        raise DateError(f"{whole!r}: year -0000 does not exist (0000 is 1 BCE)")
    if not MIN_YEAR <= low_year <= high_year <= MAX_YEAR:
        raise DateError(f"{whole!r}: years must lie between {MIN_YEAR} and {MAX_YEAR}")
    unspecified_year = year_text if "X" in digits else None
    if unspecified_year and month_text is not None:
        raise DateError(f"{whole!r}: a month needs a fully known year")

    month = int(month_text) if month_text and month_text != "XX" else None
    season = None
    if month is not None and month > 12:
        if month not in SEASONS or day_text is not None:
            raise DateError(f"{whole!r}: month {month_text} is neither a month (01-12) nor a season (21-24)")
        season, month = month, None
    elif month is not None and month < 1:
        raise DateError(f"{whole!r}: month {month_text} is not 01-12")
    day = int(day_text) if day_text and day_text != "XX" else None
    if day is not None and month is None:
        raise DateError(f"{whole!r}: a day needs a known month")
    if month is not None and day is not None and not 1 <= day <= days_in_month(calendar, low_year, month):
        raise DateError(f"{whole!r}: {calendar.title()} {MONTH_NAMES[month - 1]} {low_year} has no day {day}")

    if day is not None and month is not None:
        precision: Precision = "day"
        min_jdn = max_jdn = to_jdn(calendar, low_year, month, day)
    elif month is not None:
        precision = "month"
        min_jdn = to_jdn(calendar, low_year, month, 1)
        max_jdn = to_jdn(calendar, low_year, month, days_in_month(calendar, low_year, month))
    elif season is not None:
        precision = "season"
        first = SEASONS[season][1]
        min_jdn = to_jdn(calendar, low_year, first, 1)
        last_year, last_month = (low_year + 1, 2) if first == 12 else (low_year, first + 2)
        max_jdn = to_jdn(calendar, last_year, last_month, days_in_month(calendar, last_year, last_month))
    else:
        unknown_digits = digits.count("X")
        precision = ("year", "decade", "century", "millennium")[min(unknown_digits, 3)]
        min_jdn = to_jdn(calendar, low_year, 1, 1)
        max_jdn = to_jdn(calendar, high_year, 12, 31)
    return _Point(
        text=text,
        calendar=calendar,
        year=low_year,
        month=month,
        day=day,
        season=season,
        precision=precision,
        unspecified_year=unspecified_year,
        uncertain=qual in ("?", "%"),
        approximate=qual in ("~", "%"),
        min_jdn=min_jdn,
        max_jdn=max_jdn,
    )


def _end(parsed: Any, text: str, calendar: Calendar, whole: str) -> _Point | _OpenEnd:
    if type(parsed).__name__ == "UnspecifiedIntervalSection":
        return _OpenEnd("open" if parsed.is_open else "unknown")
    return _leaf(text, calendar, whole)


def _single(value: str, calendar: Calendar, point: _Point) -> HistoricalDate:
    is_day = point.precision == "day"
    is_julian_day = is_day and calendar == "julian"
    gregorian_point = _gregorian_reading(point)
    month = day = None
    if is_day:
        _, month, day = jdn_to_gregorian(point.min_jdn)
    return HistoricalDate(
        edtf=value,
        calendar=calendar,
        end_calendar=None,
        kind="date",
        precision=point.precision,
        uncertain=point.uncertain,
        approximate=point.approximate,
        min_jdn=point.min_jdn,
        max_jdn=point.max_jdn,
        label=_point_label(point),
        gregorian_edtf=gregorian_point[0],
        gregorian_label=gregorian_point[1],
        month=month,
        day=day,
        recorded_month=point.month if is_julian_day else None,
        recorded_day=point.day if is_julian_day else None,
    )


def _interval(
    value: str, calendar: Calendar, end_calendar: Calendar | None, lower: _Point | _OpenEnd, upper: _Point | _OpenEnd
) -> HistoricalDate:
    if isinstance(lower, _OpenEnd) and isinstance(upper, _OpenEnd):
        raise DateError(f"{value!r}: an interval needs at least one known end")
    # An unknown end is taken to be the known end: the record is at least there (documented).
    min_jdn = OPEN_START_JDN if isinstance(lower, _OpenEnd) and lower.kind == "open" else None
    max_jdn = OPEN_END_JDN if isinstance(upper, _OpenEnd) and upper.kind == "open" else None
    if isinstance(lower, _Point):
        min_jdn = lower.min_jdn
    if isinstance(upper, _Point):
        max_jdn = upper.max_jdn
    if min_jdn is None:
        assert isinstance(upper, _Point)
        min_jdn = upper.min_jdn
    if max_jdn is None:
        assert isinstance(lower, _Point)
        max_jdn = lower.max_jdn
    if isinstance(lower, _Point) and isinstance(upper, _Point) and lower.min_jdn > upper.max_jdn:
        raise DateError(f"{value!r}: the interval ends before it starts")
    points = [p for p in (lower, upper) if isinstance(p, _Point)]
    precision = max((p.precision for p in points), key=_PRECISION_RANK.__getitem__)
    lower_g = _end_reading(lower, "lower")
    upper_g = _end_reading(upper, "upper")
    return HistoricalDate(
        edtf=value,
        calendar=calendar,
        end_calendar=end_calendar if end_calendar != calendar else None,
        kind="interval",
        precision=precision,
        uncertain=any(p.uncertain for p in points),
        approximate=any(p.approximate for p in points),
        min_jdn=min_jdn,
        max_jdn=max_jdn,
        label=_recorded_interval_label(lower, upper),
        gregorian_edtf=f"{lower_g[0]}/{upper_g[0]}",
        gregorian_label=_gregorian_interval_label(lower, upper, lower_g[1], upper_g[1]),
        month=None,
        day=None,
        recorded_month=None,
        recorded_day=None,
    )


def _set(value: str, calendar: Calendar, objects: tuple[Any, ...]) -> HistoricalDate:
    inner = value[1:-1].split(",")
    points: list[_Point] = []
    readings: list[str] = []
    labels: list[str] = []
    gregorian_labels: list[str] = []
    for obj, text in zip(objects, inner, strict=True):
        kind = type(obj).__name__
        if kind == "Consecutives":
            first_text, last_text = text.split("..")
            first, last = _leaf(first_text, calendar, value), _leaf(last_text, calendar, value)
            points += [first, last]
            readings.append(f"{_gregorian_reading(first)[0]}..{_gregorian_reading(last)[0]}")
            labels.append(f"{_point_label(first)} to {_point_label(last)}")
            gregorian_labels.append(f"{_gregorian_reading(first)[1]} to {_gregorian_reading(last)[1]}")
        elif kind in ("Date", "UncertainOrApproximate", "Unspecified", "Season"):
            point = _leaf(text, calendar, value)
            points.append(point)
            reading = _gregorian_reading(point)[0]
            readings.append(reading.replace("/", "..") if "/" in reading else reading)
            labels.append(_point_label(point))
            gregorian_labels.append(_gregorian_reading(point)[1])
        else:
            raise DateError(f"{value!r}: sets may hold dates and ranges a..b, not open-ended ranges")
    precision = max((p.precision for p in points), key=_PRECISION_RANK.__getitem__)
    return HistoricalDate(
        edtf=value,
        calendar=calendar,
        end_calendar=None,
        kind="set",
        precision=precision,
        uncertain=True,  # "one of a set" says the sources disagree
        approximate=any(p.approximate for p in points),
        min_jdn=min(p.min_jdn for p in points),
        max_jdn=max(p.max_jdn for p in points),
        label=_set_label(points, labels),
        gregorian_edtf="[" + ",".join(readings) + "]",
        gregorian_label=_set_label([_as_gregorian(p) for p in points], gregorian_labels),
        month=None,
        day=None,
        recorded_month=None,
        recorded_day=None,
    )


# --- Gregorian readings -------------------------------------------------------------------------


def _qualifier(point: _Point) -> str:
    if point.uncertain and point.approximate:
        return "%"
    return "?" if point.uncertain else "~" if point.approximate else ""


def _gregorian_reading(point: _Point) -> tuple[str, str]:
    """The point read in the Gregorian calendar: EDTF text and label.

    A Julian day is one Gregorian day; a Julian month, season or year becomes a Gregorian interval
    of days, because its bounds do not fall on Gregorian month or year boundaries.
    """
    if point.calendar == "gregorian":
        return point.text, _point_label(point)
    start = _day_text(point.min_jdn) + _qualifier(point)
    if point.precision == "day":
        return start, _point_label(_as_gregorian(point))
    end = _day_text(point.max_jdn) + _qualifier(point)
    return f"{start}/{end}", _day_range_label(jdn_to_gregorian(point.min_jdn), jdn_to_gregorian(point.max_jdn), "")


def _end_reading(end: _Point | _OpenEnd, side: Literal["lower", "upper"]) -> tuple[str, str]:
    if isinstance(end, _OpenEnd):
        return (".." if end.kind == "open" else ""), _end_label(end, side, recorded=False)
    if end.calendar == "gregorian" or end.precision == "day":
        return _gregorian_reading(end)
    jdn = end.min_jdn if side == "lower" else end.max_jdn
    return _day_text(jdn) + _qualifier(end), _day_label(jdn)


def _day_text(jdn: int) -> str:
    return jdn_to_iso(jdn)


def _as_gregorian(point: _Point) -> _Point:
    if point.calendar == "gregorian" or point.precision != "day":
        return point
    year, month, day = jdn_to_gregorian(point.min_jdn)
    return _Point(
        text=f"{_year_text(year)}-{month:02d}-{day:02d}",
        calendar="gregorian",
        year=year,
        month=month,
        day=day,
        season=None,
        precision="day",
        unspecified_year=None,
        uncertain=point.uncertain,
        approximate=point.approximate,
        min_jdn=point.min_jdn,
        max_jdn=point.max_jdn,
    )


# --- labels -------------------------------------------------------------------------------------


def year_label(year: int) -> str:
    """`1929`, `44 BCE` (astronomical -43), `1 BCE` (astronomical 0)."""
    return f"{1 - year} BCE" if year <= 0 else str(year)


def years_label(first: int | None, last: int | None) -> str:
    """`45 BCE`, `1917 – 1940`, `1917 onwards`, `until 44 BCE`: a span of astronomical years, either end open."""
    if first is not None and first == last:
        return year_label(first)
    return _interval_label("open" if first is None else year_label(first), "open" if last is None else year_label(last))


def _day_label(jdn: int) -> str:
    year, month, day = jdn_to_gregorian(jdn)
    return f"{day} {MONTH_NAMES[month - 1]} {year_label(year)}"


def _bare_label(point: _Point) -> str:
    if point.unspecified_year:
        digits = point.unspecified_year
        if digits.startswith("-"):
            high = int(digits.replace("X", "0"))
            return f"{year_label(point.year)}–{year_label(high)}"
        return f"{int(digits.replace('X', '0'))}s"
    year = year_label(point.year)
    if point.season is not None:
        return f"{SEASONS[point.season][0]} {year}"
    if point.month is None:
        return year
    if point.day is None:
        return f"{MONTH_NAMES[point.month - 1]} {year}"
    return f"{point.day} {MONTH_NAMES[point.month - 1]} {year}"


def _point_label(point: _Point) -> str:
    label = _bare_label(point)
    if point.approximate:
        label = f"c. {label}"
    if point.uncertain:
        label = f"{label}?"
    if point.calendar == "julian":
        label = f"{label} (O.S.)"
    return label


def _end_label(end: _Point | _OpenEnd, side: Literal["lower", "upper"], *, recorded: bool) -> str:
    if isinstance(end, _Point):
        return _point_label(end) if recorded else _end_reading(end, side)[1]
    if end.kind == "open":
        return "open"
    return "?"


def _day_range_label(first: tuple[int, int, int], last: tuple[int, int, int], suffix: str) -> str:
    """`20–21 August 1940`, `14 October – 13 November 1917`, or both days in full across years."""
    (year, month, day), (last_year, last_month, last_day) = first, last
    if year != last_year:
        return _interval_label(
            f"{day} {MONTH_NAMES[month - 1]} {year_label(year)}{suffix}",
            f"{last_day} {MONTH_NAMES[last_month - 1]} {year_label(last_year)}{suffix}",
        )
    if month != last_month:
        return f"{day} {MONTH_NAMES[month - 1]} – {last_day} {MONTH_NAMES[last_month - 1]} {year_label(year)}{suffix}"
    return f"{day}–{last_day} {MONTH_NAMES[month - 1]} {year_label(year)}{suffix}"


def _plain_day(end: _Point | _OpenEnd) -> bool:
    return isinstance(end, _Point) and end.precision == "day" and not (end.uncertain or end.approximate)


def _recorded_interval_label(lower: _Point | _OpenEnd, upper: _Point | _OpenEnd) -> str:
    if _plain_day(lower) and _plain_day(upper):
        assert isinstance(lower, _Point) and isinstance(upper, _Point)
        if lower.calendar == upper.calendar:
            suffix = " (O.S.)" if lower.calendar == "julian" else ""
            first = (lower.year, lower.month or 1, lower.day or 1)
            return _day_range_label(first, (upper.year, upper.month or 1, upper.day or 1), suffix)
    return _interval_label(_end_label(lower, "lower", recorded=True), _end_label(upper, "upper", recorded=True))


def _gregorian_interval_label(
    lower: _Point | _OpenEnd, upper: _Point | _OpenEnd, lower_text: str, upper_text: str
) -> str:
    """Both ends read as plain Gregorian days (days, or Julian ends widened to days): compact."""
    if (
        isinstance(lower, _Point)
        and isinstance(upper, _Point)
        and all(
            (end.precision == "day" or end.calendar == "julian") and not (end.uncertain or end.approximate)
            for end in (lower, upper)
        )
    ):
        return _day_range_label(jdn_to_gregorian(lower.min_jdn), jdn_to_gregorian(upper.max_jdn), "")
    return _interval_label(lower_text, upper_text)


def _interval_label(lower: str, upper: str) -> str:
    if upper == "open":
        return f"{lower} onwards"
    if lower == "open":
        return f"until {upper}"
    return f"{lower} – {upper}"


def _set_label(points: list[_Point], labels: list[str]) -> str:
    """`12 or 14 November 1927` when every member is a plain day of one month; else `a or b`."""
    plain_days = all(p.precision == "day" and not (p.uncertain or p.approximate) for p in points)
    if len(points) > 1 and plain_days and len({(p.year, p.month, p.calendar) for p in points}) == 1:
        days = [str(p.day) for p in points]
        tail = _point_label(points[0]).split(" ", 1)[1]
        return f"{', '.join(days[:-1])} or {days[-1]} {tail}"
    return " or ".join(labels)
