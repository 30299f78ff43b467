"""full text for people's descriptions, places and works: what /v1/search ranks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 01:10:00

Each record type gets one FTS5 table with three fields of falling weight in the ranking: the name or
title; the other names (aliases, historical names, subjects); the description. They are kept in step
by triggers on the record's table and on the table of its other names, as in migration 0002, so
every write updates the index in its own transaction. people_fts is rebuilt with the description.

PostgreSQL: as for events in 0002, one tsvector per record with the three fields as weights A, B, C;
a function refreshes a record's row, called by triggers on both tables.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"


@dataclass(frozen=True)
class FullText:
    fts: str  # the FTS5 table, keyed by the record id (rowid)
    table: str  # the record's table
    name: str  # its name or title column
    description: str
    other_names: str  # the column holding the names, all in one field
    names_table: str  # the table of other names, one row per name
    names_column: str
    owner: str  # names_table's column holding the record id

    def row(self, record_id: str) -> str:
        """INSERT the full-text row of the record `record_id` (an SQL expression)."""
        names = (
            f"(SELECT group_concat(n.{self.names_column}, ' ') FROM {self.names_table} n WHERE n.{self.owner} = t.id)"
        )
        return (
            f"INSERT INTO {self.fts} (rowid, {self.name}, {self.other_names}, {self.description}) "
            f"SELECT t.id, t.{self.name}, {names}, t.{self.description} FROM {self.table} t WHERE t.id = {record_id}"
        )

    def statements(self) -> list[str]:
        fts, owner = self.fts, self.owner
        return [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({self.name}, {self.other_names}, {self.description}, {TOKENIZE})",
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {self.table} BEGIN {self.row('new.id')}; END",
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {self.name}, {self.description} ON {self.table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; {self.row('new.id')}; END",
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {self.table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; END",
            f"CREATE TRIGGER {fts}_names_insert AFTER INSERT ON {self.names_table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = new.{owner}; {self.row(f'new.{owner}')}; END",
            f"CREATE TRIGGER {fts}_names_update AFTER UPDATE ON {self.names_table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid IN (old.{owner}, new.{owner}); {self.row(f'old.{owner}')}; "
            f"{self.row(f'new.{owner}')} AND new.{owner} != old.{owner}; END",
            f"CREATE TRIGGER {fts}_names_delete AFTER DELETE ON {self.names_table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.{owner}; {self.row(f'old.{owner}')}; END",
            self.row("t.id").removesuffix(" WHERE t.id = t.id"),
        ]

    def postgresql(self) -> list[str]:
        fts, owner = self.fts, self.owner
        names = f"(SELECT string_agg(n.{self.names_column}, ' ') FROM {self.names_table} n WHERE n.{owner} = t.id)"
        document = (
            f"setweight(to_tsvector('chronicle_text', t.{self.name}), 'A') || "
            f"setweight(to_tsvector('chronicle_text', coalesce({names}, '')), 'B') || "
            f"setweight(to_tsvector('chronicle_text', coalesce(t.{self.description}, '')), 'C')"
        )
        return [
            f"CREATE TABLE {fts} (id integer PRIMARY KEY REFERENCES {self.table} (id) ON DELETE CASCADE, "
            "document tsvector NOT NULL)",
            f"CREATE INDEX ix_{fts}_document ON {fts} USING gin (document)",
            f"CREATE FUNCTION {fts}_refresh(record integer) RETURNS void LANGUAGE sql AS $$ "
            f"INSERT INTO {fts} (id, document) SELECT t.id, {document} FROM {self.table} t WHERE t.id = record "
            "ON CONFLICT (id) DO UPDATE SET document = excluded.document $$",
            f"CREATE FUNCTION {fts}_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"PERFORM {fts}_refresh(new.id); RETURN NULL; END $$",
            f"CREATE TRIGGER {fts}_record AFTER INSERT OR UPDATE OF {self.name}, {self.description} ON {self.table} "
            f"FOR EACH ROW EXECUTE FUNCTION {fts}_record()",
            f"CREATE FUNCTION {fts}_names() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN PERFORM {fts}_refresh(old.{owner}); END IF; "
            f"IF TG_OP <> 'DELETE' THEN PERFORM {fts}_refresh(new.{owner}); END IF; RETURN NULL; END $$",
            f"CREATE TRIGGER {fts}_names AFTER INSERT OR UPDATE OR DELETE ON {self.names_table} "
            f"FOR EACH ROW EXECUTE FUNCTION {fts}_names()",
            f"INSERT INTO {fts} (id, document) SELECT t.id, {document} FROM {self.table} t",
        ]

    def postgresql_drop(self) -> list[str]:
        fts = self.fts
        return [
            f"DROP TABLE IF EXISTS {fts}",
            *(f"DROP FUNCTION IF EXISTS {fts}_{name}() CASCADE" for name in ("record", "names")),
            f"DROP FUNCTION IF EXISTS {fts}_refresh(integer)",
        ]

    def drop(self) -> list[str]:
        triggers = ("insert", "update", "delete", "names_insert", "names_update", "names_delete")
        return [f"DROP TRIGGER IF EXISTS {self.fts}_{name}" for name in triggers] + [f"DROP TABLE IF EXISTS {self.fts}"]


PEOPLE = FullText("people_fts", "people", "name", "description", "aliases", "person_aliases", "name", "person_id")
PLACES = FullText("places_fts", "places", "name", "description", "other_names", "place_names", "name", "place_id")
WORKS = FullText("works_fts", "works", "title", "description", "subjects", "work_subjects", "subject", "work_id")
OLD_PEOPLE_TRIGGERS = ("insert", "update", "delete", "alias_insert", "alias_update", "alias_delete")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # 0002 made events_fts only
        for full_text in (PEOPLE, PLACES, WORKS):
            for statement in full_text.postgresql():
                op.execute(statement)
        return
    for name in OLD_PEOPLE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS people_fts_{name}")
    op.execute("DROP TABLE IF EXISTS people_fts")
    for full_text in (PEOPLE, PLACES, WORKS):
        for statement in full_text.statements():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for full_text in (WORKS, PLACES, PEOPLE):
            for statement in full_text.postgresql_drop():
                op.execute(statement)
        return
    for full_text in (WORKS, PLACES, PEOPLE):
        for statement in full_text.drop():
            op.execute(statement)
    # people_fts as migration 0002 made it: name and aliases
    row = (
        "INSERT INTO people_fts (rowid, name, aliases) SELECT p.id, p.name, "
        "(SELECT group_concat(a.name, ' ') FROM person_aliases a WHERE a.person_id = p.id) FROM people p"
    )
    op.execute(f"CREATE VIRTUAL TABLE people_fts USING fts5(name, aliases, {TOKENIZE})")
    op.execute(f"CREATE TRIGGER people_fts_insert AFTER INSERT ON people BEGIN {row} WHERE p.id = new.id; END")
    op.execute(
        "CREATE TRIGGER people_fts_update AFTER UPDATE OF name ON people BEGIN "
        f"DELETE FROM people_fts WHERE rowid = old.id; {row} WHERE p.id = new.id; END"
    )
    op.execute(
        "CREATE TRIGGER people_fts_delete AFTER DELETE ON people BEGIN DELETE FROM people_fts WHERE rowid = old.id; END"
    )
    op.execute(
        "CREATE TRIGGER people_fts_alias_insert AFTER INSERT ON person_aliases BEGIN "
        f"DELETE FROM people_fts WHERE rowid = new.person_id; {row} WHERE p.id = new.person_id; END"
    )
    op.execute(
        "CREATE TRIGGER people_fts_alias_update AFTER UPDATE ON person_aliases BEGIN "
        "DELETE FROM people_fts WHERE rowid IN (old.person_id, new.person_id); "
        f"{row} WHERE p.id = old.person_id; {row} WHERE p.id = new.person_id AND new.person_id != old.person_id; END"
    )
    op.execute(
        "CREATE TRIGGER people_fts_alias_delete AFTER DELETE ON person_aliases BEGIN "
        f"DELETE FROM people_fts WHERE rowid = old.person_id; {row} WHERE p.id = old.person_id; END"
    )
    op.execute(row)
