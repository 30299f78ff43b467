"""full-text indexes for events and people

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:20:00

FTS5 tables keyed by the record id (rowid), kept in step by triggers, so every write - the loader,
editors, a hand-made fix in the sqlite3 shell - updates the index in the same transaction.
`remove_diacritics 2` lets "Perigny" find "Périgny". A person's row holds their name and aliases.

PostgreSQL: a table of weighted tsvectors per record type (name or title A, other names B, text C),
with a GIN index, kept in step by a trigger. The text search configuration `chronicle_text` is
`simple` (no stemming, no stop words: as FTS5's unicode61) after `unaccent` (Périgny is perigny).
Migration 0005 makes the other types' tables, people's included.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
PERSON_ROW = (
    "INSERT INTO people_fts (rowid, name, aliases) SELECT p.id, p.name, "
    "(SELECT group_concat(a.name, ' ') FROM person_aliases a WHERE a.person_id = p.id) "
    "FROM people p WHERE p.id = {person}"
)

STATEMENTS = [
    f"CREATE VIRTUAL TABLE events_fts USING fts5(title, summary, {TOKENIZE})",
    "CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN "
    "INSERT INTO events_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER events_fts_update AFTER UPDATE OF title, summary ON events BEGIN "
    "DELETE FROM events_fts WHERE rowid = old.id; "
    "INSERT INTO events_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.id; END",
    "INSERT INTO events_fts (rowid, title, summary) SELECT id, title, summary FROM events",
    f"CREATE VIRTUAL TABLE people_fts USING fts5(name, aliases, {TOKENIZE})",
    f"CREATE TRIGGER people_fts_insert AFTER INSERT ON people BEGIN {PERSON_ROW.format(person='new.id')}; END",
    "CREATE TRIGGER people_fts_update AFTER UPDATE OF name ON people BEGIN "
    f"DELETE FROM people_fts WHERE rowid = old.id; {PERSON_ROW.format(person='new.id')}; END",
    "CREATE TRIGGER people_fts_delete AFTER DELETE ON people BEGIN DELETE FROM people_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER people_fts_alias_insert AFTER INSERT ON person_aliases BEGIN "
    f"DELETE FROM people_fts WHERE rowid = new.person_id; {PERSON_ROW.format(person='new.person_id')}; END",
    "CREATE TRIGGER people_fts_alias_update AFTER UPDATE ON person_aliases BEGIN "
    "DELETE FROM people_fts WHERE rowid IN (old.person_id, new.person_id); "
    f"{PERSON_ROW.format(person='old.person_id')}; "
    f"{PERSON_ROW.format(person='new.person_id')} AND new.person_id != old.person_id; END",
    "CREATE TRIGGER people_fts_alias_delete AFTER DELETE ON person_aliases BEGIN "
    f"DELETE FROM people_fts WHERE rowid = old.person_id; {PERSON_ROW.format(person='old.person_id')}; END",
    PERSON_ROW.format(person="p.id").replace("WHERE p.id = p.id", ""),
]


POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION chronicle_text (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION chronicle_text ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    "CREATE TABLE events_fts (id integer PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_events_fts_document ON events_fts USING gin (document)",
    "CREATE FUNCTION events_fts_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO events_fts (id, document) VALUES (NEW.id, "
    "setweight(to_tsvector('chronicle_text', NEW.title), 'A') || "
    "setweight(to_tsvector('chronicle_text', coalesce(NEW.summary, '')), 'C')) "
    "ON CONFLICT (id) DO UPDATE SET document = excluded.document; RETURN NULL; END $$",
    "CREATE TRIGGER events_fts_row AFTER INSERT OR UPDATE OF title, summary ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_fts_row()",
    "INSERT INTO events_fts (id, document) SELECT id, setweight(to_tsvector('chronicle_text', title), 'A') || "
    "setweight(to_tsvector('chronicle_text', coalesce(summary, '')), 'C') FROM events",
]


def upgrade() -> None:
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS events_fts")
        op.execute("DROP FUNCTION IF EXISTS events_fts_row() CASCADE")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS chronicle_text")
        return
    for name in ("insert", "update", "delete", "alias_insert", "alias_update", "alias_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS people_fts_{name}")
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS events_fts_{name}")
    op.execute("DROP TABLE IF EXISTS people_fts")
    op.execute("DROP TABLE IF EXISTS events_fts")
