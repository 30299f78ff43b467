"""editors: API keys, revision history, renamed slugs, audit, records.edited_at

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:30:00

Issue 5. Keys are stored as SHA-256 hashes only. `revisions` keeps every version's document, so
nothing an editor stored is lost; records written before this migration get their first revision
when they are next changed (a "snapshot" of what they were). `edited_at` marks records changed
through the API since they were last loaded, which an import must not overwrite unasked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy): rebuilding `records` would drop the triggers that guard it.
    op.add_column("records", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write', 'admin')", name=op.f("ck_api_keys_scope")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("changed", sa.Text(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'restore', 'snapshot')", name=op.f("ck_revisions_action")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_revisions_record_id_records"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("record_id", "revision", name=op.f("uq_revisions_record_id_revision")),
    )
    op.create_table(
        "slug_redirects",
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_slug_redirects_record_id_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("type", "slug", name=op.f("pk_slug_redirects")),
    )
    op.create_index(op.f("ix_slug_redirects_record_id"), "slug_redirects", ["record_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_name", sa.String(100), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("record", sa.String(120), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_index(op.f("ix_slug_redirects_record_id"), table_name="slug_redirects")
    op.drop_table("slug_redirects")
    op.drop_table("revisions")
    op.drop_table("api_keys")
    op.drop_column("records", "edited_at")
