"""The `chronicle` command: serve, db, import, export, keys, generate - a thin layer over the same functions."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import make_engine, make_sessionmaker, read_connection, sqlite_path
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
    from app import server

    settings = get_settings()
    click.echo(f"database: {settings.database_url}", err=True)
    if not at_head(settings.database_url):
        upgrade(settings.database_url)
    if not _has_records(settings.database_url):
        _seed(settings.database_url, SEED_FILE)
    click.echo(f"docs explorer: http://{host}:{port}/docs", err=True)
    limited = settings.rate_limit_per_key or settings.rate_limit_per_address
    if limited and workers > 1 and not settings.redis_url:
        click.echo(
            f"warning: without CHRONICLE_REDIS_URL each of the {workers} workers counts rate limits on its own "
            f"(up to {workers}x the limit)", err=True,
        )  # fmt: skip
    server.run(
        server.uvicorn_config("app.main:create_app", settings, host=host, port=port, factory=True, workers=workers)
    )


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the database if needed and migrate it to the latest schema."""
    settings = get_settings()
    upgrade(settings.database_url)
    click.echo(f"{settings.database_url}: at the latest migration")


ON_CONFLICT = click.option(
    "--on-conflict", type=click.Choice(["fail", "skip", "overwrite"]), default="fail", show_default=True,
    help="Records an editor changed or deleted since they were loaded: fail (write nothing and list them), "
    "skip (keep the editor's version) or overwrite.",
)  # fmt: skip


@db.command("seed")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@ON_CONFLICT
def db_seed(file: Path | None, on_conflict: str) -> None:
    """Load records from FILE (default: the bundled data/seed.json). Loading twice changes nothing."""
    settings = get_settings()
    upgrade(settings.database_url)
    _seed(settings.database_url, file or SEED_FILE, on_conflict)


@db.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def db_backup(file: Path) -> None:
    """Write a consistent copy of the SQLite database to FILE, while it serves (SQLite's online backup
    API: readers and writers carry on). For PostgreSQL use pg_dump (docs/deploy.md)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = get_settings().database_url
    if make_url(url).get_backend_name() != "sqlite":
        click.echo(
            "error: this database is PostgreSQL: back it up with pg_dump --format=custom (docs/deploy.md)", err=True
        )
        sys.exit(1)
    if file.exists():
        click.echo(f"error: {file} exists: give a new path (a backup never overwrites)", err=True)
        sys.exit(1)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    source = sqlite3.connect(sqlite_path(url))
    target = sqlite3.connect(partial)
    try:
        source.backup(target, pages=4096)  # in steps, so writers are not held up for the whole copy
    finally:
        target.close()
        source.close()
    partial.rename(file)  # a complete backup, or none at FILE
    click.echo(f"{file}: {file.stat().st_size:,} bytes in {time.perf_counter() - started:.1f} s")


@db.command("copy")
@click.argument("source_url")
@click.argument("target_url")
def db_copy(source_url: str, target_url: str) -> None:
    """Copy the whole database at SOURCE_URL into the empty one at TARGET_URL (e.g. sqlite:///chronicle.sqlite3
    to postgresql://user@host/chronicle), then verify row counts and a checksum per table."""
    from app.copy import CopyError, copy_database, count_rows, verify

    started = time.perf_counter()
    try:
        total = count_rows(source_url)
        with click.progressbar(length=total, label="copying rows", file=sys.stderr) as bar:
            copied = copy_database(source_url, target_url, progress=bar.update)
    except CopyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"copied {copied:,} rows in {time.perf_counter() - started:.1f} s; verifying", err=True)
    failed = False
    for check in verify(source_url, target_url):
        mark = "ok" if check.ok else "MISMATCH"
        click.echo(f"{check.table:16} {check.source_rows:>10,} rows  {check.target_checksum[:16]}  {mark}")
        if not check.ok:
            failed = True
            click.echo(f"  source: {check.source_rows:,} rows, checksum {check.source_checksum}", err=True)
            click.echo(f"  target: {check.target_rows:,} rows, checksum {check.target_checksum}", err=True)
    if failed:
        click.echo("error: the copy does not match its source", err=True)
        sys.exit(1)
    click.echo(f"verified in {time.perf_counter() - started:.1f} s in all")


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Validate and report what would be written; write nothing.")
@ON_CONFLICT
def import_command(file: Path, dry_run: bool, on_conflict: str) -> None:
    """Import FILE: a JSON array or NDJSON (one record a line) of records, as POST /v1/import takes.
    Everything is validated first, then written in one transaction: all or nothing."""
    from app.importer import index_stream
    from app.loader import LoadError, LoadOptions, load_index

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    ndjson = file.suffix in (".ndjson", ".jsonl")
    size = file.stat().st_size
    try:
        # Read twice (app.loader): validated and indexed, then read again to write, in batches.
        with file.open("rb") as stream:
            with click.progressbar(length=size, label="validating", file=sys.stderr) as bar:

                def progress(_records: int) -> None:
                    bar.update(stream.tell() - bar.pos)  # bytes read so far

                index = index_stream(stream, ndjson=ndjson, progress=progress)
            with make_sessionmaker(engine).begin() as session:
                options = LoadOptions(author="chronicle import", on_conflict=on_conflict)  # type: ignore[arg-type]
                summary = load_index(session, index, options, dry_run=dry_run)
                if dry_run:
                    raise _DryRun  # rolls the transaction back (a dry run writes nothing anyway)
    except _DryRun:
        pass
    except LoadError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(f"{file}: {'would be: ' if dry_run else ''}{summary}")


class _DryRun(Exception):
    """Raised to roll back an import's transaction after computing what it would write."""


@main.group()
def keys() -> None:
    """API keys for writes (and, with CHRONICLE_READ_REQUIRES_KEY, reads)."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key; shown in the revision history.")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="write", show_default=True,
              help="read; write (create, change, delete, import); admin (also restore).")  # fmt: skip
def keys_create(name: str, scope: str) -> None:
    """Create a key and print it. It is shown this once: only its hash is stored."""
    from app.keys import create_key

    with _write_session() as session:
        try:
            key = create_key(session, name, scope)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(key)
    click.echo(f"(key {name!r}, scope {scope}: keep it now, it cannot be shown again)", err=True)


@keys.command("list")
def keys_list() -> None:
    """Every key: name, scope, its first characters, when created, last used and revoked."""
    from app.keys import list_keys

    with _write_session() as session:
        for key in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            click.echo(f"{key.name}\t{key.scope}\t{key.prefix}…\tcreated {key.created_at:%Y-%m-%d %H:%M}\t"
                       f"last used {used}\t{state}")  # fmt: skip


@keys.command("revoke")
@click.argument("name")
def keys_revoke(name: str) -> None:
    """Revoke the key NAME: it stops working at once."""
    from app.keys import revoke_key

    with _write_session() as session:
        if not revoke_key(session, name):
            raise click.ClickException(f"there is no live key named {name!r}")
    click.echo(f"key {name!r} revoked")


@contextmanager
def _write_session() -> Iterator[Session]:
    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


@main.command("generate")
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--events", required=True, type=click.IntRange(1, 100_000_000), help="How many events.")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same database.")
@click.option("--processes", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes that validate and prepare records while this one writes.")  # fmt: skip
def generate_command(output: Path, events: int, seed: int, processes: int) -> None:
    """Build a synthetic database at OUTPUT (a new SQLite file) for benchmarks, through the loader."""
    from app.generate import counts, deferred_indexes, prepared_batches
    from app.loader import LoadOptions, load_prepared

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
                        load_prepared(session, prepared, errors, LoadOptions(author="generate", history=False))
                        bar.update(size)
                click.echo("building indexes", err=True)
    finally:
        engine.dispose()
    partial.rename(output)
    click.echo(f"{output}: {events:,} events and their records in {time.perf_counter() - started:.1f} s")


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "ndjson"]), default="json", show_default=True,
              help="json: an array, one record a line; ndjson: one record a line.")  # fmt: skip
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE, not stdout.")
def export_command(fmt: str, output: Path | None) -> None:
    """Write every record in the record format (docs/data-format.md), sources first, then places,
    people, works and events, each by slug. `chronicle db seed FILE` takes a json export back unchanged."""
    from app.export import dump_export, export_documents

    db = read_connection(get_settings().database_url).for_export()
    try:
        db.begin_snapshot()  # one read transaction: the file is one snapshot of the data
        chunks = dump_export(export_documents(db), fmt)
        if output is None:
            sys.stdout.buffer.writelines(chunks)
        else:
            # Written under another name and renamed when complete: FILE is never a truncated export.
            partial = output.with_name(output.name + ".partial")
            with partial.open("wb") as file:
                file.writelines(chunks)
            partial.rename(output)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.close()


def _seed(database_url: str, file: Path, on_conflict: str = "fail") -> None:
    from app.loader import LoadError, LoadOptions, load_records, read_file  # the loader is not needed to serve

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            options = LoadOptions(author="chronicle db seed", on_conflict=on_conflict)  # type: ignore[arg-type]
            summary = load_records(session, read_file(file), options)
    except LoadError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(f"{file}: {summary}")


def _has_records(database_url: str) -> bool:
    """Whether the database holds any record: one index probe (a count(*) read all 13M rows of a
    10M-event database, 12 s of the server's start-up)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(Record.id).limit(1)).first() is not None
    finally:
        engine.dispose()
