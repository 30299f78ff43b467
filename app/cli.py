"""The `chronicle` command: serve, db upgrade, db seed, generate - a thin layer over the same functions."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from sqlalchemy import func, select

from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.migrate import at_head, upgrade
from app.models import Record

SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "seed.json"


@click.group()
def main() -> None:
    """Chronicle: a REST API for historical records."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API. The first run creates the database, migrates it and loads the seed data."""
    import uvicorn

    settings = get_settings()
    click.echo(f"database: {settings.database_url}", err=True)
    if not at_head(settings.database_url):
        upgrade(settings.database_url)
    if _count_records(settings.database_url) == 0:
        _seed(settings.database_url, SEED_FILE)
    click.echo(f"docs explorer: http://{host}:{port}/docs", err=True)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers, server_header=False)


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the database if needed and migrate it to the latest schema."""
    settings = get_settings()
    upgrade(settings.database_url)
    click.echo(f"{settings.database_url}: at the latest migration")


@db.command("seed")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
def db_seed(file: Path | None) -> None:
    """Load records from FILE (default: the bundled data/seed.json). Loading twice changes nothing."""
    settings = get_settings()
    upgrade(settings.database_url)
    _seed(settings.database_url, file or SEED_FILE)


@main.command("generate")
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--events", required=True, type=click.IntRange(1, 100_000_000), help="How many events.")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same database.")
@click.option("--processes", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes that validate and prepare records while this one writes.")  # fmt: skip
def generate_command(output: Path, events: int, seed: int, processes: int) -> None:
    """Build a synthetic database at OUTPUT (a new SQLite file) for benchmarks, through the loader."""
    from app.generate import counts, deferred_indexes, prepared_batches
    from app.loader import load_prepared

    if output.exists():
        raise click.UsageError(f"{output} exists: give a new path (generate never overwrites a database)")
    # Built under a temporary name and renamed when complete: an interrupted run never leaves a
    # half-built database where a benchmark would take it for a finished one.
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    url = f"sqlite:///{partial.resolve()}"
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with make_sessionmaker(engine).begin() as session:
            connection = session.connection()
            connection.exec_driver_sql("PRAGMA cache_size = -1000000")  # 1 GB: index pages stay in memory
            with deferred_indexes(connection):
                with click.progressbar(length=sum(counts(events).values()), label="records", file=sys.stderr) as bar:
                    for size, (prepared, errors) in prepared_batches(events, seed, processes):
                        load_prepared(session, prepared, errors)
                        bar.update(size)
                click.echo("building indexes", err=True)
    finally:
        engine.dispose()
    partial.rename(output)
    click.echo(f"{output}: {events:,} events and their records in {time.perf_counter() - started:.1f} s")


def _seed(database_url: str, file: Path) -> None:
    from app.loader import LoadError, load_records, read_file  # the loader is not needed to serve

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            summary = load_records(session, read_file(file))
    except LoadError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(f"{file}: {summary}")


def _count_records(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(Record)).scalar_one())
    finally:
        engine.dispose()
