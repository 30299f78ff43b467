"""Entity tags, made and read back in one place.

A record's tag is strong: its revision, then its representation (`"3"`, `"3.ld"`, `"3.geojson"`)
and the languages its name was asked in (`"3~ru"`);
If-Match names a revision with it. A list's is weak: the data version and the format
(`W/"d42.json"`), since the same data may come in other bytes. An answer that app.main.Compression
gzips carries a strong tag with "-gzip" (`"3-gzip"`): other bytes, the same revision.
"""

from __future__ import annotations

import re

GZIP_SUFFIX = "-gzip"

# Exactly the strong tags issued for a record; anything else names no revision: "03", "3.bogus", "³".
_RECORD_TAG = re.compile(r'"([1-9][0-9]{0,17})(?:\.(?:ld|geojson))?(?:~[a-z0-9+-]{1,200})?(?:-gzip)?"')


def record_tag(revision: int, representation: str = "", languages: str = "") -> str:
    """A record's tag: its revision, one per representation ("" for JSON, "ld", "geojson") and per
    list of languages asked for its name (app.languages.tag_suffix: "3~ru", "3.ld~fr+en")."""
    tag = f"{revision}.{representation}" if representation else str(revision)
    return f'"{tag}~{languages}"' if languages else f'"{tag}"'


def list_tag(version: int, fmt: str) -> str:
    """A list's tag: the data version, per format."""
    return f'W/"d{version}.{fmt}"'


def compressed(tag: str) -> str:
    """The tag of the gzipped answer: a strong tag gets the suffix; a weak one stays (weak tags
    already allow other bytes)."""
    return tag if tag.startswith("W/") else tag[:-1] + GZIP_SUFFIX + '"'


def opaque(tag: str) -> str:
    """A tag compared weakly (If-None-Match): without W/ and without the gzip suffix."""
    tag = tag.strip().removeprefix("W/")
    return tag[: -len(GZIP_SUFFIX) - 1] + '"' if tag.endswith(GZIP_SUFFIX + '"') else tag


def revision_of(tag: str) -> int | None:
    """The revision a strong tag of a record names: "3", "3-gzip", "3.ld", "3.geojson-gzip"; None
    for any tag Chronicle does not issue."""
    match = _RECORD_TAG.fullmatch(tag)
    return int(match[1]) if match else None
