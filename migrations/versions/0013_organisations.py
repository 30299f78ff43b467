"""organisations: a record type, with names over time, predecessors, memberships and events' links

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 04:20:00

Organisations (app/record_types/organisation) get their own table joined to `records`, the rows
they own (other names, predecessors), people's memberships (a role with its own dates) and events'
links to them; `records.type` admits 'organisation'; full text as for places (migration 0005): the
name, the other names, the description.

SQLite cannot alter a CHECK constraint; rebuilding `records` would drop it while every record's own
row refers to it (ON DELETE CASCADE). So the constraint's text is rewritten in the schema itself, as
SQLite documents for changes that do not touch stored data (sqlite.org/lang_altertable.html, "making
other kinds of table schema changes"): `writable_schema` for one UPDATE, and the schema version moved
so that every connection reads the schema again.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = "type IN ('event', 'person', 'place', 'work', 'source')"
NEW_TYPES = "type IN ('event', 'person', 'place', 'work', 'source', 'organisation')"
DATE_PARTS = (
    ("edtf", sa.String(200)), ("calendar", sa.String(9)), ("end_calendar", sa.String(9)), ("min_jdn", sa.Integer()),
    ("max_jdn", sa.Integer()), ("span_level", sa.Integer()), ("month", sa.Integer()), ("day", sa.Integer()),
    ("recorded_month", sa.Integer()), ("recorded_day", sa.Integer()), ("json", sa.Text()),
)  # fmt: skip


def _full_text() -> object:
    """Migration 0005's FullText (the FTS5 table and its triggers, or PostgreSQL's tsvector table)."""
    path = Path(__file__).with_name("0005_search_every_record_type.py")
    spec = importlib.util.spec_from_file_location("chronicle_migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FullText(
        "organisations_fts", "organisations", "name", "description", "other_names", "organisation_names", "name",
        "organisation_id",
    )  # fmt: skip


def _dates(prefix: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(f"{prefix}_{part}", kind, nullable=True) for part, kind in DATE_PARTS]


def _records_types(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE records DROP CONSTRAINT ck_records_type")
        op.execute(f"ALTER TABLE records ADD CONSTRAINT ck_records_type CHECK ({new})")
        return
    version = op.get_bind().exec_driver_sql("PRAGMA schema_version").scalar_one()
    op.execute("PRAGMA writable_schema = ON")
    op.get_bind().exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'records'", (old, new)
    )
    op.execute(f"PRAGMA schema_version = {int(version) + 1}")
    op.execute("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _records_types(OLD_TYPES, NEW_TYPES)
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), sa.ForeignKey("records.id", name="fk_organisations_id_records",
                  ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("seat_id", sa.Integer(), sa.ForeignKey("places.id", name="fk_organisations_seat_id_places",
                  ondelete="RESTRICT"), nullable=True),
        sa.Column("part_of_id", sa.Integer(), sa.ForeignKey("organisations.id",
                  name="fk_organisations_part_of_id_organisations", ondelete="RESTRICT"), nullable=True),
        *_dates("founded"),
        *_dates("dissolved"),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
    )  # fmt: skip
    op.create_index("ix_organisations_name", "organisations", ["name"])
    op.create_index("ix_organisations_kind", "organisations", ["kind"])
    op.create_index("ix_organisations_seat_id", "organisations", ["seat_id"])
    op.create_index("ix_organisations_part_of_id", "organisations", ["part_of_id"])
    op.create_index("ix_organisations_active", "organisations", ["founded_min_jdn", "dissolved_max_jdn", "id"])
    op.create_table(
        "organisation_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisations.id",
                  name="fk_organisation_names_organisation_id_organisations", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("language", sa.String(12), nullable=True),
        sa.Column("from_year", sa.Integer(), nullable=True),
        sa.Column("to_year", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_organisation_names"),
    )  # fmt: skip
    op.create_index("ix_organisation_names_organisation_id", "organisation_names", ["organisation_id"])
    op.create_index("ix_organisation_names_name", "organisation_names", ["name"])
    op.create_table(
        "organisation_predecessors",
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisations.id",
                  name="fk_organisation_predecessors_organisation_id_organisations", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("predecessor_id", sa.Integer(), sa.ForeignKey("organisations.id",
                  name="fk_organisation_predecessors_predecessor_id_organisations", ondelete="RESTRICT"),
                  nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "predecessor_id", name="pk_organisation_predecessors"),
    )  # fmt: skip
    op.create_index(
        "ix_organisation_predecessors_predecessor_id_organisation_id", "organisation_predecessors",
        ["predecessor_id", "organisation_id"],
    )  # fmt: skip
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", name="fk_memberships_person_id_people",
                  ondelete="CASCADE"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisations.id",
                  name="fk_memberships_organisation_id_organisations", ondelete="RESTRICT"), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_dates("start"),
        *_dates("end"),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
    )  # fmt: skip
    op.create_index("ix_memberships_person_id", "memberships", ["person_id"])
    op.create_index("ix_memberships_organisation_id_person_id", "memberships", ["organisation_id", "person_id"])
    op.create_table(
        "event_organisations",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id", name="fk_event_organisations_event_id_events",
                  ondelete="CASCADE"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisations.id",
                  name="fk_event_organisations_organisation_id_organisations", ondelete="RESTRICT"), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "organisation_id", "role", name="pk_event_organisations"),
    )  # fmt: skip
    op.create_index(
        "ix_event_organisations_organisation_id_event_id", "event_organisations", ["organisation_id", "event_id"]
    )
    full_text = _full_text()
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in full_text.postgresql() if postgresql else full_text.statements():  # type: ignore[attr-defined]
        op.execute(statement)


def downgrade() -> None:
    full_text = _full_text()
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in full_text.postgresql_drop() if postgresql else full_text.drop():  # type: ignore[attr-defined]
        op.execute(statement)
    for table in ("event_organisations", "memberships", "organisation_predecessors", "organisation_names"):
        op.drop_table(table)
    op.drop_table("organisations")
    op.execute("DELETE FROM records WHERE type = 'organisation'")
    _records_types(NEW_TYPES, OLD_TYPES)
