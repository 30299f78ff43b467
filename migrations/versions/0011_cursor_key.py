"""secrets: the key that signs cursors

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:00:00

A list's cursor carries the total counted on its first page (no later page counts again). It was
plain base64 JSON: a forged one made the API answer `"total": {"value": 123456789, "relation":
"eq"}`. Cursors are now signed with a MAC (keyed BLAKE2b: app.queries.common.Cursor) under a key made here at
random, once per database, so that every worker and replica serving the database signs and checks
with the same key and no one else can. Cursors issued before this migration are refused (400).
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "secrets",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_secrets")),
    )
    op.bulk_insert(table, [{"name": "cursor_key", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("secrets")
