"""Run Alembic migrations from code (the CLI and the tests use this).

Alembic's command machinery is imported only when a migration runs: `chronicle serve` on a database
already at the head checks the version and starts (start-up to first answer is a measured target).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import create_engine, inspect, make_url, text

from app.db import engine_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str:
    """The latest migration this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def at_head(database_url: str) -> bool:
    """Whether the database exists and is at the latest migration (nothing to run)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return False
    head = head_revision()
    engine = create_engine(engine_url(database_url))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    finally:
        engine.dispose()


# Collations that sort by code point, as SQLite does: name order, name-prefix ranges and cursors
# then mean the same on both engines (a linguistic collation can sort U+10FFFF, the prefix range's
# upper bound, before letters, and would drop matches).
CODE_POINT_COLLATIONS = ("C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic")


class WrongCollation(click.ClickException):
    """A PostgreSQL database that does not sort by code point (the CLI prints it as an error)."""


def check_postgres_collation(database_url: str) -> None:
    url = engine_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            name, collation, provider = connection.execute(
                text("SELECT datname, datcollate, datlocprovider FROM pg_database WHERE datname = current_database()")
            ).one()
    finally:
        engine.dispose()
    if provider == "i":  # ICU: a linguistic order, whatever datcollate says
        collation = "an ICU collation"
    if collation not in CODE_POINT_COLLATIONS:
        raise WrongCollation(
            f"database {name!r} sorts text by {collation!r}; Chronicle needs code-point order: create it with "
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' (docs/deploy.md)"
        )


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    check_postgres_collation(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)
