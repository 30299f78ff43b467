"""Which language a client wants a record's name in, and which of the record's names that is.

A client asks with `lang=ru` or with `Accept-Language` (RFC 9110 12.5.4: ranges with q-values, best
first; `q=0` means "not this"; `*` adds nothing, since any name is acceptable anyway). A record
answers in the first language it has a name in, matched by RFC 4647's lookup: a request for `ru-RU`
is met by a name tagged `ru-RU`, then by one tagged `ru`. When none matches, the record keeps its main
name (and the answer carries no Content-Language).

Parsed here rather than by a library: the header is a list of at most a few short tags, and what the
answer needs (the ranges in order) is a dozen lines; the grammar is checked strictly and anything
else is ignored, as RFC 9110 allows for a header a server cannot use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# A language range as Accept-Language carries it (RFC 4647 2.1, without `*`), and its weight.
_RANGE = re.compile(r"^([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)(?:;q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?$")
MAX_RANGES = 8  # a longer list is read no further: a hostile header costs nothing more than this


def requested(lang: str | None, accept_language: str | None) -> tuple[str, ...]:
    """The languages asked for, best first, lower case: `lang` alone when given, else the header's."""
    if lang is not None:
        return (lang.lower(),)
    if not accept_language:
        return ()
    ranges: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")[: MAX_RANGES * 2]):
        match = _RANGE.match(item.strip().replace(" ", ""))
        if match is None:
            continue
        weight = float(match[2]) if match[2] is not None else 1.0
        if weight > 0:
            ranges.append((-weight, position, match[1].lower()))
    return tuple(dict.fromkeys(tag for _weight, _position, tag in sorted(ranges)[:MAX_RANGES]))


def lookup(names: Iterable[tuple[str, str | None]], wanted: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, language) of the first of `names` - (name, language tag) in the record's order of
    preference - in the first wanted language that has one; None when none has."""
    by_language: dict[str, tuple[str, str]] = {}
    for name, language in names:
        if language:
            by_language.setdefault(language.lower(), (name, language))
    for tag in wanted:
        while tag:
            if tag in by_language:
                return by_language[tag]
            tag = tag.rpartition("-")[0]  # ru-latn-ru -> ru-latn -> ru
    return None


def tag_suffix(wanted: tuple[str, ...]) -> str:
    """What an entity tag adds for the languages asked (`fr-fr+fr+en`): each answer to another list
    may name the record differently, so it is another representation with its own tag."""
    return "+".join(wanted)


# What each type offers as its name in another language, from its detail document, in preference order.


def current_names(document: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A place's or an organisation's names still in use (no `to_year`): Almaty is not named Алма-Ата today."""
    return [(n["name"], n["language"]) for n in document["names"] if n["to_year"] is None]


def person_names(document: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A person's aliases, but birth names: Trotsky is Лев Троцкий in Russian, not Лейба Бронштейн."""
    return [(a["name"], a["language"]) for a in document["aliases"] if a["kind"] != "birth-name"]


def other_names(document: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A work's or an event's titles in other languages."""
    return [(n["name"], n["language"]) for n in document["names"]]
