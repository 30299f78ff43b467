"""people.name_key: names sorted and matched by prefix without case or diacritics

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models import name_key

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("people", sa.Column("name_key", sa.String(length=300), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name FROM people")).all()
    if rows:
        connection.execute(
            sa.text("UPDATE people SET name_key = :key WHERE id = :id"),
            [{"id": row_id, "key": name_key(name)} for row_id, name in rows],
        )
    op.create_index("ix_people_name_key", "people", ["name_key", "id"])


def downgrade() -> None:
    op.drop_index("ix_people_name_key", table_name="people")
    op.drop_column("people", "name_key")  # SQLite >= 3.35 drops a column in place (no table rebuild)
