"""Strict reading of input, unit by unit: dates in ASCII digits only, the record format's strings and
numbers, If-Match and If-None-Match on writes, and how deep an import may nest. tests/test_hostile.py
sends the same through the API; these name the function that refuses each."""

from __future__ import annotations

import pytest

from app.dates import DateError, parse_date

NON_ASCII_DIGITS = [
    "\uff11\uff19\uff11\uff17",  # fullwidth
    "\u0661\u0669\u0661\u0667",  # Arabic-Indic
    "\u0967\u096f\u0967\u096d",  # Devanagari
    "19\uff117",
    "1917-1\uff12",
    "1917-12-0\uff11",
    "1917-10-25/19\uff118",
    "19\uff11X",
    "[1917,\uff11\uff19\uff11\uff18]",
    "1917-2\uff11",
]


@pytest.mark.parametrize("edtf", NON_ASCII_DIGITS, ids=ascii)
@pytest.mark.parametrize("calendar", ["gregorian", "julian"])
def test_dates_take_ascii_digits_only(edtf: str, calendar: str) -> None:
    with pytest.raises(DateError):
        parse_date(edtf, calendar)  # type: ignore[arg-type]
