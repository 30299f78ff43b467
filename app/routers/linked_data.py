"""What records as schema.org JSON-LD (`Accept: application/ld+json`) share: nodes, references, dates
and `sameAs` links. Each type's routes build its own node (`jsonld`) and GeoJSON Feature (`feature`).

Built from the same detail documents as the JSON answers. Dates go out in their Gregorian reading as
ISO 8601 values of their own precision ("1930", "1917-11-07"; astronomical years before year 1, as
ISO 8601 expanded years do); an interval gives a start and an end. Wikidata and GeoNames identifiers
become `sameAs` links.
"""

from __future__ import annotations

import re
from typing import Any

from app import json

SCHEMA = "https://schema.org"
_ISO = re.compile(r"^-?\d{4}(-\d{2}(-\d{2})?)?$")
IDENTIFIER_URLS = {
    "wikidata": "https://www.wikidata.org/wiki/{}",
    "geonames": "https://www.geonames.org/{}",
    "viaf": "https://viaf.org/viaf/{}",
}


def plain(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its pre-rendered JSON fragments (dates) read back as values."""
    value: dict[str, Any] = json.loads(json.dumps(document))
    return value


def date_range(date: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(start, end) as ISO 8601 values of the date's precision, from its Gregorian reading."""
    if date is None:
        return None, None
    parts = [part.rstrip("~?%") for part in date["gregorian"]["edtf"].split("/")]
    if len(parts) <= 2 and all(_ISO.match(part) or part in ("", "..") for part in parts):
        start, end = parts[0], parts[-1]
        return (start if _ISO.match(start) else None), (end if _ISO.match(end) else None)
    return date["earliest"], date["latest"]  # sets and other shapes: the bounds


def same_as(identifiers: dict[str, str]) -> list[str]:
    return [IDENTIFIER_URLS[scheme].format(value) for scheme, value in identifiers.items() if scheme in IDENTIFIER_URLS]


def node(kind: str, base: str, href: str, **fields: Any) -> dict[str, Any]:
    node = {"@type": kind, "@id": base + href, "url": base + href}
    node.update({key: value for key, value in fields.items() if value not in (None, [], "")})
    return node


def ref(kind: str, base: str, linked: dict[str, Any], name_key: str = "name") -> dict[str, Any]:
    return node(kind, base, linked["href"], name=linked[name_key])
