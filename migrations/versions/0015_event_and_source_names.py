"""events' and sources' names in other languages; search finds an event by any of its titles

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 05:30:00

Every record type can now carry names in other languages and scripts: events and sources get
`event_names` and `source_names`, as works got `work_names` (0014). events_fts's first field - the
one that names the record and ranks first - holds the title and every other title; the triggers of
migration 0002 are replaced by ones that also follow `event_names`. Sources have no full-text table.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

NAMES = "(SELECT group_concat(n.name, ' ') FROM event_names n WHERE n.event_id = t.id)"
OLD_TRIGGERS = ("insert", "update", "delete")


def _row(record_id: str) -> str:
    """INSERT the full-text row of the event `record_id` (an SQL expression): its titles, its summary."""
    return (
        f"INSERT INTO events_fts (rowid, title, summary) SELECT t.id, t.title || coalesce(' ' || {NAMES}, ''), "
        f"t.summary FROM events t WHERE t.id = {record_id}"
    )


def _refresh(record_id: str) -> str:
    return f"DELETE FROM events_fts WHERE rowid = {record_id}; {_row(record_id)};"


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN {_row('new.id')}; END",
    f"CREATE TRIGGER events_fts_update AFTER UPDATE OF title, summary ON events BEGIN {_refresh('old.id')} END",
    "CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.id; END",
    f"CREATE TRIGGER events_fts_names_insert AFTER INSERT ON event_names BEGIN {_refresh('new.event_id')} END",
    f"CREATE TRIGGER events_fts_names_update AFTER UPDATE ON event_names BEGIN {_refresh('old.event_id')} "
    f"{_refresh('new.event_id')} END",
    f"CREATE TRIGGER events_fts_names_delete AFTER DELETE ON event_names BEGIN {_refresh('old.event_id')} END",
]
# Migration 0002's triggers, for a downgrade.
SQLITE_0002 = [
    "CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN "
    "INSERT INTO events_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER events_fts_update AFTER UPDATE OF title, summary ON events BEGIN "
    "DELETE FROM events_fts WHERE rowid = old.id; "
    "INSERT INTO events_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.id; END",
]
DOCUMENT = (
    "setweight(to_tsvector('chronicle_text', concat_ws(' ', t.title, "
    "(SELECT string_agg(n.name, ' ') FROM event_names n WHERE n.event_id = t.id))), 'A') || "
    "setweight(to_tsvector('chronicle_text', coalesce(t.summary, '')), 'C')"
)
POSTGRESQL = [
    "CREATE FUNCTION events_fts_refresh(record integer) RETURNS void LANGUAGE sql AS $$ "
    f"INSERT INTO events_fts (id, document) SELECT t.id, {DOCUMENT} FROM events t WHERE t.id = record "
    "ON CONFLICT (id) DO UPDATE SET document = excluded.document $$",
    "CREATE OR REPLACE FUNCTION events_fts_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "PERFORM events_fts_refresh(NEW.id); RETURN NULL; END $$",
    "CREATE FUNCTION events_fts_names() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN PERFORM events_fts_refresh(old.event_id); END IF; "
    "IF TG_OP <> 'DELETE' THEN PERFORM events_fts_refresh(new.event_id); END IF; RETURN NULL; END $$",
    "CREATE TRIGGER events_fts_names AFTER INSERT OR UPDATE OR DELETE ON event_names "
    "FOR EACH ROW EXECUTE FUNCTION events_fts_names()",
]
POSTGRESQL_0002 = [
    "CREATE OR REPLACE FUNCTION events_fts_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO events_fts (id, document) VALUES (NEW.id, "
    "setweight(to_tsvector('chronicle_text', NEW.title), 'A') || "
    "setweight(to_tsvector('chronicle_text', coalesce(NEW.summary, '')), 'C')) "
    "ON CONFLICT (id) DO UPDATE SET document = excluded.document; RETURN NULL; END $$",
]


def _names_table(owner: str, owners: str) -> None:
    table = f"{owner}_names"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(f"{owner}_id", sa.Integer(), sa.ForeignKey(f"{owners}.id", name=f"fk_{table}_{owner}_id_{owners}",
                  ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("language", sa.String(12), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )  # fmt: skip
    op.create_index(f"ix_{table}_{owner}_id", table, [f"{owner}_id"])
    op.create_index(f"ix_{table}_name", table, ["name"])


def upgrade() -> None:
    _names_table("event", "events")
    _names_table("source", "sources")
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)
        return
    for name in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS events_fts_{name}")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_fts_names ON event_names")
        op.execute("DROP FUNCTION IF EXISTS events_fts_names()")
        for statement in POSTGRESQL_0002:
            op.execute(statement)
        op.execute("DROP FUNCTION IF EXISTS events_fts_refresh(integer)")
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {statement.split()[2]}")
        for statement in SQLITE_0002:
            op.execute(statement)
    op.drop_table("source_names")
    op.drop_table("event_names")
