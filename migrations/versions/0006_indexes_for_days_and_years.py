"""indexes for births, deaths and publications by year and by day of the year

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 01:40:00

/v1/on-this-day and /v1/years list people born or died on a day or in a year, and works published in
a year, with the same index shapes as events (app.queries.events): one range per span level for
overlap, and (month, day, date) for a day of the year.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    *(
        index
        for d in ("born", "died")
        for index in (
            (f"ix_people_{d}_overlap", "people", [f"{d}_span_level", f"{d}_min_jdn", "id", f"{d}_max_jdn"]),
            (f"ix_people_{d}_on_this_day", "people", [f"{d}_month", f"{d}_day", f"{d}_min_jdn", "id"]),
            (
                f"ix_people_{d}_on_this_day_recorded",
                "people",
                [f"{d}_recorded_month", f"{d}_recorded_day", f"{d}_min_jdn", "id"],
            ),
        )
    ),
    (
        "ix_works_published_overlap",
        "works",
        ["published_span_level", "published_min_jdn", "id", "published_max_jdn"],
    ),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
