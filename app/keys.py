"""API keys: made, stored (as SHA-256 hashes only), checked and revoked.

A key is `chr_` and 43 URL-safe characters (32 random bytes): the prefix makes a leaked key easy
to recognise (and to search for in logs and repositories). The database holds the key's SHA-256
and its first characters (to tell keys apart in `chronicle keys list`), never the key itself. A
slow password hash is not needed: the key is random, not chosen by a person.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from app.models import KEY_SCOPES, ApiKey, utcnow

KEY_PREFIX = "chr_"
SHOWN_PREFIX = 12  # characters of the key kept to recognise it: "chr_" and 8 random ones
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
API_KEYS: Table = ApiKey.__table__  # type: ignore[assignment]


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def includes(scope: str, needed: str) -> bool:
    """admin includes write, which includes read."""
    return KEY_SCOPES.index(scope) >= KEY_SCOPES.index(needed)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the key's id, name and scope."""

    key_id: int
    name: str
    scope: str
    last_used_at: str | None


def create_key(session: Session, name: str, scope: str) -> str:
    """A new key named `name`; returns the key, which is shown once and never stored."""
    if scope not in KEY_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(KEY_SCOPES)}")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ValueError(f"a key named {name!r} exists already (names are unique, even revoked ones)")
    key = new_key()
    session.add(ApiKey(name=name, prefix=key[:SHOWN_PREFIX], key_hash=key_hash(key), scope=scope))
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def revoke_key(session: Session, name: str) -> bool:
    """Revoke the key named `name`; False when there is no such live key."""
    result = session.execute(
        update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# Read by the request path on the read connection (app.routers.auth): a live key by its hash.
FIND_KEY_SQL = (
    "SELECT id, name, scope, key_hash, last_used_at FROM api_keys WHERE key_hash = :hash AND revoked_at IS NULL"
)


def matches(stored_hash: str, key: str) -> bool:
    """Compared in constant time, so that timing tells nothing about how much of a hash matched."""
    return hmac.compare_digest(stored_hash, key_hash(key))


def note_use(session: Session, caller: Caller, now: datetime) -> None:
    """Record that the key was used, at most once a minute (a write per request would be a write
    lock per request, even for reads)."""
    if caller.last_used_at is not None:
        last = datetime.fromisoformat(caller.last_used_at)
        if (last if last.tzinfo else last.replace(tzinfo=UTC)) > now - LAST_USED_EVERY:  # SQLite keeps UTC, naive
            return
    session.execute(update(API_KEYS).where(API_KEYS.c.id == caller.key_id).values(last_used_at=now))
