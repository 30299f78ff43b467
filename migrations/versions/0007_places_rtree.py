"""an R*Tree of place coordinates: places near a point or in a box, and events there

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 01:30:00

SQLite's R*Tree module (built into the sqlite3 that Python ships) answers "which points lie in this
box" from an index instead of a scan. Each place with coordinates is a point (min = max); triggers
keep the tree in step with `places` in the writing transaction. R*Tree coordinates are 32-bit
floats: queries widen their box slightly and then test exact distances or bounds on `places`.

PostgreSQL: `places_rtree` is a view with the same columns over `places`, whose B-tree on
(latitude, longitude) answers the same box query (a latitude range, longitudes checked in the index).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POINT = (
    "INSERT INTO places_rtree (id, min_lat, max_lat, min_lon, max_lon) "
    "SELECT id, latitude, latitude, longitude, longitude FROM places WHERE id = {id} AND latitude IS NOT NULL "
    "AND longitude IS NOT NULL"
)
STATEMENTS = [
    "CREATE VIRTUAL TABLE places_rtree USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    f"CREATE TRIGGER places_rtree_insert AFTER INSERT ON places BEGIN {POINT.format(id='new.id')}; END",
    "CREATE TRIGGER places_rtree_update AFTER UPDATE OF latitude, longitude ON places BEGIN "
    f"DELETE FROM places_rtree WHERE id = old.id; {POINT.format(id='new.id')}; END",
    "CREATE TRIGGER places_rtree_delete AFTER DELETE ON places BEGIN DELETE FROM places_rtree WHERE id = old.id; END",
    POINT.replace("id = {id} AND ", ""),
]


POSTGRESQL = [
    "CREATE INDEX ix_places_coordinates ON places (latitude, longitude)",
    "CREATE VIEW places_rtree AS SELECT id, latitude AS min_lat, latitude AS max_lat, longitude AS min_lon, "
    "longitude AS max_lon FROM places WHERE latitude IS NOT NULL AND longitude IS NOT NULL",
]


def upgrade() -> None:
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP VIEW IF EXISTS places_rtree")
        op.execute("DROP INDEX IF EXISTS ix_places_coordinates")
        return
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS places_rtree_{name}")
    op.execute("DROP TABLE IF EXISTS places_rtree")
