"""recorded month and day for Julian dates only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09 10:00:00

`calendar=julian` (/v1/events, /v1/on-this-day) matches `<date>_recorded_month` and
`<date>_recorded_day`, which the code before this migration set for every single day-precision date,
whatever its calendar: a Gregorian 25 October matched "25 October (O.S.)". They are now set only for
dates recorded in the Julian calendar (app.dates), so the query stays an index range on
`ix_*_on_this_day_recorded`. This migration clears them wherever `<date>_calendar` is not 'julian'.

Plain UPDATEs of those columns only: no table is rebuilt, and no trigger (full text, R*Tree) fires.
What lists answer changes, so the data version (lists' ETag) moves when any row did. The downgrade
puts back what the old code stored: for a day that is not Julian, the recorded month and day are the
Gregorian `<date>_month` and `<date>_day` (set for single day-precision dates only).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every stored date (app.models.date_columns): its table and column prefix.
DATES = [("events", "date"), ("people", "born"), ("people", "died"), ("works", "published"), ("sources", "published")]

NOT_JULIAN = "({d}_calendar IS NULL OR {d}_calendar <> 'julian')"
CLEAR = (
    "UPDATE {table} SET {d}_recorded_month = NULL, {d}_recorded_day = NULL "
    f"WHERE {NOT_JULIAN} AND ({{d}}_recorded_month IS NOT NULL OR {{d}}_recorded_day IS NOT NULL)"
)
RESTORE = (
    "UPDATE {table} SET {d}_recorded_month = {d}_month, {d}_recorded_day = {d}_day "
    f"WHERE {NOT_JULIAN} AND {{d}}_month IS NOT NULL"
)


def _run(statement: str) -> None:
    connection = op.get_bind()
    changed = sum(connection.execute(sa.text(statement.format(table=t, d=d))).rowcount for t, d in DATES)
    if changed:
        now: datetime | str = datetime.now(UTC)
        if connection.dialect.name == "sqlite":
            now = now.isoformat(sep=" ")  # as SQLAlchemy stores timezone-aware datetimes on SQLite
        connection.execute(
            sa.text("UPDATE data_version SET version = version + 1, changed_at = :now").bindparams(now=now)
        )


def upgrade() -> None:
    _run(CLEAR)


def downgrade() -> None:
    _run(RESTORE)
