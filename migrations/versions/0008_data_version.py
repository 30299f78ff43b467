"""data_version: one counter that every change to the data moves (the ETag of lists)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 01:50:00

A list's ETag is the data version: it must change whenever any record is created, changed or
deleted, and be the same for every API replica, so it lives in the database. The loader (and every
write path) moves it in the writing transaction; `changed_at` is the lists' Last-Modified.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_data_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    now: datetime | str = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.isoformat(sep=" ")  # as SQLAlchemy stores timezone-aware datetimes on SQLite
    op.execute(sa.text("INSERT INTO data_version (id, version, changed_at) VALUES (1, 1, :now)").bindparams(now=now))


def downgrade() -> None:
    op.drop_table("data_version")
