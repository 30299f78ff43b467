"""people without life dates: a partial index by name

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 12:00:00

`/v1/people?alive_in=YEAR` cannot place people who have neither a birth nor a death date; its answer
now says how many the other filters match (`unplaced`) and links to them (`dated=false`). Both read
`ix_people_undated`, an index of those people alone in name order, so that counting and listing them
cost what there are of them, not a scan of every person. SQLite uses a partial index only when the
query repeats the index's WHERE terms, which app.queries.people does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDATED = sa.text("born_min_jdn IS NULL AND died_min_jdn IS NULL")


def upgrade() -> None:
    op.create_index("ix_people_undated", "people", ["name_key", "id"], sqlite_where=UNDATED, postgresql_where=UNDATED)


def downgrade() -> None:
    op.drop_index("ix_people_undated", table_name="people")
