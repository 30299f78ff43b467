"""The README is true: every example in its console blocks is run against the seeded app, and the
answer is compared with what the README shows; every file it names exists.

How an example is read (keep the README within it; an example this test cannot read fails it):
- `$ curl [-i] [-s] [-X METHOD] [-H 'Name: value']... [-d 'body'] 'URL'`, optionally piped into
  `grep -iE 'PATTERN'` or `head -N`; `$KEY` and `$ADMIN_KEY` are the keys the README's
  `.venv/bin/chronicle keys create` commands print; `$ KEY=...` lines only name them.
- The lines after a command are its output: a status line and headers (with `-i`), then the body.
  Without a status line, the example expects a 2xx. A comment such as `# 204` or
  `# 200, etag: "4"` states the status (and headers) where no output is shown.
- A body marked `# abridged`, or holding `...`, shows a part of the answer: every key it shows
  must be there with that value, and its lists are the first items of the answer's; `"..."` stands
  for any value. Any other body must equal the answer (as JSON: formatting aside).
- An example whose comment says "SQLite's" (search ranking) is compared on the SQLite pass only.
- A cursor is signed with a key of the database's own: only its payload (before the dot) is compared.
  `last-modified` is the time the data was loaded: only its presence is compared.
The examples of "Edit" change data: they run in order on a database of their own.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from tests.conftest import ENGINE, LiveServer, make_database

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_BASE = "http://127.0.0.1:8000"
ELLIPSIS = "..."
# A cursor: payload.signature. Not `\b` after the signature: one ending in - or _ (base64url, so 2 in
# 64 of the random keys each test database gets) has no word boundary before the `>` or `"` after it.
SIGNED = re.compile(r"([A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]{16}(?![A-Za-z0-9_-])")
KEY_SHAPE = re.compile(r"chr_[A-Za-z0-9_-]{43}")


@dataclass
class Example:
    line: int  # of the command, in README.md
    command: str
    output: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"README.md line {self.line}: {self.command.splitlines()[0]}"


def sections() -> dict[str, str]:
    """README.md's text by `## ` section title."""
    found: dict[str, str] = {}
    title = ""
    for line in README.read_text().splitlines(keepends=True):
        if line.startswith("## "):
            title = line[3:].strip()
        found[title] = found.get(title, "") + line
    return found


def examples(section: str) -> list[Example]:
    """The commands of the section's ```console blocks, each with the lines shown after it."""
    text = sections()[section]
    first_line = README.read_text().splitlines().index(text.splitlines()[0]) + 1
    found: list[Example] = []
    in_block = False
    pending: Example | None = None  # a command whose quotes or line continuation are still open
    for number, line in enumerate(text.splitlines(), start=first_line):
        if line.startswith("```"):
            in_block = line.strip() == "```console" if not in_block else False
            continue
        if not in_block:
            continue
        if pending is not None:
            pending.command += "\n" + line
        elif line.startswith("$ "):
            pending = Example(number, line[2:])
        elif found:
            found[-1].output.append(line)
            continue
        if pending is not None and _complete(pending.command):
            found.append(pending)
            pending = None
    assert pending is None, f"an unfinished command in README.md: {pending}"
    return found


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:  # a quote still open
        return False
    return True


def comment(command: str) -> str:
    """The command's trailing `# ...` comment, or '': the first `#` after a space with no quote open."""
    for found in re.finditer(r"\s#\s?", command):
        try:
            shlex.split(command[: found.start()])
        except ValueError:  # inside quotes
            continue
        return command[found.end() :].strip()
    return ""


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    include_headers: bool
    pipe: list[str]


def curl(command: str, base: str, keys: dict[str, str]) -> Request:
    """The request a README curl command sends (only the options the README uses)."""
    for name, key in keys.items():
        command = command.replace(f"${name}", key)
    words = shlex.split(command.replace("\\\n", " "), comments=True)
    pipe = words[words.index("|") + 1 :] if "|" in words else []
    words = words[: words.index("|")] if "|" in words else words
    assert words[0] == "curl", words
    method, url, headers, body, include = "GET", "", {}, None, False
    options = iter(words[1:])
    for word in options:
        if word in ("-i", "-si", "-is"):
            include = True
        elif word == "-s":
            pass
        elif word == "-X":
            method = next(options)
        elif word == "-H":
            name, value = next(options).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(options)
            method = "POST" if method == "GET" else method
        elif word.startswith("http"):
            url = word.replace(README_BASE, base)
        else:
            raise AssertionError(f"a curl option this test does not know: {word!r} (in {command!r})")
    assert url, f"no URL in {command!r}"
    return Request(method, url, headers, body, include, pipe)


def shown_as_curl(answer: httpx.Response, request: Request) -> list[str]:
    """The answer's lines as `curl -i` prints them (status line and headers, or only the body)."""
    head = [f"HTTP/1.1 {answer.status_code}"] + [f"{name}: {value}" for name, value in answer.headers.items()]
    lines = [*head, "", *answer.text.splitlines()] if request.include_headers else answer.text.splitlines()
    if request.pipe[:1] == ["grep"]:
        pattern = re.compile(request.pipe[-1], re.IGNORECASE if "-i" in "".join(request.pipe[1:-1]) else 0)
        lines = [line for line in lines if pattern.search(line)]
    elif request.pipe[:1] == ["head"]:
        lines = lines[: int(request.pipe[1].lstrip("-n") or 10)]
    else:
        assert not request.pipe, f"a pipe this test does not know: {request.pipe}"
    return lines


def unsigned(text: str) -> str:
    return SIGNED.sub(r"\1.SIGNATURE", text)


def check_headers(shown: list[str], actual: list[str], example: Example) -> None:
    actual_headers = dict(line.lower().split(": ", 1) for line in actual if ": " in line)
    for line in shown:
        name, value = line.split(": ", 1)
        name = name.lower()
        assert name in actual_headers, f"{example}: no {name} header in the answer"
        if name != "last-modified":
            same = unsigned(actual_headers[name]).lower() == unsigned(value).lower()
            assert same, f"{example}: {name}: README {value!r}, answer {actual_headers[name]!r}"


def parse_shown(body: str) -> Any:
    """A body as the README shows it: JSON, perhaps with `...` standing for what was left out."""
    pieces = re.split(r'("(?:[^"\\]|\\.)*")', body, flags=re.DOTALL)  # strings at the odd indexes
    for index in range(0, len(pieces), 2):  # outside strings: drop `...` and the commas it leaves
        piece = pieces[index].replace(ELLIPSIS, "")
        piece = re.sub(r",(\s*,)+", ",", piece)
        piece = re.sub(r"([\[{])\s*,", r"\1", piece)
        pieces[index] = re.sub(r",\s*([\]}])", r"\1", piece)
    return json.loads("".join(pieces), strict=False)  # strict=False: a string may wrap onto the next line


def matches(shown: Any, actual: Any, abridged: bool, path: str = "$") -> list[str]:
    """Where `actual` differs from what the README shows (a part of it when abridged)."""
    if isinstance(shown, str) and isinstance(actual, str):
        same = shown == ELLIPSIS or " ".join(unsigned(shown).split()) == " ".join(unsigned(actual).split())
        return [] if same else [f"{path}: README {shown!r}, answer {actual!r}"]
    if isinstance(shown, dict) and isinstance(actual, dict):
        if not abridged and shown.keys() != actual.keys():
            return [f"{path}: README keys {sorted(shown)}, answer keys {sorted(actual)}"]
        missing = [f"{path}.{key}: not in the answer" for key in shown if key not in actual]
        return missing + [
            problem
            for key in shown
            if key in actual
            for problem in matches(shown[key], actual[key], abridged, f"{path}.{key}")
        ]
    if isinstance(shown, list) and isinstance(actual, list):
        if len(shown) > len(actual) or (not abridged and len(shown) != len(actual)):
            return [f"{path}: README shows {len(shown)} items, the answer has {len(actual)}"]
        return [
            problem for i, item in enumerate(shown) for problem in matches(item, actual[i], abridged, f"{path}[{i}]")
        ]
    if isinstance(shown, float) and isinstance(actual, float):
        return [] if shown == pytest.approx(actual, rel=1e-5) else [f"{path}: README {shown}, answer {actual}"]
    return [] if shown == actual and type(shown) is type(actual) else [f"{path}: README {shown!r}, answer {actual!r}"]


def check(example: Example, http: httpx.Client, base: str, keys: dict[str, str]) -> None:
    if "SQLite's" in comment(example.command) and ENGINE != "sqlite":
        return
    request = curl(example.command, base, keys)
    headers = {"Accept-Encoding": "identity"} | request.headers  # curl asks for no compression unless told
    answer = http.request(request.method, request.url, headers=headers, content=request.body)
    note = comment(example.command)
    shown = [line for line in example.output if line.strip()] and example.output
    actual = shown_as_curl(answer, request)
    if not shown:
        stated = re.match(r"(\d{3})\b", note)
        status = int(stated[1]) if stated else None
        assert status == answer.status_code if status else answer.is_success, f"{example}: {answer.status_code}"
        if stated:  # `# 200, etag: "4"`
            every_header = [f"{name}: {value}" for name, value in answer.headers.items()]
            check_headers(re.findall(r"[a-z-]+: \S+", note[3:]), every_header, example)
        return
    head: list[str] = []
    body_lines = shown
    if shown[0].startswith("HTTP/"):
        end = shown.index("") if "" in shown else len(shown)
        head, body_lines = shown[:end], shown[end + 1 :]
        status = int(head[0].split()[1])
        assert answer.status_code == status, f"{example}: status {answer.status_code}, README {status}\n{answer.text}"
        check_headers(head[1:], actual, example)
    elif request.pipe[:1] == ["grep"]:  # headers picked out
        check_headers([line for line in shown if line], actual, example)
        return
    body = "\n".join(body_lines).strip()
    if not body:
        return
    abridged = "abridged" in note or ELLIPSIS in body
    problems = matches(parse_shown(body), answer.json(), abridged)
    assert not problems, f"{example}: the answer is not what the README shows:\n" + "\n".join(problems)


@pytest.mark.parametrize("section", ["Example queries", "Explore"])
def test_the_readme_read_examples_answer_as_shown(section: str, client: httpx.Client) -> None:
    found = examples(section)
    assert len(found) >= 5
    drifted = []
    for example in found:
        try:
            check(example, client, str(client.base_url), {})
        except AssertionError as drift:  # every drift at once, not the first only
            drifted.append(str(drift))
    assert not drifted, "\n\n".join(drifted)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = make_database(tmp_path / "readme.sqlite3")
    with LiveServer(Settings(database_url=url)) as base:
        yield url, base


def test_the_readme_edit_examples_run_in_order(fresh: tuple[str, str]) -> None:
    url, base = fresh
    keys: dict[str, str] = {}
    found = examples("Edit")
    assert len(found) >= 6
    with httpx.Client() as http:
        for example in found:
            words = shlex.split(example.command, comments=True)
            if re.fullmatch(r"[A-Z_]+=.*", words[0]):  # `KEY=chr_...  # yours`: names the key printed above
                continue
            if words[0] == ".venv/bin/chronicle":
                get_settings.cache_clear()  # the CLI reads CHRONICLE_DATABASE_URL anew
                result = CliRunner().invoke(main, words[1:], env={"CHRONICLE_DATABASE_URL": url})
                get_settings.cache_clear()
                assert result.exit_code == 0, f"{example}: {result.output}"
                key = result.stdout.strip().splitlines()[-1]
                assert KEY_SHAPE.fullmatch(key), f"{example}: {result.output}"
                assert all(KEY_SHAPE.fullmatch(line) for line in example.output if line.strip()), example
                keys["ADMIN_KEY" if "admin" in words else "KEY"] = key
                continue
            check(example, http, base, keys)
    assert set(keys) == {"KEY", "ADMIN_KEY"}


def test_the_readme_names_only_files_that_exist() -> None:
    text = README.read_text()
    linked = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    named = re.findall(r"`((?:[\w.-]+/)*[\w.-]+\.(?:md|py|json|toml|lock|txt|sh))`", text)
    named += re.findall(r"`((?:app|bench|docs|migrations|tests|data|\.ci)/[\w./-]*)`", text)
    named += re.findall(r"(?<![\w/])([A-Z]+\.md)\b", text)
    missing = sorted({path for path in linked + named if not path.startswith("http") and not (ROOT / path).exists()})
    assert not missing, f"README.md names files that are not in the repository: {missing}"


@pytest.mark.skipif(ENGINE != "sqlite", reason="one engine is enough to read a file")
def test_the_readme_parser_reads_every_console_block() -> None:
    """Every console block's command is one this test can run: none is silently left out."""
    blocks = README.read_text().count("```console")
    commands = sum(len(examples(title)) for title in sections())
    assert blocks >= 10 and commands >= blocks
