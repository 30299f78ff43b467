"""The `chronicle` command: serve, db, import, export, keys, generate - a thin layer over the same functions.

Each command imports what it needs when it runs: `chronicle -h` and `--version` answer at once, and
`generate` pays for no module it does not use.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from app.cli_errors import Interrupts, check_database_url, in_plain_words, shown_url, whole_file
from app.progress import phase, progress_bar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.loader import LoadError

SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "seed.json"
DATABASE = "chronicle.database"  # ctx.meta: the database a command uses, to name it in an error


class ChronicleGroup(click.Group):
    """Errors the user can fix - a file that cannot be read or written, a database that cannot be
    reached, a setting that is not valid - end a command with one line and a non-zero status, never
    a traceback (app.cli_errors)."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        try:
            return super().main(args, *rest, **options)
        finally:
            if args is None:  # the command line of a process that ends now, not a test's CliRunner
                # Python's shutdown runs the cyclic GC over every object left (SQLAlchemy, FastAPI,
                # pydantic: 0.4 s of the 1.8 s of `generate --events 10`); frozen, they are not walked.
                gc.freeze()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            message = in_plain_words(exc, ctx.meta.get(DATABASE))
            if message is None:
                raise
            raise click.ClickException(message) from None


@click.group(cls=ChronicleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chronicle", prog_name="chronicle", message="%(prog)s %(version)s")
def main() -> None:
    """Chronicle: a REST API for historical records.

    The database is CHRONICLE_DATABASE_URL (default: an SQLite file in ~/.local/share/chronicle)."""


def _database_url() -> str:
    """CHRONICLE_DATABASE_URL, checked, and noted so that an error can name the database."""
    from app.config import get_settings

    url = get_settings().database_url
    check_database_url(url, "CHRONICLE_DATABASE_URL")
    click.get_current_context().meta[DATABASE] = shown_url(url)
    return url


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API. The first run creates the database, migrates it and loads the seed data."""
    from app import server
    from app.config import get_settings
    from app.migrate import at_head, upgrade

    settings = get_settings()
    url = _database_url()
    click.echo(f"database: {shown_url(url)}", err=True)
    if not at_head(url):
        upgrade(url)
    if not _has_records(url):
        _seed(url, SEED_FILE)
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
    from app.migrate import upgrade

    url = _database_url()
    upgrade(url)
    click.echo(f"{shown_url(url)}: at the latest migration")


ON_CONFLICT = click.option(
    "--on-conflict", type=click.Choice(["fail", "skip", "overwrite"]), default="fail", show_default=True,
    help="Records an editor changed or deleted since they were loaded: fail (write nothing and list them), "
    "skip (keep the editor's version) or overwrite.",
)  # fmt: skip


@db.command("seed")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@ON_CONFLICT
def db_seed(file: Path | None, on_conflict: str) -> None:
    """Load records from FILE (default: the bundled data/seed.json). Loading twice changes nothing."""
    from app.migrate import upgrade

    url = _database_url()
    upgrade(url)
    _seed(url, file or SEED_FILE, on_conflict)


@db.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def db_backup(file: Path) -> None:
    """Write a consistent copy of the SQLite database to FILE, while it serves (SQLite's online backup
    API: readers and writers carry on). For PostgreSQL use pg_dump (docs/deploy.md)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from app.db import sqlite_path

    url = _database_url()
    if make_url(url).get_backend_name() != "sqlite":
        raise click.ClickException(
            "this database is PostgreSQL: back it up with pg_dump --format=custom (docs/deploy.md)"
        )
    if file.exists():
        raise click.ClickException(f"{file} exists: give a new path (a backup never overwrites)")
    if not sqlite_path(url).is_file():
        raise click.ClickException(f"{sqlite_path(url)}: no such database file (CHRONICLE_DATABASE_URL)")
    started = time.perf_counter()
    with whole_file(file) as partial:
        source = sqlite3.connect(sqlite_path(url))
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=4096)  # in steps, so writers are not held up for the whole copy
        finally:
            target.close()
            source.close()
    click.echo(f"{file}: {file.stat().st_size:,} bytes in {time.perf_counter() - started:.1f} s")


@db.command("copy")
@click.argument("source_url")
@click.argument("target_url")
def db_copy(source_url: str, target_url: str) -> None:
    """Copy the whole database at SOURCE_URL into the empty one at TARGET_URL (e.g. sqlite:///chronicle.sqlite3
    to postgresql://user@host/chronicle), then verify row counts and a checksum per table."""
    from sqlalchemy.engine import make_url

    from app.copy import CopyError, copy_database, count_rows, verify
    from app.db import make_engine, sqlite_path
    from app.migrate import at_head

    meta = click.get_current_context().meta
    for name, url in (("SOURCE_URL", source_url), ("TARGET_URL", target_url)):
        check_database_url(url, name)
    if make_url(source_url).get_backend_name() == "sqlite" and not sqlite_path(source_url).is_file():
        raise click.ClickException(f"SOURCE_URL: {sqlite_path(source_url)}: no such database file")
    for url in (source_url, target_url):  # connect to each first, so that an error names the one it is about
        meta[DATABASE] = shown_url(url)
        engine = make_engine(url)
        try:
            engine.connect().close()
        finally:
            engine.dispose()
    meta[DATABASE] = shown_url(source_url)
    if not at_head(source_url):
        raise click.ClickException(
            f"{shown_url(source_url)}: not at the latest migration; run `chronicle db upgrade` on it first"
        )
    meta[DATABASE] = f"{shown_url(source_url)} or {shown_url(target_url)}"
    started = time.perf_counter()
    try:
        total = count_rows(source_url)
        with progress_bar(total, "copying rows") as advance:
            copied = copy_database(source_url, target_url, progress=advance)
    except CopyError as exc:
        raise click.ClickException(str(exc)) from None
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
        raise click.ClickException("the copy does not match its source")
    click.echo(f"verified in {time.perf_counter() - started:.1f} s in all")


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Validate and report what would be written; write nothing.")
@ON_CONFLICT
def import_command(file: Path, dry_run: bool, on_conflict: str) -> None:
    """Import FILE: a JSON array or NDJSON (one record a line) of records, as POST /v1/import takes.
    Everything is validated first, then written in one transaction: all or nothing."""
    from app.db import make_engine, make_sessionmaker
    from app.importer import index_stream
    from app.loader import LoadError, LoadOptions, load_index
    from app.migrate import upgrade

    url = _database_url()
    upgrade(url)
    engine = make_engine(url)
    ndjson = file.suffix in (".ndjson", ".jsonl")
    size = file.stat().st_size
    try:
        # Read twice (app.loader): validated and indexed, then read again to write, in batches.
        with file.open("rb") as stream:
            with progress_bar(size, "validating") as advance:
                read = 0

                def progress(_records: int) -> None:
                    nonlocal read
                    advance(stream.tell() - read)  # bytes read so far
                    read = stream.tell()

                index = index_stream(stream, ndjson=ndjson, progress=progress)
            with make_sessionmaker(engine).begin() as session:
                options = LoadOptions(author="chronicle import", on_conflict=on_conflict)  # type: ignore[arg-type]
                summary = load_index(session, index, options, dry_run=dry_run)
                if dry_run:
                    raise _DryRun  # rolls the transaction back (a dry run writes nothing anyway)
    except _DryRun:
        pass
    except LoadError as exc:
        _load_failed(file, exc)
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
    """Create a key and print it. It is shown this once: only its hash is stored.
    Create it against the database the server uses (CHRONICLE_DATABASE_URL)."""
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
    from app.db import make_engine, make_sessionmaker
    from app.migrate import upgrade

    url = _database_url()
    upgrade(url)
    engine = make_engine(url)
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
    """Build a synthetic database at OUTPUT (a new SQLite file) for benchmarks, through the loader.
    Needs the bench extra: pip install -e '.[bench]'."""
    from app.db import make_engine, make_sessionmaker
    from app.generate import MissingExtra, World, deferred_indexes, prepared_batches, require_geonames
    from app.loader import LoadOptions, load_prepared
    from app.migrate import upgrade

    try:
        require_geonames()
    except MissingExtra as exc:
        raise click.ClickException(str(exc)) from None
    if output.exists():
        raise click.UsageError(f"{output} exists: give a new path (generate never overwrites a database)")
    click.get_current_context().meta[DATABASE] = str(output)
    started = time.perf_counter()
    with Interrupts() as interrupts, whole_file(output) as partial:
        url = f"sqlite:///{partial.resolve()}"
        with phase("creating the schema"):
            upgrade(url)
        interrupts.check()
        with phase("choosing places (GeoNames) and people"):
            world = World.build(events, seed)
        interrupts.check()
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine).begin() as session:
                connection = session.connection()
                connection.exec_driver_sql("PRAGMA cache_size = -1000000")  # 1 GB: index pages stay in memory
                with deferred_indexes(connection) as rebuild:
                    records = sum(end - first for _kind, first, end in world.jobs())
                    # closing(): on an error the batches' worker processes stop at once, not when collected
                    with progress_bar(records, "records") as advance, closing(
                        prepared_batches(world, processes)
                    ) as batches:  # fmt: skip
                        for size, (prepared, errors) in batches:
                            load_prepared(session, prepared, errors, LoadOptions(author="generate", history=False))
                            advance(size)
                            interrupts.check()
                    with progress_bar(len(rebuild.steps), "building indexes", estimate=False) as advance:
                        for step in rebuild.run():
                            advance(1, step)
                            interrupts.check()
        finally:
            engine.dispose()
    click.echo(f"{output}: {events:,} events and their records in {time.perf_counter() - started:.1f} s")


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "ndjson"]), default="json", show_default=True,
              help="json: an array, one record a line; ndjson: one record a line.")  # fmt: skip
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE, not stdout.")
def export_command(fmt: str, output: Path | None) -> None:
    """Write every record in the record format (docs/data-format.md), sources first, then places,
    people, works and events, each by slug. `chronicle db seed FILE` takes a json export back unchanged."""
    from app.db import read_connection
    from app.export import dump_export, export_documents

    db = read_connection(_database_url()).for_export()
    try:
        try:
            db.begin_snapshot()  # one read transaction: the file is one snapshot of the data
        except FileNotFoundError as exc:  # an SQLite file that does not exist: "run `chronicle db upgrade`"
            raise click.ClickException(str(exc)) from None
        chunks = dump_export(export_documents(db), fmt)
        if output is None:
            sys.stdout.buffer.writelines(chunks)
        else:
            with whole_file(output) as partial, partial.open("wb") as file:
                file.writelines(chunks)
    finally:
        db.close()


def _seed(database_url: str, file: Path, on_conflict: str = "fail") -> None:
    from app.db import make_engine, make_sessionmaker
    from app.loader import LoadError, LoadOptions, load_records, read_file  # the loader is not needed to serve

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            options = LoadOptions(author="chronicle db seed", on_conflict=on_conflict)  # type: ignore[arg-type]
            summary = load_records(session, read_file(file), options)
    except LoadError as exc:
        _load_failed(file, exc)
    finally:
        engine.dispose()
    click.echo(f"{file}: {summary}")


def _load_failed(file: Path, exc: LoadError) -> NoReturn:
    """Report a load that wrote nothing and exit 1: one line when the file itself cannot be read (it
    does not exist, is not readable, is not JSON or NDJSON), else a line per record at fault."""
    if len(exc.errors) == 1 and not exc.more and exc.errors[0].field in ("(file)", "(json)"):
        raise click.ClickException(f"{file}: {exc.errors[0].reason}; nothing was written")
    click.echo(f"{file}: {exc}", err=True)
    sys.exit(1)


def _has_records(database_url: str) -> bool:
    """Whether the database holds any record: one index probe (a count(*) read all 13M rows of a
    10M-event database, 12 s of the server's start-up)."""
    from sqlalchemy import select

    from app.db import make_engine
    from app.models import Record

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(Record.id).limit(1)).first() is not None
    finally:
        engine.dispose()
