"""works' names in other languages: a table of them, and search finds a work by any of its titles

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 05:00:00

A work's titles in other languages and scripts («Моя жизнь») go in `work_names`. Search must find
the work by them as by its title, so works_fts's first field - the one that names the record, and
ranks first (app.queries.search) - now holds the title and every other title; the triggers of
migration 0005 are replaced by ones that also follow `work_names`.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
TITLES = "concat_ws(' ', t.title, (SELECT string_agg(n.name, ' ') FROM work_names n WHERE n.work_id = t.id))"
SUBJECTS = "(SELECT string_agg(s.subject, ' ') FROM work_subjects s WHERE s.work_id = t.id)"
OLD_TRIGGERS = ("insert", "update", "delete", "names_insert", "names_update", "names_delete")


def _sqlite_row(record_id: str) -> str:
    """INSERT the full-text row of the work `record_id` (an SQL expression): titles, subjects, description."""
    titles = (
        "t.title || coalesce(' ' || (SELECT group_concat(n.name, ' ') FROM work_names n WHERE n.work_id = t.id), '')"
    )
    subjects = "(SELECT group_concat(s.subject, ' ') FROM work_subjects s WHERE s.work_id = t.id)"
    return (
        f"INSERT INTO works_fts (rowid, title, subjects, description) "
        f"SELECT t.id, {titles}, {subjects}, t.description FROM works t WHERE t.id = {record_id}"
    )


def _sqlite_triggers() -> list[str]:
    refresh = lambda owner: f"DELETE FROM works_fts WHERE rowid = {owner}; {_sqlite_row(owner)};"  # noqa: E731
    statements = [
        f"CREATE TRIGGER works_fts_insert AFTER INSERT ON works BEGIN {_sqlite_row('new.id')}; END",
        f"CREATE TRIGGER works_fts_update AFTER UPDATE OF title, description ON works BEGIN {refresh('old.id')} END",
        "CREATE TRIGGER works_fts_delete AFTER DELETE ON works BEGIN DELETE FROM works_fts WHERE rowid = old.id; END",
    ]
    for table in ("work_subjects", "work_names"):
        statements += [
            f"CREATE TRIGGER works_fts_{table}_insert AFTER INSERT ON {table} BEGIN {refresh('new.work_id')} END",
            f"CREATE TRIGGER works_fts_{table}_update AFTER UPDATE ON {table} BEGIN {refresh('old.work_id')} "
            f"{refresh('new.work_id')} END",
            f"CREATE TRIGGER works_fts_{table}_delete AFTER DELETE ON {table} BEGIN {refresh('old.work_id')} END",
        ]
    return statements


def _postgresql() -> list[str]:
    document = (
        f"setweight(to_tsvector('chronicle_text', {TITLES}), 'A') || "
        f"setweight(to_tsvector('chronicle_text', coalesce({SUBJECTS}, '')), 'B') || "
        "setweight(to_tsvector('chronicle_text', coalesce(t.description, '')), 'C')"
    )
    return [
        "CREATE OR REPLACE FUNCTION works_fts_refresh(record integer) RETURNS void LANGUAGE sql AS $$ "
        f"INSERT INTO works_fts (id, document) SELECT t.id, {document} FROM works t WHERE t.id = record "
        "ON CONFLICT (id) DO UPDATE SET document = excluded.document $$",
        "CREATE FUNCTION works_fts_work_names() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP <> 'INSERT' THEN PERFORM works_fts_refresh(old.work_id); END IF; "
        "IF TG_OP <> 'DELETE' THEN PERFORM works_fts_refresh(new.work_id); END IF; RETURN NULL; END $$",
        "CREATE TRIGGER works_fts_work_names AFTER INSERT OR UPDATE OR DELETE ON work_names "
        "FOR EACH ROW EXECUTE FUNCTION works_fts_work_names()",
    ]


def upgrade() -> None:
    op.create_table(
        "work_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("works.id", name="fk_work_names_work_id_works",
                  ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("language", sa.String(12), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_work_names"),
    )  # fmt: skip
    op.create_index("ix_work_names_work_id", "work_names", ["work_id"])
    op.create_index("ix_work_names_name", "work_names", ["name"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in _postgresql():
            op.execute(statement)
        return
    for name in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS works_fts_{name}")
    for statement in _sqlite_triggers():
        op.execute(statement)


def _works_full_text_0005() -> Any:
    """Migration 0005's works_fts (its FullText): what a downgrade puts back."""
    path = Path(__file__).with_name("0005_search_every_record_type.py")
    spec = importlib.util.spec_from_file_location("chronicle_migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WORKS


def downgrade() -> None:
    works = _works_full_text_0005()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS works_fts_work_names ON work_names")
        op.execute("DROP FUNCTION IF EXISTS works_fts_work_names()")
        op.drop_table("work_names")
        for statement in works.postgresql_drop() + works.postgresql():
            op.execute(statement)
        return
    for statement in _sqlite_triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {statement.split()[2]}")
    op.drop_table("work_names")
    for statement in works.drop() + works.statements():
        op.execute(statement)
