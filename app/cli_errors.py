"""How the CLI fails: in plain words, leaving no partial file, never losing a Ctrl-C.

An error the user can fix (a file that cannot be read or written, a database that cannot be reached,
a setting that is not valid) becomes one line naming what to fix; anything else is a bug and keeps
its traceback."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

URL_FORMS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"


def shown_url(database_url: str) -> str:
    """The URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return database_url


def check_database_url(database_url: str, name: str) -> None:
    """Refuse, in words, a URL that names no database Chronicle runs on (`name` says where it came from)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(database_url).get_backend_name()
    except ArgumentError:
        raise click.ClickException(f"{name} {database_url!r} is not a database URL: use {URL_FORMS}") from None
    if backend not in ("sqlite", "postgresql"):
        raise click.ClickException(
            f"{name} {shown_url(database_url)!r}: Chronicle runs on SQLite or PostgreSQL ({URL_FORMS})"
        )


def in_plain_words(exc: BaseException, database: str | None = None) -> str | None:
    """One line for an error the user can fix, or None. `database` names the database in use."""
    if isinstance(exc, FileExistsError) and Path(exc.filename).is_file():  # a file where a directory should be
        return f"{exc.filename}: a file, where a directory is needed"
    if isinstance(exc, OSError) and exc.filename is not None:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else exc.filename
        return f"{where}: {exc.strerror or exc}"
    driver_error = _database_error(exc)
    if driver_error is not None:
        first_line = str(driver_error).strip().splitlines()[0] if str(driver_error).strip() else type(exc).__name__
        return f"the database {database}: {first_line}" if database else f"the database: {first_line}"
    settings_error = _settings_error(exc)
    if settings_error is not None:
        return settings_error
    return None


def _database_error(exc: BaseException) -> BaseException | None:
    """The driver's error, when `exc` says the database cannot be reached or used: refused, unknown
    host, wrong password, no such database, not an SQLite file, locked, read-only, disk full."""
    import psycopg
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.DBAPIError):
        if isinstance(exc, sa.OperationalError | sa.InterfaceError) or type(exc.orig) is sqlite3.DatabaseError:
            return exc.orig
        return None
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | sqlite3.OperationalError):
        return exc
    if type(exc) is sqlite3.DatabaseError:  # "file is not a database"
        return exc
    return None


def _settings_error(exc: BaseException) -> str | None:
    """A CHRONICLE_* environment variable that does not hold a valid setting."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != "Settings":
        return None
    problems = []
    for error in exc.errors():
        variable = "CHRONICLE_" + "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{variable}={error['input']!r}: {error['msg']}")
    return "; ".join(problems)


@contextmanager
def whole_file(path: Path) -> Iterator[Path]:
    """A path beside PATH to write to: renamed to PATH when the block ends, removed (with SQLite's
    -journal, -wal and -shm files) when it fails or is interrupted. PATH is complete or absent: an
    interrupted run never leaves a half-written file where a reader would take it for a finished one."""
    if not path.parent.is_dir():
        raise click.ClickException(f"{path.parent}: no such directory")
    partial = path.with_name(path.name + ".partial")
    remove_partial(partial)  # a previous run's, interrupted too hard to clean up (kill -9)
    try:
        yield partial
    except BaseException:
        remove_partial(partial)
        raise
    partial.rename(path)


def remove_partial(partial: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        partial.with_name(partial.name + suffix).unlink(missing_ok=True)


class Interrupts:
    """Ctrl-C that is never lost. Python raises KeyboardInterrupt wherever the main thread is, and
    one raised in a weakref callback or a __del__ is printed as "Exception ignored" and dropped: seen
    in `generate` (inside SQLAlchemy's event registry), which then ran on to the end. Here a Ctrl-C
    is also noted, and `check()`, between steps, raises it again if it was dropped."""

    def __init__(self) -> None:
        self.seen = False

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt

    def _handle(self, _signum: int, _frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable: Any) -> None:
        if not issubclass(unraisable.exc_type, KeyboardInterrupt):  # noted: check() raises it again
            self._previous_hook(unraisable)

    def __enter__(self) -> Interrupts:
        import signal

        self._previous_handler = signal.getsignal(signal.SIGINT)
        if self._previous_handler is not signal.SIG_IGN:  # started with Ctrl-C ignored (nohup, `&`): it stays so
            signal.signal(signal.SIGINT, self._handle)
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        return self

    def __exit__(self, *_exc: object) -> None:
        import signal

        signal.signal(signal.SIGINT, self._previous_handler)
        sys.unraisablehook = self._previous_hook
