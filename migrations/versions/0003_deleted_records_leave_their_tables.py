"""deleted records leave their own tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 23:55:00

The type tables hold live records only (app/models.py): list queries rely on it and do not filter
on records.deleted_at. This trigger refuses to mark a record deleted while its own row remains.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("events", "people", "places", "works", "sources")


def upgrade() -> None:
    still_there = " OR ".join(f"EXISTS (SELECT 1 FROM {table} WHERE id = new.id)" for table in TABLES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION records_deleted_leave_their_table() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF new.deleted_at IS NOT NULL AND ({still_there}) THEN "
            "RAISE EXCEPTION 'a deleted record must leave its own table first (app/models.py)'; "
            "END IF; RETURN new; END $$"
        )
        op.execute(
            "CREATE TRIGGER records_deleted_leave_their_table BEFORE INSERT OR UPDATE OF deleted_at ON records "
            "FOR EACH ROW EXECUTE FUNCTION records_deleted_leave_their_table()"
        )
        return
    for event in ("INSERT", "UPDATE OF deleted_at"):
        name = "records_deleted_leave_their_table" + ("_on_insert" if event == "INSERT" else "")
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON records "
            f"WHEN new.deleted_at IS NOT NULL AND ({still_there}) "
            "BEGIN SELECT RAISE(ABORT, 'a deleted record must leave its own table first (app/models.py)'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS records_deleted_leave_their_table() CASCADE")
        return
    op.execute("DROP TRIGGER IF EXISTS records_deleted_leave_their_table_on_insert")
    op.execute("DROP TRIGGER IF EXISTS records_deleted_leave_their_table")
